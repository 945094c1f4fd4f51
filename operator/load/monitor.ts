/**
 * The load monitor: every interval, one round of scrapes of every summarizer pod the
 * operator knows (from its pod cache), in parallel with a bound, each with a timeout; each
 * resource's history judged (judge.ts), and the resource enqueued when its status.load is
 * worth rewriting (status.ts). It runs beside the controller, only while leading, and never
 * inside a reconcile: a reconcile reads the last view synchronously (`view`), so a slow or
 * silent pod never delays one.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { Counter, Histogram } from 'prom-client';
import { CONTAINER_NAME, HTTP_PORT_NAME } from '../api/labels.js';
import type { LoadState, LoadStatus } from '../api/status.js';
import { type Request, type RuntimeLogger, runEvery } from '../runtime/index.js';
import { judge, type LoadJudgement } from './judge.js';
import type { PodObservation } from './round.js';
import { readSample } from './sample.js';
import type { Scraper } from './scrape.js';
import { loadStatus, worthReporting } from './status.js';
import { startTracking, type Tracked, track } from './track.js';

/** What the monitor needs to know of one resource, read from the cache each round. */
export interface MonitoredResource {
  request: Request;
  /** The spec's replicas (or HPA minimum): what a scale-up returns to. */
  specReplicas: number;
  podRestartAfterMs: number;
  /** status.load as the cache has it now. */
  reported?: LoadStatus;
}

export interface LoadMonitorOptions {
  resources(): Iterable<MonitoredResource>;
  /** The resource's pods (the cache's instance index). */
  pods(request: Request): readonly V1Pod[];
  scraper: Scraper;
  /** Asks for a reconcile of a resource whose status.load should change. */
  enqueue(request: Request): void;
  intervalMs: number;
  timeoutMs: number;
  /** Scrapes in flight at once, across resources. */
  concurrency: number;
  /** Figures that move without a state change are reported at most this often (default 2 intervals). */
  reportIntervalMs?: number;
  logger: RuntimeLogger;
  scrapes?: Counter<'result'>;
  scrapeDuration?: Histogram;
  now?: () => number;
}

export interface LoadView {
  judgement: LoadJudgement;
  /** What status.load should say (the reported figures: rewritten at a bounded rate). */
  status: LoadStatus;
}

interface Entry {
  tracked: Tracked;
  view?: LoadView;
}

const key = (r: Request) => `${r.namespace ?? ''}/${r.name}`;

export function loadMetrics(): { scrapes: Counter<'result'>; scrapeDuration: Histogram } {
  return {
    scrapes: new Counter({
      name: 'llmplan_load_scrapes_total',
      help: 'Scrapes of summarizer pods by the load monitor, by result: ok, no_load_metrics, unreachable.',
      labelNames: ['result'],
      registers: [],
    }),
    scrapeDuration: new Histogram({
      name: 'llmplan_load_scrape_duration_seconds',
      help: "Duration of one scrape of a summarizer pod's /metrics, parsing included.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [],
    }),
  };
}

/** The summarizer container's http port, else 8000 (the operator's own template sets it). */
function metricsPort(pod: V1Pod): number {
  const container = pod.spec?.containers?.find((c) => c.name === CONTAINER_NAME);
  const port = container?.ports?.find((p) => p.name === HTTP_PORT_NAME) ?? container?.ports?.[0];
  return port?.containerPort ?? 8000;
}

function notRunning(pod: V1Pod): string | undefined {
  const phase = pod.status?.phase ?? 'Pending';
  if (phase !== 'Running') return `phase ${phase}`;
  if (!pod.status?.podIP) return 'no pod IP yet';
  const container = pod.status.containerStatuses?.find((c) => c.name === CONTAINER_NAME);
  if (container && !container.state?.running) {
    return `container ${container.state?.waiting?.reason ?? 'not running'}`;
  }
  return undefined;
}

