/**
 * How to reach and authenticate to one API server. The transport needs only this; it can
 * come from client-node's KubeConfig (every auth method client-node supports) or from the
 * dependency-free loader in kubeconfig.ts (importing client-node costs ~45 MB RSS, which a
 * memory-bounded operator may not want to pay just to read a kubeconfig).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface TlsMaterial {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** false only for `insecure-skip-tls-verify`. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface ClusterAccess {
  /** API server base URL, e.g. https://10.0.0.1:6443. */
  readonly server: string;
  tls(): Promise<TlsMaterial>;
  /** Request headers that authenticate (Authorization, …); asked again when they may have rotated. */
  headers(): Promise<Record<string, string>>;
}

/** Adapts a client-node KubeConfig (its current context). */
export function accessFromKubeConfig(kubeConfig: KubeConfig): ClusterAccess {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const resolve = async () => {
    const opts: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    return opts;
  };
  return {
    server: cluster.server,
    async tls() {
      const opts = await resolve();
      return {
        ca: opts.ca as string | Buffer | undefined,
        cert: opts.cert as string | Buffer | undefined,
        key: opts.key as string | Buffer | undefined,
        servername: opts.servername,
        ...(opts.rejectUnauthorized !== undefined
          ? { rejectUnauthorized: opts.rejectUnauthorized }
          : {}),
      };
    },
    async headers() {
      const opts = await resolve();
      const headers = flattenHeaders(opts.headers);
      if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return headers;
    },
  };
}

/** A KubeConfig is recognized structurally, so this module never loads client-node itself. */
export function isKubeConfig(source: KubeConfig | ClusterAccess): source is KubeConfig {
  return typeof (source as KubeConfig).applyToHTTPSOptions === 'function';
}

function flattenHeaders(
  headers: OutgoingHttpHeaders | readonly string[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers || Array.isArray(headers)) return out;
  for (const [key, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (value === undefined) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
