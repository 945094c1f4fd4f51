/**
 * Issue 2, points 2 and 5: the LM Studio client's retries, timeouts and circuit
 * breaker seen through the API; issue 9: admission (queue, shedding); the error JSON of every failure.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { errorResponseSchema } from '../../service/api.js';
import { startService } from '../../service/app.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/logging.js';
import {
  CapturedLogs,
  type ConfigOverrides,
  type Stack,
  startStack,
} from '../support/service-harness.js';

const TEXT = { text: 'LM Studio will be asked to summarize this text.' };
let stack: Stack | undefined;

async function start(overrides: ConfigOverrides = {}): Promise<Stack> {
  stack = await startStack(overrides);
  return stack;
}

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return errorResponseSchema.parse(await response.json());
}

async function metric(url: string, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(' ').at(-1));
}

describe('retries', () => {
  it('retries 5xx with backoff and succeeds once LM Studio recovers', async () => {
    const { fake, post, logs, url } = await start({ lmstudio: { maxRetries: 3 } });
    fake.setMode({ kind: 'fail', times: 2 });
    const response = await post(TEXT);
    expect(response.status).toBe(200);
    expect(fake.stats.chatCalls).toBe(3);
    const retries = logs.entries.filter((e) => e.level === 'WARNING' && e.msg.includes('retrying'));
    expect(retries).toHaveLength(2);
    expect(await metric(url, 'lmstudio_retries_total{reason="server_error"}')).toBe(2);
  });

  it('retries 429', async () => {
    const { fake, post } = await start({ lmstudio: { maxRetries: 1 } });
    fake.setMode({ kind: 'fail', times: 1, status: 429 });
    expect((await post(TEXT)).status).toBe(200);
    expect(fake.stats.chatCalls).toBe(2);
  });

  it('gives up after LMSTUDIO_MAX_RETRIES retries: 502 SUMMARIZATION_ERROR', async () => {
    const { fake, post, logs } = await start({ lmstudio: { maxRetries: 2 } });
    fake.setMode({ kind: 'always_fail', status: 503 });
    const response = await post(TEXT);
    expect(response.status).toBe(502);
    const error = await errorOf(response);
    expect(error.error_code).toBe('SUMMARIZATION_ERROR');
    expect(error.details).toContain('HTTP 503');
    expect(fake.stats.chatCalls).toBe(3);
    expect(
      logs.entries.some((e) => e.level === 'ERROR' && e.msg.includes('after 3 attempt(s)')),
    ).toBe(true);
  });

  it.each([400, 404, 422])('never retries a %i from LM Studio', async (status) => {
    const { fake, post } = await start({ lmstudio: { maxRetries: 3 } });
    fake.setMode({ kind: 'always_fail', status });
    const response = await post(TEXT);
    expect(response.status).toBe(502);
    expect((await errorOf(response)).error_code).toBe('SUMMARIZATION_ERROR');
    expect(fake.stats.chatCalls).toBe(1);
  });

  it('each attempt has its own timeout: 504 LLM_TIMEOUT after the retries', async () => {
    const { fake, post } = await start({ lmstudio: { timeoutMs: 150, maxRetries: 1 } });
    fake.setMode({ kind: 'slow', latencyMs: 2000 });
    const started = performance.now();
    const response = await post(TEXT);
    const elapsed = performance.now() - started;
    expect(response.status).toBe(504);
    expect((await errorOf(response)).error_code).toBe('LLM_TIMEOUT');
    expect(fake.stats.chatCalls).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1900);
  });

  it('LM Studio down: 503 LLM_UNAVAILABLE after retrying the refused connections', async () => {
    const { fake, post, logs } = await start({ lmstudio: { maxRetries: 2 } });
    await fake.down();
    const response = await post(TEXT);
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.error_code).toBe('LLM_UNAVAILABLE');
    expect(error.details).toContain('ECONNREFUSED');
    expect(logs.entries.filter((e) => e.msg.includes('retrying'))).toHaveLength(2);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, fails fast without calling LM Studio, half-opens and closes', async () => {
    const { fake, post, url } = await start({
      lmstudio: { maxRetries: 0, breakerFailures: 3, breakerResetMs: 400 },
    });
    fake.setMode({ kind: 'always_fail' });
    for (let i = 0; i < 3; i += 1) expect((await post(TEXT)).status).toBe(502);
    expect(fake.stats.chatCalls).toBe(3);
    expect(await metric(url, 'lmstudio_circuit_state')).toBe(2);

    // Open: refused at once, LM Studio untouched, and told when to come back.
    const started = performance.now();
    const refused = await post(TEXT);
    expect(performance.now() - started).toBeLessThan(200);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await errorOf(refused)).error_code).toBe('LLM_UNAVAILABLE');
    expect(fake.stats.chatCalls).toBe(3);

    // After the reset time one trial goes through; its success closes the circuit.
    fake.setMode({ kind: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await post(TEXT)).status).toBe(200);
    expect(await metric(url, 'lmstudio_circuit_state')).toBe(0);
    expect((await post(TEXT)).status).toBe(200);
    expect(fake.stats.chatCalls).toBe(5);
  });

  it('a failed trial opens it again', async () => {
    const { fake, post } = await start({
      lmstudio: { maxRetries: 0, breakerFailures: 1, breakerResetMs: 200 },
    });
    await fake.down();
    expect((await post(TEXT)).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await post(TEXT)).status).toBe(503); // the trial: refused connection
    await fake.up();
    const calls = fake.stats.chatCalls;
    expect((await post(TEXT)).status).toBe(503); // open again: not even tried
    expect(fake.stats.chatCalls).toBe(calls);
  });
});

describe('admission: LMSTUDIO_MAX_CONCURRENCY calls in flight, a bounded FIFO queue', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a burst of 50 over a limit of 4 is queued and served: all 200, never more than 4 at LM Studio', async () => {
    const { fake, post, url } = await start({ admission: { concurrency: 4, maxQueued: 64 } });
    fake.setMode({ kind: 'slow', latencyMs: 40 });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async () => (await post(TEXT)).status),
    );
    expect(statuses).toEqual(Array(50).fill(200));
    expect(fake.stats.chatCalls).toBe(50);
    expect(fake.stats.maxConcurrentChats).toBe(4);
    expect(await metric(url, 'summary_queue_wait_seconds_count')).toBe(50);
    expect(await metric(url, 'summary_queue_depth')).toBe(0);
    expect(await metric(url, 'lmstudio_calls_in_flight')).toBe(0);
    expect(await metric(url, 'lmstudio_concurrency_limit')).toBe(4);
    expect(await metric(url, 'summary_queue_capacity')).toBe(64);
    expect(await metric(url, 'summary_requests_shed_total{reason="queue_full"}')).toBe(0);
  });

  it('queue full → 429 with Retry-After; probes are never shed; slots are released', async () => {
    const { fake, post, url } = await start({ admission: { concurrency: 2, maxQueued: 1 } });
    fake.setMode({ kind: 'slow', latencyMs: 400 });
    const pending = [post(TEXT), post(TEXT)];
    while (fake.stats.chatCalls < 2) await sleep(5);
    const queued = post(TEXT);
    while ((await metric(url, 'summary_queue_depth')) !== 1) await sleep(5);
    expect(await metric(url, 'lmstudio_calls_in_flight')).toBe(2);
    const shed = await post(TEXT);
    expect(shed.status).toBe(429);
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const error = await errorOf(shed);
    expect(error.error_code).toBe('OVERLOADED');
    expect(error.details).toBe('queue_full');
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect((await Promise.all([...pending, queued])).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(fake.stats.chatCalls).toBe(3);
    expect(await metric(url, 'summary_requests_shed_total{reason="queue_full"}')).toBe(1);
    fake.setMode({ kind: 'ok' });
    expect((await post(TEXT)).status).toBe(200);
    expect(await metric(url, 'summary_requests_in_flight')).toBe(0);
    expect(await metric(url, 'summary_queue_wait_seconds_count')).toBe(5);
  });

  it('a wait beyond QUEUE_TIMEOUT → 429 queue_timeout, and the request never reaches LM Studio', async () => {
    const { fake, post, url } = await start({
      admission: { concurrency: 1, maxQueued: 10, queueTimeoutMs: 150 },
    });
    fake.setMode({ kind: 'slow', latencyMs: 600 });
    const first = post(TEXT);
    while (fake.stats.chatCalls < 1) await sleep(5);
    const started = performance.now();
    const late = await post(TEXT);
    expect(performance.now() - started).toBeLessThan(550);
    expect(late.status).toBe(429);
    expect(late.headers.get('retry-after')).not.toBeNull();
    expect((await errorOf(late)).details).toBe('queue_timeout');
    expect((await first).status).toBe(200);
    expect(fake.stats.chatCalls).toBe(1);
    expect(await metric(url, 'summary_requests_shed_total{reason="queue_timeout"}')).toBe(1);
  });

  it('a queued request whose client goes away leaves the queue (LM Studio never sees it)', async () => {
    const { fake, post, url, logs } = await start({ admission: { concurrency: 1, maxQueued: 10 } });
    fake.setMode({ kind: 'slow', latencyMs: 500 });
    const first = post(TEXT);
    while (fake.stats.chatCalls < 1) await sleep(5);
    const controller = new AbortController();
    const gone = post(TEXT, { signal: controller.signal });
    while ((await metric(url, 'summary_queue_depth')) !== 1) await sleep(5);
    controller.abort();
    await expect(gone).rejects.toThrow();
    while ((await metric(url, 'summary_queue_depth')) !== 0) await sleep(5);
    expect((await first).status).toBe(200);
    await sleep(50);
    expect(fake.stats.chatCalls).toBe(1);
    while (!logs.summaryLines.some((l) => l.status === 499)) await sleep(5);
    expect(await metric(url, 'summary_requests_in_flight')).toBe(0);
    expect(await metric(url, 'lmstudio_calls_in_flight')).toBe(0);
  });

  it('a client that goes away during its LM Studio call frees its slot and is logged as 499', async () => {
    const { fake, post, url, logs } = await start({ admission: { concurrency: 1 } });
    fake.setMode({ kind: 'slow', latencyMs: 300 });
    const controller = new AbortController();
    const gone = post(TEXT, { signal: controller.signal });
    while (fake.stats.chatCalls < 1) await sleep(5);
    controller.abort();
    await expect(gone).rejects.toThrow();
    while (!logs.summaryLines.some((l) => l.status === 499)) await sleep(5);
    expect(await metric(url, 'summary_requests_in_flight')).toBe(0);
    expect(await metric(url, 'lmstudio_calls_in_flight')).toBe(0);
  });
});

describe('error JSON for everything', () => {
  it('unknown route → 404 JSON', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/does/not/exist`);
    expect(response.status).toBe(404);
    expect((await errorOf(response)).error_code).toBe('NOT_FOUND');
  });

  it('wrong method → 405 JSON with Allow', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/api/v1/summary/`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect((await errorOf(response)).error_code).toBe('METHOD_NOT_ALLOWED');
  });

  it('unparseable HTTP → 400 JSON', async () => {
    const { service } = await start();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(service.port, '127.0.0.1', () => socket.write('NONSENSE\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString('utf8');
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    expect(errorResponseSchema.parse(body).error_code).toBe('BAD_REQUEST');
  });

  it('an unexpected failure → 500 INTERNAL_ERROR, no stack trace, no internals', async () => {
    const logs = new CapturedLogs();
    const service = await startService(
      { ...loadConfig({ HOST: '127.0.0.1', PORT: '0' }) },
      {
        logger: createLogger({ debug: false, destination: logs.stream }),
        llm: {
          chat: async () => {
            throw new TypeError('secret internal detail');
          },
          health: async () => ({
            healthy: true,
            reachable: true,
            reason: 'ok',
            models: [],
            checkedAt: 0,
          }),
        },
      },
    );
    try {
      const response = await fetch(
        `${service.url.replace('localhost', '127.0.0.1')}/api/v1/summary/`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(TEXT),
        },
      );
      expect(response.status).toBe(500);
      const raw = await response.text();
      expect(raw).not.toMatch(/secret internal detail|TypeError|at .*\.ts|<html/i);
      const error = errorResponseSchema.parse(JSON.parse(raw));
      expect(error.error_code).toBe('INTERNAL_ERROR');
      // The operator still finds the cause in the logs.
      expect(
        logs.entries.some(
          (e) => e.level === 'ERROR' && JSON.stringify(e).includes('secret internal detail'),
        ),
      ).toBe(true);
    } finally {
      await service.shutdown();
    }
  });
});
