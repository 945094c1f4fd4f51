/**
 * HTTP plumbing below Express, knowing nothing of summaries: the request's path
 * and media type, JSON for requests Node cannot parse (they never reach
 * Express), listening, and closing gracefully.
 */
import { type Server, type ServerOptions, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { HttpConfig } from './config.js';

/**
 * The server's timeouts. Node checks them every `connectionsCheckingInterval` (30 s by
 * default, which would stretch a 10 s timeout to 40 s): here at least every second, and
 * often enough for the sub-second timeouts of the tests.
 */
export function serverOptions(http: HttpConfig): ServerOptions {
  const shortest = Math.min(http.headersTimeoutMs, http.requestTimeoutMs);
  return {
    headersTimeout: http.headersTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(shortest / 8))),
    // Node would answer a missing Host with a bare 400; the app answers it with the error JSON.
    requireHostHeader: false,
  };
}

/** The path of a request target, without its query string. */
export function requestPath(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** The charset parameter of a Content-Type header, lower-cased; undefined when absent. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  if (match === null) return undefined;
  const value = (match[1] ?? match[2] ?? '').trim().toLowerCase();
  return value === '' ? undefined : value;
}

/**
 * Answers requests Node cannot even parse, and clients too slow to send theirs (408),
 * with a JSON error instead of a bare one. A request whose headers arrived but whose
 * body is too slow already has a response: `answerInFlight` answers through it (so it is
 * logged and counted) and returns true; otherwise the error is written to the socket.
 */
export function answerMalformedRequestsWithJson(
  server: Server,
  answerInFlight: (socket: Socket, status: number) => boolean = () => false,
): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
    // Only a timeout concerns the request being received; a parse error belongs to the
    // next request on the connection, not to one that may be waiting for its answer.
    if (status === 408 && answerInFlight(socket, status)) return;
    const body = JSON.stringify({
      error: STATUS_CODES[status] ?? 'Bad Request',
      error_code: 'BAD_REQUEST',
      timestamp: new Date().toISOString(),
      details: null,
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    destroyAfterGrace(socket);
  });
}

/**
 * Closes a socket we ended even if its client goes on sending: a moment later, not at
 * once, so the answer is not lost to a reset while the client's bytes are still unread.
 */
export function destroyAfterGrace(socket: Socket, graceMs = 1000): void {
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Listens; an empty host means every interface. Resolves with the bound port. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting connections and closes idle ones; requests in flight finish
 * (their responses should carry `Connection: close`). After `timeoutMs` the
 * remaining connections are cut.
 */
export async function closeGracefully(
  server: Server,
  timeoutMs: number,
): Promise<'drained' | 'forced'> {
  const closed = new Promise<'drained'>((resolve) => server.close(() => resolve('drained')));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'forced'>((resolve) => {
    timer = setTimeout(() => resolve('forced'), timeoutMs);
  });
  const outcome = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  if (outcome === 'forced') {
    server.closeAllConnections();
    await closed;
  }
  return outcome;
}
