/**
 * A closed-loop load generator: `concurrency` clients, each sending one summary request
 * after the other until the signal aborts, round-robin over `urls` (a Service does the
 * same per connection). Counts answers by status; never retries (a 429 is a result).
 * Used by the recorder of load series (record.ts) and, in an image, inside the kind cluster.
 */
import { Agent, request } from 'undici';

export interface LoadOptions {
  /** Base URLs of the summarizer (http://host:port). */
  urls: readonly string[];
  concurrency: number;
  signal: AbortSignal;
  /** The request body; default: a short English text, 60 tokens. */
  body?: Record<string, unknown>;
  /** Per-request timeout, ms (default 120 s). */
  timeoutMs?: number;
  /**
   * A new connection per request: through a Service, each picks a pod at random (kube-proxy
   * balances connections, not requests), so every pod gets its share of a few clients.
   */
  freshConnections?: boolean;
}

export interface LoadStats {
  sent: number;
  byStatus: Record<string, number>;
  /** Client-side latency of 2xx answers, ms. */
  okLatencyMs: { count: number; mean: number; max: number };
}

export const DEFAULT_BODY = {
  text:
    'Kubernetes groups the containers that make up an application into logical units for easy ' +
    'management and discovery. It restarts containers that fail, replaces them, and kills those ' +
    'that do not respond to health checks, and it scales applications up and down with demand.',
  language: 'english',
  summary_type: 'concise',
  max_tokens: 60,
};

export async function runLoad(options: LoadOptions): Promise<LoadStats> {
  const stats: LoadStats = { sent: 0, byStatus: {}, okLatencyMs: { count: 0, mean: 0, max: 0 } };
  const body = JSON.stringify(options.body ?? DEFAULT_BODY);
  const agent = new Agent({ connections: options.concurrency * 2, keepAliveTimeout: 4_000 });
  let next = 0;
  let okTotal = 0;
  const client = async () => {
    while (!options.signal.aborted) {
      const url = options.urls[next++ % options.urls.length];
      stats.sent += 1;
      const started = performance.now();
      let status: string;
      try {
        const response = await request(`${url}/api/v1/summary/`, {
          method: 'POST',
          dispatcher: agent,
          reset: options.freshConnections === true,
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([
            options.signal,
            AbortSignal.timeout(options.timeoutMs ?? 120_000),
          ]),
        });
        await response.body.dump();
        status = String(response.statusCode);
        if (response.statusCode < 300) {
          const ms = performance.now() - started;
          okTotal += ms;
          stats.okLatencyMs.count += 1;
          stats.okLatencyMs.max = Math.max(stats.okLatencyMs.max, Math.round(ms));
        } else if (response.statusCode === 429) {
          // A shed client waits a little, as a real one honouring Retry-After would.
          await new Promise((r) => setTimeout(r, 200));
        }
      } catch (error) {
        if (options.signal.aborted) break;
        status = (error as { code?: string }).code ?? 'error';
        await new Promise((r) => setTimeout(r, 200));
      }
      stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  stats.okLatencyMs.mean =
    stats.okLatencyMs.count > 0 ? Math.round(okTotal / stats.okLatencyMs.count) : 0;
  await agent.close();
  return stats;
}