export class LoadMonitor {
  readonly #options: LoadMonitorOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: LoadMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get intervalMs(): number {
    return this.#options.intervalMs;
  }

  /** The last view of a resource, or undefined before its first round. */
  view(request: Request): LoadView | undefined {
    return this.#entries.get(key(request))?.view;
  }

  /** Rounds until `signal` aborts: the manager's leader-only runnable. */
  async run(signal: AbortSignal): Promise<void> {
    this.#options.logger.info(
      { via: this.#options.scraper.description, intervalMs: this.#options.intervalMs },
      'load monitor started',
    );
    await runEvery(
      'load',
      this.#options.intervalMs,
      signal,
      () => this.round(),
      this.#options.logger,
    );
    this.#entries.clear();
  }

  /** One round: scrape every pod, judge every resource, enqueue what should be reported. */
  async round(): Promise<void> {
    const resources = [...this.#options.resources()];
    const jobs: { resource: MonitoredResource; pod: V1Pod }[] = [];
    for (const resource of resources) {
      for (const pod of this.#options.pods(resource.request)) {
        if (!pod.metadata?.deletionTimestamp) jobs.push({ resource, pod });
      }
    }
    const observations = await this.#scrapeAll(jobs);
    const byResource = new Map<string, PodObservation[]>();
    for (const [i, job] of jobs.entries()) {
      const list = byResource.get(key(job.resource.request)) ?? [];
      const obs = observations[i];
      if (obs) list.push(obs);
      byResource.set(key(job.resource.request), list);
    }
    const now = this.#now();
    const seen = new Set<string>();
    for (const resource of resources) {
      const k = key(resource.request);
      seen.add(k);
      this.#judge(resource, byResource.get(k) ?? [], now);
    }
    for (const k of this.#entries.keys()) if (!seen.has(k)) this.#entries.delete(k);
  }

  #judge(resource: MonitoredResource, observed: PodObservation[], now: number): void {
    const k = key(resource.request);
    let entry = this.#entries.get(k);
    if (!entry) {
      const seeded = resource.reported?.backendBaselineMs;
      entry = { tracked: startTracking(seeded !== undefined ? seeded / 1000 : undefined) };
      this.#entries.set(k, entry);
    }
    entry.tracked = track(entry.tracked, observed, now);
    const previous = resource.reported ? previousState(resource.reported) : undefined;
    const judgement = judge(
      entry.tracked.history,
      {
        now,
        intervalMs: this.#options.intervalMs,
        specReplicas: resource.specReplicas,
        podRestartAfterMs: resource.podRestartAfterMs,
      },
      previous,
    );
    const next = loadStatus(judgement, now);
    const report = worthReporting(
      resource.reported,
      next,
      now,
      this.#options.reportIntervalMs ?? 2 * this.#options.intervalMs,
    );
    entry.view = { judgement, status: report || !resource.reported ? next : resource.reported };
    if (report) this.#options.enqueue(resource.request);
  }

  async #scrapeAll(jobs: { resource: MonitoredResource; pod: V1Pod }[]): Promise<PodObservation[]> {
    const out: PodObservation[] = new Array(jobs.length);
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        const job = jobs[i];
        if (!job) return;
        out[i] = await this.#observe(job.pod);
      }
    };
    const workers = Math.max(1, Math.min(this.#options.concurrency, jobs.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return out;
  }

  async #observe(pod: V1Pod): Promise<PodObservation> {
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid ?? name;
    const why = notRunning(pod);
    if (why !== undefined) return { pod: name, uid, kind: 'notRunning', reason: why };
    const started = performance.now();
    const outcome = await this.#options.scraper.scrape(
      {
        namespace: pod.metadata?.namespace ?? '',
        name,
        ip: pod.status?.podIP ?? '',
        port: metricsPort(pod),
      },
      this.#options.timeoutMs,
    );
    const time = this.#now();
    let obs: PodObservation;
    if (!outcome.ok) {
      obs = { pod: name, uid, kind: outcome.kind, reason: outcome.reason };
    } else {
      try {
        const result = readSample(outcome.text, time);
        obs = result.ok
          ? { pod: name, uid, kind: 'metrics', sample: result.sample }
          : {
              pod: name,
              uid,
              kind: 'noLoadMetrics',
              reason: `its /metrics lacks ${result.missing.join(', ')}: an image older than the load metrics`,
            };
      } catch (error) {
        obs = {
          pod: name,
          uid,
          kind: 'noLoadMetrics',
          reason: `its /metrics is not Prometheus text: ${(error as Error).message}`,
        };
      }
    }
    this.#options.scrapeDuration?.observe((performance.now() - started) / 1000);
    this.#options.scrapes?.inc({
      result:
        obs.kind === 'metrics'
          ? 'ok'
          : obs.kind === 'noLoadMetrics'
            ? 'no_load_metrics'
            : 'unreachable',
    });
    return obs;
  }
}

function previousState(status: LoadStatus): { state: LoadState; since?: number } {
  const since = status.since ? Date.parse(status.since) : Number.NaN;
  return { state: status.state, ...(Number.isFinite(since) ? { since } : {}) };
}
