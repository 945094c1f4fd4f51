/**
 * Reading one pod's /metrics — the monitor's only network I/O. Three ways to reach a pod:
 *
 * - `pod-ip` (in the cluster): `GET http://<pod IP>:<container port>/metrics`, what
 *   Prometheus does; needs no RBAC, only the network (a NetworkPolicy that admits nothing
 *   from the operator's namespace makes every pod Unreachable, and status says so);
 * - `apiserver` (outside the cluster): the API server's pod proxy,
 *   `GET /api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/metrics` — needs `get` on
 *   `pods/proxy` (deploy/optional/pods-proxy-rbac.yaml, not granted by default);
 * - a base URL: the same path on a `kubectl proxy` (or anything that serves it), no credentials.
 *
 * Each scrape has a timeout and a size bound, on a fresh connection (one request per pod per
 * interval gains nothing from keep-alive, and a pooled socket the pod dropped reads as an outage).
 */
import { request } from 'undici';
import { PROBE_PATHS } from '../../contract/env.js';
import { isForbidden, isNotFound, type KubeClient } from '../runtime/index.js';

export type ScrapeMode =
  | { kind: 'pod-ip' }
  | { kind: 'apiserver'; client: KubeClient }
  | { kind: 'proxy'; baseUrl: string };

export interface ScrapeTarget {
  namespace: string;
  name: string;
  ip: string;
  port: number;
}

export type ScrapeOutcome =
  | { ok: true; text: string }
  | { ok: false; kind: 'unreachable' | 'noLoadMetrics'; reason: string };

/** A /metrics page larger than this is not the summarizer's. */
export const MAX_METRICS_BYTES = 1 << 20;

export interface Scraper {
  /** How pods are reached, for logs and status. */
  readonly description: string;
  scrape(target: ScrapeTarget, timeoutMs: number): Promise<ScrapeOutcome>;
}

function proxyPath(target: ScrapeTarget): string {
  // The API server splits `name:port` itself; an encoded ':' would be part of the name.
  const pod = `${encodeURIComponent(target.name)}:${target.port}`;
  return `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${pod}/proxy${PROBE_PATHS.metrics}`;
}

function networkReason(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return `no answer within ${timeoutMs} ms`;
  const cause = e.cause as { code?: string; message?: string } | undefined;
  return (
    [e.code ?? cause?.code, cause?.message ?? e.message].filter(Boolean).join(': ') ||
    'request failed'
  );
}

async function httpGet(url: string, timeoutMs: number): Promise<ScrapeOutcome> {
  try {
    const response = await request(url, {
      method: 'GET',
      reset: true,
      headers: { accept: 'text/plain' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.statusCode === 404) {
      await response.body.dump();
      return {
        ok: false,
        kind: 'noLoadMetrics',
        reason: `GET ${PROBE_PATHS.metrics} answered 404`,
      };
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      return {
        ok: false,
        kind: 'unreachable',
        reason: `GET ${PROBE_PATHS.metrics} answered HTTP ${response.statusCode}`,
      };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).byteLength;
      if (size > MAX_METRICS_BYTES) {
        response.body.destroy();
        return {
          ok: false,
          kind: 'noLoadMetrics',
          reason: `/metrics is larger than ${MAX_METRICS_BYTES} bytes`,
        };
      }
      chunks.push(chunk as Buffer);
    }
    return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    return { ok: false, kind: 'unreachable', reason: networkReason(error, timeoutMs) };
  }
}

export function scraperFor(mode: ScrapeMode): Scraper {
  switch (mode.kind) {
    case 'pod-ip':
      return {
        description: 'pod IP and container port',
        scrape: (t, timeoutMs) =>
          httpGet(
            `http://${t.ip.includes(':') ? `[${t.ip}]` : t.ip}:${t.port}${PROBE_PATHS.metrics}`,
            timeoutMs,
          ),
      };
    case 'proxy': {
      const base = mode.baseUrl.replace(/\/+$/, '');
      return {
        description: `the pod proxy at ${base}`,
        scrape: (t, timeoutMs) => httpGet(`${base}${proxyPath(t)}`, timeoutMs),
      };
    }
    case 'apiserver':
      return {
        description: "the API server's pod proxy (pods/proxy)",
        async scrape(t, timeoutMs) {
          try {
            const text = await mode.client.requestText({
              method: 'GET',
              path: proxyPath(t),
              timeoutMs,
              maxBytes: MAX_METRICS_BYTES,
            });
            return { ok: true, text };
          } catch (error) {
            if (isForbidden(error)) {
              return {
                ok: false,
                kind: 'unreachable',
                reason: `the operator may not use pods/proxy (apply deploy/optional/pods-proxy-rbac.yaml when it runs outside the cluster): ${error.serverMessage}`,
              };
            }
            if (isNotFound(error) && error.status.details?.kind !== 'pods') {
              return {
                ok: false,
                kind: 'noLoadMetrics',
                reason: `GET ${PROBE_PATHS.metrics} answered 404`,
              };
            }
            const message =
              (error as { serverMessage?: string }).serverMessage ||
              networkReason(error, timeoutMs);
            return {
              ok: false,
              kind: 'unreachable',
              reason: `through the API server: ${message}`.slice(0, 400),
            };
          }
        },
      };
  }
}
