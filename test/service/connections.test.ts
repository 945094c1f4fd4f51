/**
 * Issue 21, part 2: connection hygiene (docs/api.md#limits), with raw sockets and small
 * configured limits so each case takes about a second. A client gets HTTP_HEADERS_TIMEOUT
 * to send its headers and HTTP_REQUEST_TIMEOUT for the whole request (then a 408 JSON and
 * the connection closed), but never a deadline on the answer; an idle keep-alive connection
 * is closed after HTTP_KEEP_ALIVE_TIMEOUT, a connection after HTTP_MAX_REQUESTS_PER_SOCKET
 * requests; connections over HTTP_MAX_CONNECTIONS are closed as they arrive.
 */
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorResponseSchema } from '../../service/api.js';
import { type Stack, startStack } from '../support/service-harness.js';

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 1500;
const KEEP_ALIVE_TIMEOUT_MS = 500;
/** Node checks the timeouts every connectionsCheckingInterval (here 125 ms), plus the machine's noise. */
const SLACK_MS = 1500;

interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the milliseconds from connecting to the server closing the connection. */
  closed: Promise<number>;
  /** Writes `bytes` one at a time, every `everyMs`, until the connection closes. */
  dribble(bytes: string, everyMs: number): void;
  request(raw: string): Promise<string>;
}

async function connect(port: number): Promise<RawConnection> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  let data = '';
  const listeners: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
    for (const listener of listeners.splice(0)) listener();
  });
  const opened = performance.now();
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now() - opened)),
  );
  await once(socket, 'connect');
  return {
    socket,
    received: () => data,
    closed,
    dribble(bytes, everyMs) {
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) clearInterval(timer);
        else socket.write(bytes[i++ % bytes.length] as string);
      }, everyMs);
      socket.once('close', () => clearInterval(timer));
    },
    /** Sends one request and resolves with its whole response (Content-Length framed). */
    async request(raw) {
      const start = data.length;
      socket.write(raw);
      for (;;) {
        const text = data.slice(start);
        const end = text.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(text)?.[1];
        if (end !== -1 && length !== undefined && text.length >= end + 4 + Number(length))
          return text;
        await new Promise<void>((resolve) => listeners.push(resolve));
      }
    },
  };
}

const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
const jsonBody = (response: string) =>
  errorResponseSchema.parse(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)));

describe('slow clients', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      http: {
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
      },
    });
  });
  afterAll(() => stack.stop());

  it('headers dribbled a byte at a time → 408 JSON and the connection closed, within the headers timeout', async () => {
    const connection = await connect(stack.service.port);
    connection.socket.write('POST /api/v1/summary/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    connection.dribble('abcdefgh', 100);
    const closedAfter = await connection.closed;
    expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    const response = connection.received();
    expect(status(response)).toBe(408);
    expect(response).toMatch(/content-type: application\/json/i);
    expect(jsonBody(response).error_code).toBe('BAD_REQUEST');
  });

  it('a connection that sends nothing is closed after the headers timeout (408)', async () => {
    const connection = await connect(stack.service.port);
    const closedAfter = await connection.closed;
    expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    expect(status(connection.received())).toBe(408);
  });

  it('a body dribbled a byte at a time → 408 JSON through the request (logged) within the request timeout; LM Studio not called', async () => {
    const before = stack.fake.stats.chatCalls;
    const connection = await connect(stack.service.port);
    connection.socket.write(
      'POST /api/v1/summary/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Request-Id: slow-body-1\r\nContent-Length: 1000\r\n\r\n{"text": "',
    );
    connection.dribble('abcdefgh', 100);
    const closedAfter = await connection.closed;
    expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
    const response = connection.received();
    expect(status(response)).toBe(408);
    expect(response).toMatch(/x-request-id: slow-body-1/i);
    expect(jsonBody(response)).toMatchObject({ error_code: 'BAD_REQUEST' });
    const line = stack.logs.summaryLines.find((entry) => entry.request_id === 'slow-body-1');
    expect(line).toMatchObject({ status: 408, level: 'WARNING' });
    expect(stack.fake.stats.chatCalls).toBe(before);
  });

  it('the request timeout covers receiving the request only: a summary that takes longer is answered', async () => {
    stack.fake.setMode({ kind: 'slow', latencyMs: REQUEST_TIMEOUT_MS + 1000 });
    try {
      const started = performance.now();
      const response = await stack.post({ text: 'A text whose summary takes its time.' });
      expect(response.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_MS);
    } finally {
      stack.fake.setMode({ kind: 'ok' });
    }
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const connection = await connect(stack.service.port);
    const response = await connection.request('GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(status(response)).toBe(200);
    expect(response).not.toMatch(/connection: close/i);
    const answeredAt = performance.now();
    await connection.closed;
    const idle = performance.now() - answeredAt;
    expect(idle).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 50);
    expect(idle).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + SLACK_MS);
  });
});

