/**
 * The operator's own look at LM Studio (BackendReachable): `GET <base>/v1/models`, the
 * same cheap call the service's health check makes, never a chat completion.
 *
 * One probe per target URL per interval, shared by every SummarizerService that points
 * there (a thousand resources behind one LM Studio cost one request per interval), with a
 * short timeout and no retries: a flapping answer is reported as it is seen.
 */
import { request } from 'undici';
import type { SummarizerService } from '../api/summarizerservice.js';
import { namespaceOf } from '../desired/children.js';
import type { BackendProbe } from '../status/compute.js';

/** Where the operator can reach a resource's LM Studio from where it runs. */
export type BackendTarget = { url: string } | { unprobeable: string };

/**
 * In the cluster, the ExternalName Service (or the user's own Service) resolves through
 * cluster DNS. Outside it (a laptop, the tests), only the ExternalName's target can be
 * resolved, so that is what is called.
 */
export function backendTarget(cr: SummarizerService, inCluster: boolean): BackendTarget {
  const { externalName, serviceName, port } = cr.spec.lmstudio;
  if (externalName) {
    return { url: `http://${hostForUrl(externalName)}:${port}/v1/models` };
  }
  if (inCluster) {
    return { url: `http://${serviceName}.${namespaceOf(cr)}.svc:${port}/v1/models` };
  }
  return {
    unprobeable: `the operator runs outside the cluster and spec.lmstudio.externalName is empty, so Service ${serviceName} cannot be resolved from here`,
  };
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export interface BackendProberOptions {
  /** How long an answer is reused. Default 30 s. */
  intervalMs?: number;
  /** Per-probe timeout. Default 3 s. */
  timeoutMs?: number;
  now?: () => number;
}

interface CacheEntry {
  at: number;
  result: ProbeAnswer;
}

/** What GET /v1/models said: reachable with the served model ids, or why not. */
type ProbeAnswer = { ok: true; models: string[] } | { ok: false; reason: string };

export class BackendProber {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<ProbeAnswer>>();

  constructor(options: BackendProberOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#now = options.now ?? Date.now;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** The backend's state for a resource: cached when fresh, else probed now. */
  async check(cr: SummarizerService, inCluster: boolean): Promise<BackendProbe> {
    const target = backendTarget(cr, inCluster);
    if ('unprobeable' in target) {
      return { state: 'unknown', reason: target.unprobeable };
    }
    const answer = await this.#answer(target.url);
    if (!answer.ok) {
      return { state: 'unreachable', reason: `LM Studio at ${target.url}: ${answer.reason}` };
    }
    const model = cr.spec.summary.defaultModel;
    if (answer.models.length > 0 && !answer.models.includes(model)) {
      return {
        state: 'unreachable',
        reason: `LM Studio at ${target.url} answers but does not serve model ${model} (serves: ${answer.models.slice(0, 5).join(', ')})`,
      };
    }
    return { state: 'reachable', detail: `GET ${target.url} answered; model ${model} served` };
  }

  async #answer(url: string): Promise<ProbeAnswer> {
    const cached = this.#cache.get(url);
    if (cached && this.#now() - cached.at < this.#intervalMs) {
      return cached.result;
    }
    let pending = this.#inFlight.get(url);
    if (!pending) {
      pending = this.#probe(url).then((result) => {
        this.#cache.set(url, { at: this.#now(), result });
        this.#inFlight.delete(url);
        return result;
      });
      this.#inFlight.set(url, pending);
    }
    return pending;
  }

  async #probe(url: string): Promise<ProbeAnswer> {
    try {
      const response = await request(url, {
        method: 'GET',
        // A fresh connection per probe: one call every interval gains nothing from
        // keep-alive, and a pooled socket the server has dropped would read as an outage.
        reset: true,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { ok: false, reason: `GET /v1/models answered HTTP ${response.statusCode}` };
      }
      const body = (await response.body.json()) as { data?: Array<{ id?: unknown }> };
      const models = (body.data ?? [])
        .map((m) => m.id)
        .filter((id): id is string => typeof id === 'string');
      return { ok: true, models };
    } catch (error) {
      const e = error as { code?: string; message?: string; name?: string };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : [e.code, e.message].filter(Boolean).join(': ') || 'request failed';
      return { ok: false, reason: why };
    }
  }
}
