/**
 * The usage reader: every interval, one LIST of metrics-server's PodMetrics
 * (metrics.k8s.io/v1beta1) per watched scope, label-selected to the operator's pods; each
 * resource's samples of the last hour → advice (advice.ts) → status.recommendations when it
 * changed. Runs beside the controller while leading; a reconcile only reads the last view.
 * Without metrics-server (the fake-node cluster), status says so once.
 */
import { LABELS, MANAGER } from '../api/labels.js';
import { quantityValue } from '../api/quantity.js';
import type { Recommendations } from '../api/status.js';
import {
  type ApiError,
  canonicalJson,
  isForbidden,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type Request,
  type ResourceDescriptor,
  type RuntimeLogger,
  runEvery,
} from '../runtime/index.js';
import { advise, type UsageSample } from './advice.js';

export const podMetrics: ResourceDescriptor = {
  group: 'metrics.k8s.io',
  version: 'v1beta1',
  plural: 'pods',
  kind: 'PodMetrics',
  namespaced: true,
};

/** Samples older than this are forgotten: the advice is about the last hour. */
export const USAGE_WINDOW_MS = 60 * 60_000;
const MAX_SAMPLES_PER_RESOURCE = 2_000;

export interface AdvisedResource {
  request: Request;
  /** A pod was OOMKilled, or a memory bump is in effect. */
  oomKilled: boolean;
  memoryLimit?: string;
  reported?: Recommendations;
}

export interface UsageMonitorOptions {
  client: KubeClient;
  /** Namespaces to list (undefined: all, one cluster-wide LIST). */
  scopes: readonly (string | undefined)[];
  resources(): Iterable<AdvisedResource>;
  enqueue(request: Request): void;
  intervalMs: number;
  logger: RuntimeLogger;
  now?: () => number;
}

interface PodMetricsItem extends KubeObject {
  timestamp?: string;
  containers?: { name: string; usage?: { cpu?: string; memory?: string } }[];
}

const key = (r: Request) => `${r.namespace ?? ''}/${r.name}`;
const same = (a: Recommendations | undefined, b: Recommendations) => {
  const strip = (r: Recommendations | undefined) => {
    if (!r) return '';
    const { time: _time, ...rest } = r;
    return canonicalJson(rest);
  };
  return strip(a) === strip(b);
};

function unavailable(error: unknown): string {
  if (isNotFound(error)) {
    return 'metrics.k8s.io is not served (metrics-server is not installed): no resource advice';
  }
  if (isForbidden(error)) {
    return `the operator may not read metrics.k8s.io pods (RBAC): ${(error as ApiError).serverMessage}`;
  }
  const message = (error as ApiError).serverMessage || (error as Error).message;
  return `metrics-server did not answer: ${message}`.slice(0, 1024);
}

export class UsageMonitor {
  readonly #options: UsageMonitorOptions;
  readonly #now: () => number;
  readonly #samples = new Map<string, UsageSample[]>();
  readonly #views = new Map<string, Recommendations>();
  #seen = new Set<string>();

  constructor(options: UsageMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  view(request: Request): Recommendations | undefined {
    return this.#views.get(key(request));
  }

  run(signal: AbortSignal): Promise<void> {
    return runEvery(
      'usage',
      this.#options.intervalMs,
      signal,
      () => this.round(),
      this.#options.logger,
    );
  }

  async round(): Promise<void> {
    let failure: string | undefined;
    const items: PodMetricsItem[] = [];
    for (const scope of this.#options.scopes) {
      try {
        const list = await this.#options.client.list<PodMetricsItem>(podMetrics, {
          ...(scope ? { namespace: scope } : {}),
          labelSelector: `${LABELS.managedBy}=${MANAGER}`,
          timeoutMs: 10_000,
        });
        items.push(...list.items);
      } catch (error) {
        failure = unavailable(error);
      }
    }
    this.#collect(items);
    const now = this.#now();
    for (const resource of this.#options.resources()) {
      const k = key(resource.request);
      const samples = (this.#samples.get(k) ?? []).filter((s) => s.time >= now - USAGE_WINDOW_MS);
      this.#samples.set(k, samples);
      const advice =
        failure !== undefined && samples.length === 0
          ? { message: failure }
          : advise({
              samples,
              oomKilled: resource.oomKilled,
              ...(resource.memoryLimit ? { memoryLimit: resource.memoryLimit } : {}),
              window: 'the last hour',
            });
      if (same(resource.reported, advice)) {
        if (resource.reported) this.#views.set(k, resource.reported);
        continue;
      }
      this.#views.set(k, { ...advice, time: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z') });
      this.#options.enqueue(resource.request);
    }
  }

  #collect(items: readonly PodMetricsItem[]): void {
    for (const item of items) {
      const instance = item.metadata.labels?.[LABELS.instance];
      const container = item.containers?.find((c) => c.name === 'summarizer');
      const time = item.timestamp ? Date.parse(item.timestamp) : Number.NaN;
      if (!instance || !container?.usage || !Number.isFinite(time)) continue;
      const cpu = quantityValue(container.usage.cpu ?? '');
      const memory = quantityValue(container.usage.memory ?? '');
      if (cpu === undefined || memory === undefined) continue;
      const k = `${item.metadata.namespace ?? ''}/${instance}`;
      const pod = item.metadata.name ?? '';
      const seen = `${k}/${pod}/${time}`;
      if (this.#seen.has(seen)) continue; // metrics-server's window has not moved yet
      this.#seen.add(seen);
      const list = this.#samples.get(k) ?? [];
      list.push({ time, pod, cpu, memory });
      this.#samples.set(k, list.slice(-MAX_SAMPLES_PER_RESOURCE));
    }
    if (this.#seen.size > 50_000) this.#seen = new Set([...this.#seen].slice(-10_000));
  }
}
