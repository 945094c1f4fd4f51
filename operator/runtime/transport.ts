/**
 * HTTP transport to the API server: one pooled undici Agent (keep-alive connections) built
 * from the cluster's TLS material, plus authentication headers cached for a few seconds.
 *
 * Why not client-node's own request path: in 1.4 every call builds a new https.Agent (no
 * connection reuse: a TLS handshake per request, too slow for hundreds of requests per
 * second), and its Watch cannot be aborted before response headers arrive and has no
 * inactivity timeout. client-node remains the way to read a kubeconfig with every auth
 * method (see connection.ts); the HTTP is ours.
 */
import { Agent } from 'undici';
import type { ClusterAccess } from './connection.js';

export interface TransportOptions {
  /** How long authentication headers are reused before asking again (tokens rotate). Default 10 s. */
  credentialTtlMs?: number;
  /** Idle keep-alive connection lifetime. Default 30 s. */
  keepAliveTimeoutMs?: number;
}

interface Connection {
  server: string;
  agent: Agent;
}

export class KubeTransport {
  readonly #access: ClusterAccess;
  readonly #credentialTtlMs: number;
  readonly #keepAliveTimeoutMs: number;
  #connection: Promise<Connection> | undefined;
  #headers: { value: Record<string, string>; expires: number } | undefined;

  constructor(access: ClusterAccess, options: TransportOptions = {}) {
    this.#access = access;
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
    const tls = await this.#access.tls();
    const agent = new Agent({
      connect: {
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        servername: tls.servername,
        ...(tls.rejectUnauthorized !== undefined
          ? { rejectUnauthorized: tls.rejectUnauthorized }
          : {}),
      },
      keepAliveTimeout: this.#keepAliveTimeoutMs,
      // Per-request timeouts are ours (AbortSignals); watches must be allowed to idle.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return { server: this.#access.server.replace(/\/+$/, ''), agent };
  }

  /** Authentication headers, cached for a few seconds. */
  async authHeaders(): Promise<Record<string, string>> {
    const now = Date.now();
    if (this.#headers && this.#headers.expires > now) return this.#headers.value;
    const value = await this.#access.headers();
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