describe('HTTP_MAX_REQUESTS_PER_SOCKET', () => {
  it('the last request a connection may carry is answered with Connection: close, then it closes', async () => {
    const stack = await startStack({ http: { maxRequestsPerSocket: 3 } });
    try {
      const connection = await connect(stack.service.port);
      const get = 'GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n';
      const first = await connection.request(get);
      const second = await connection.request(get);
      const third = await connection.request(get);
      expect([first, second, third].map(status)).toEqual([200, 200, 200]);
      expect(first).not.toMatch(/connection: close/i);
      expect(second).not.toMatch(/connection: close/i);
      expect(third).toMatch(/connection: close/i);
      await connection.closed;
    } finally {
      await stack.stop();
    }
  });
});

describe('HTTP_MAX_CONNECTIONS', () => {
  it('a connection over the cap is closed as it arrives and counted; once one closes, new ones are served', async () => {
    const stack = await startStack({ http: { maxConnections: 2 } });
    try {
      const held = [await connect(stack.service.port), await connect(stack.service.port)];
      const over = await connect(stack.service.port);
      over.socket.write('GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await over.closed;
      expect(over.received()).toBe('');
      held[0]?.socket.destroy();
      await held[0]?.closed;
      // The server sees the close a moment later.
      let served: Response | undefined;
      for (let attempt = 0; attempt < 50 && served === undefined; attempt += 1) {
        try {
          served = await fetch(`${stack.url}/livez`, { headers: { connection: 'close' } });
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect(served?.status).toBe(200);
      held[1]?.socket.destroy();
      await held[1]?.closed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await stack.metric('http_connections_dropped_total')).toBeGreaterThanOrEqual(1);
    } finally {
      await stack.stop();
    }
  });
});

describe('what Node would answer with an empty body is answered with the error JSON', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('Expect other than 100-continue → 417 error JSON with X-Request-Id, and the connection closed', async () => {
    const connection = await connect(stack.service.port);
    const response = await connection.request(
      'POST /api/v1/summary/ HTTP/1.1\r\nHost: localhost\r\nExpect: bogus\r\nX-Request-Id: expect-1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n',
    );
    expect(status(response)).toBe(417);
    expect(response).toMatch(/x-request-id: expect-1/i);
    expect(response).toMatch(/connection: close/i);
    expect(jsonBody(response)).toMatchObject({ error_code: 'BAD_REQUEST' });
    await connection.closed;
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('Expect: 100-continue is still honoured', async () => {
    const connection = await connect(stack.service.port);
    const body = JSON.stringify({ text: 'A text sent after 100 Continue.' });
    connection.socket.write(
      `POST /api/v1/summary/ HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await expect.poll(() => connection.received()).toMatch(/^HTTP\/1\.1 100 Continue/);
    const response = await connection.request(body);
    expect(status(response)).toBe(200);
  });

  it('HTTP/1.1 without Host → 400 error JSON', async () => {
    const connection = await connect(stack.service.port);
    const response = await connection.request('GET /livez HTTP/1.1\r\n\r\n');
    expect(status(response)).toBe(400);
    expect(jsonBody(response)).toMatchObject({
      error_code: 'BAD_REQUEST',
      error: 'An HTTP/1.1 request must have a Host header',
    });
  });

  it('HTTP/1.0 without Host is served', async () => {
    const connection = await connect(stack.service.port);
    const response = await connection.request('GET /livez HTTP/1.0\r\n\r\n');
    expect(status(response)).toBe(200);
  });
});
