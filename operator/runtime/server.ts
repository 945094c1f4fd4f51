/**
 * The operator's HTTP endpoints: `/metrics` (Prometheus text from one registry), `/healthz`
 * (liveness: the process works) and `/readyz` (readiness: named checks, e.g. caches synced).
 * `?verbose` lists each check, like the API server's own health endpoints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';

/** A named probe; a false result or a throw fails it. */
export type Check = () => boolean | Promise<boolean>;

export interface ServerOptions {
  registry: Registry;
  /** `host:port`; `:8080` binds all interfaces, `127.0.0.1:0` a free local port. Default `:8080`. */
  bindAddress?: string;
  logger?: RuntimeLogger;
}

export function parseBindAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  const host = colon > 0 ? address.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : undefined;
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid bind address "${address}": expected host:port`);
  }
  return { host: host || undefined, port };
}

export class RuntimeServer {
  readonly #registry: Registry;
  readonly #bindAddress: string;
  readonly #log: RuntimeLogger;
  readonly #health = new Map<string, Check>([['ping', () => true]]);
  readonly #ready = new Map<string, Check>([['ping', () => true]]);
  #server: Server | undefined;

  constructor(options: ServerOptions) {
    this.#registry = options.registry;
    this.#bindAddress = options.bindAddress ?? ':8080';
    this.#log = (options.logger ?? silentLogger).child({ component: 'server' });
  }

  addHealthCheck(name: string, check: Check): void {
    this.#health.set(name, check);
  }

  addReadyCheck(name: string, check: Check): void {
    this.#ready.set(name, check);
  }

  /** Listens; resolves the bound address (the real port when 0 was asked). */
  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = parseBindAddress(this.#bindAddress);
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error(errorFields(err), 'request handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // Probes and scrapes are tiny; a stuck client must not hold a socket forever.
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const address = server.address() as AddressInfo;
    this.#log.info(
      { address: address.address, port: address.port },
      'serving /metrics, /healthz, /readyz',
    );
    return { host: address.address, port: address.port };
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
        .end('method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/metrics': {
        const body = await this.#registry.metrics();
        res.writeHead(200, { 'content-type': this.#registry.contentType }).end(body);
        return;
      }
      case '/healthz':
      case '/livez':
        return this.#probe(this.#health, url, res);
      case '/readyz':
        return this.#probe(this.#ready, url, res);
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  async #probe(checks: Map<string, Check>, url: URL, res: ServerResponse): Promise<void> {
    const results = await Promise.all(
      [...checks].map(async ([name, check]) => {
        try {
          return { name, ok: await check() };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    const lines = results.map((r) => `[${r.ok ? '+' : '-'}]${r.name} ${r.ok ? 'ok' : 'failed'}`);
    const verbose = url.searchParams.has('verbose');
    const body = verbose || !ok ? `${lines.join('\n')}\n${ok ? 'ok' : 'failed'}\n` : 'ok\n';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
  }
}
