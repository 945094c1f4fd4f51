/**
 * HTTP transport to the API server: TLS and credentials come from client-node's KubeConfig
 * (every kubeconfig auth method it supports: client certs, tokens, token files, exec and
 * OIDC plugins); the connections come from one pooled undici Agent.
 *
 * Why not client-node's own request path: in 1.4 every call builds a new https.Agent (no
 * connection reuse: a TLS handshake per request, too slow for hundreds of requests per
 * second), and its Watch cannot be aborted before response headers arrive and has no
 * inactivity timeout. So we keep client-node for what it does well — reading kubeconfig and
 * producing credentials — and do the HTTP ourselves.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent } from 'undici';

export interface TransportOptions {
  /** How long resolved credentials are reused before asking the KubeConfig again (token files rotate). Default 10 s. */
  credentialTtlMs?: number;
  /** Idle keep-alive connection lifetime. Default 30 s. */
  keepAliveTimeoutMs?: number;
}

interface Connection {
  server: string;
  agent: Agent;
}

export class KubeTransport {
  readonly #kubeConfig: KubeConfig;
  readonly #credentialTtlMs: number;
  readonly #keepAliveTimeoutMs: number;
  #connection: Promise<Connection> | undefined;
  #headers: { value: Record<string, string>; expires: number } | undefined;

  constructor(kubeConfig: KubeConfig, options: TransportOptions = {}) {
    this.#kubeConfig = kubeConfig;
    this.#credentialTtlMs = options.credentialTtlMs ?? 10_000;
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 30_000;
  }

  /** The API server base URL (no trailing slash) and the pooled agent, created on first use. */
  connection(): Promise<Connection> {
    this.#connection ??= this.#connect().catch((err: unknown) => {
      this.#connection = undefined;
      throw err;
    });
    return this.#connection;
  }

  async #connect(): Promise<Connection> {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts: RequestOptions = {};
    await this.#kubeConfig.applyToHTTPSOptions(opts);
    const agent = new Agent({
      connect: {
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        pfx: opts.pfx,
        passphrase: opts.passphrase,
        servername: opts.servername,
        ...(opts.rejectUnauthorized !== undefined
          ? { rejectUnauthorized: opts.rejectUnauthorized }
          : {}),
      },
      keepAliveTimeout: this.#keepAliveTimeoutMs,
      // Per-request timeouts are ours (AbortSignals); watches must be allowed to idle.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return { server: cluster.server.replace(/\/+$/, ''), agent };
  }

  /** Authorization (and other kubeconfig) headers, cached for a few seconds. */
  async authHeaders(): Promise<Record<string, string>> {
    const now = Date.now();
    if (this.#headers && this.#headers.expires > now) return this.#headers.value;
    const opts: RequestOptions = {};
    await this.#kubeConfig.applyToHTTPSOptions(opts);
    const value = flattenHeaders(opts.headers);
    if (opts.auth) value.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    this.#headers = { value, expires: now + this.#credentialTtlMs };
    return value;
  }

  /** Forget cached credentials (after a 401 an exec plugin or token file may have a fresh one). */
  invalidateCredentials(): void {
    this.#headers = undefined;
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) await (await connection).agent.destroy().catch(() => undefined);
  }
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
