/**
 * HTTP plumbing on node:http, knowing nothing of summaries: reading a bounded
 * JSON body, answering malformed HTTP with JSON, listening, and closing
 * gracefully. (A framework's router and body parser cost more than half the
 * throughput of one Node hop; the service has eight routes and one body.)
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type BodyProblem =
  | 'too_large'
  | 'invalid_json'
  | 'unsupported_encoding'
  | 'unsupported_charset';

export class BodyError extends Error {
  constructor(
    readonly problem: BodyProblem,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
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

function charsetOf(contentType: string | undefined): string | undefined {
  const match =
    contentType === undefined ? null : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType);
  return match?.[1]?.toLowerCase();
}

/**
 * Reads the body (at most `limitBytes`; a larger declared Content-Length is
 * refused before reading) and parses it as UTF-8 JSON. An empty body is
 * `undefined`. Throws BodyError.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new BodyError('unsupported_encoding', `Content-Encoding "${encoding}" is not supported`);
  }
  const charset = charsetOf(req.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BodyError('unsupported_charset', `charset "${charset}" is not supported; send UTF-8`);
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) throw tooLarge(limitBytes);

  const raw = await new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (part: Buffer) => {
      size += part.length;
      if (size > limitBytes) {
        // Stop reading; the caller answers 413 with Connection: close.
        req.off('data', onData);
        req.pause();
        reject(tooLarge(limitBytes));
        return;
      }
      parts.push(part);
    };
    req.on('data', onData);
    req.once('end', () =>
      resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size)),
    );
    req.once('error', reject);
  });
  if (raw.length === 0) return undefined;
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark
  if (text.length < 16 && text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BodyError('invalid_json', error instanceof Error ? error.message : 'invalid JSON');
  }
}

function tooLarge(limitBytes: number): BodyError {
  return new BodyError(
    'too_large',
    `The request body exceeds the ${limitBytes / 1024 / 1024} MB limit`,
  );
}

/** Answers requests Node cannot even parse with a JSON error instead of a bare 400. */
export function answerMalformedRequestsWithJson(server: Server): void {
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
    const body = JSON.stringify({
      error: STATUS_CODES[status] ?? 'Bad Request',
      error_code: 'BAD_REQUEST',
      timestamp: new Date().toISOString(),
      details: null,
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
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
