/**
 * Issue 9: LM Studio's real answers, through the API (fake LM Studio modes):
 * errors as a bare string or with status 200, no model loaded, an unknown model,
 * context overflows in each shape, the context from /api/v0/models, and
 * just-in-time loading. Each gets a message that names the cause.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { errorResponseSchema, healthResponseSchema } from '../../service/api.js';
import { estimateTokens } from '../../service/tokens.js';
import type { FakeLmStudioOptions } from '../support/fakes/lmstudio.js';
import {
  type ConfigOverrides,
  type Stack,
  sentences,
  startStack,
} from '../support/service-harness.js';

const TEXT = { text: 'LM Studio will be asked to summarize this text.', language: 'english' };
let stack: Stack | undefined;

async function start(overrides: ConfigOverrides = {}, fake: FakeLmStudioOptions = {}) {
  stack = await startStack(overrides, fake);
  return stack;
}

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function errorOf(response: Response) {
  return errorResponseSchema.parse(await response.json());
}

async function health(url: string) {
  const response = await fetch(`${url}/api/v1/summary/health`);
  return { status: response.status, body: healthResponseSchema.parse(await response.json()) };
}

describe('errors that name their cause', () => {
  it.each(['object', 'string'] as const)(
    'no model loaded (error as %s): summary 503 and health 503 say so',
    async (shape) => {
      const { fake, post, url } = await start();
      fake.setMode({ kind: 'no_model_loaded', shape });
      const response = await post(TEXT);
      expect(response.status).toBe(503);
      const error = await errorOf(response);
      expect(error.error_code).toBe('LLM_UNAVAILABLE');
      expect(error.details).toMatch(/^LM Studio has no model loaded \(No models loaded/);
      expect(error.details).toContain('"qwen/qwen3-4b"');
      expect(fake.stats.chatCalls).toBe(1); // a 4xx is not retried
      const { status, body } = await health(url);
      expect(status).toBe(503);
      expect(body.details).toBe(
        'LMStudio service is up but has no model loaded: load "qwen/qwen3-4b" in LM Studio, or turn on just-in-time loading',
      );
    },
  );

  it('an unknown model (model_not_found): 503 naming the model and DEFAULT_MODEL_NAME', async () => {
    const { fake, post } = await start();
    fake.setMode({ kind: 'model_not_found' });
    const error = await errorOf(await post(TEXT));
    expect(error.error_code).toBe('LLM_UNAVAILABLE');
    expect(error.details).toContain('does not know the model "qwen/qwen3-4b"');
    expect(error.details).toContain('Invalid model identifier');
    expect(error.details).toContain('DEFAULT_MODEL_NAME');
  });

  it('a configured model LM Studio does not list: health names it and what is served', async () => {
    const { fake, url } = await start();
    fake.setMode({ kind: 'model_missing' });
    const { status, body } = await health(url);
    expect(status).toBe(503);
    expect(body.details).toBe(
      'LMStudio service is up but does not serve the model "qwen/qwen3-4b" (it serves: some-other/model)',
    );
  });

  it("an error as a bare string: 502 with LM Studio's message", async () => {
    const { fake, post } = await start();
    fake.setMode({ kind: 'error_string', status: 400 });
    const response = await post(TEXT);
    expect(response.status).toBe(502);
    const error = await errorOf(response);
    expect(error.error_code).toBe('SUMMARIZATION_ERROR');
    expect(error.details).toBe(
      'LM Studio answered HTTP 400: fake LM Studio: the request failed (a bare string)',
    );
  });

  it('an error with status 200: read from the body, 502, not retried, not an empty summary', async () => {
    const { fake, post } = await start({ lmstudio: { maxRetries: 3 } });
    fake.setMode({ kind: 'error_200' });
    const response = await post(TEXT);
    expect(response.status).toBe(502);
    expect((await errorOf(response)).details).toBe(
      'LM Studio answered HTTP 200: fake LM Studio: an error answered with status 200',
    );
    expect(fake.stats.chatCalls).toBe(1);
  });
});

describe('context overflow: split smaller and retry, never a 502', () => {
  it.each(['llama', 'string', 'status_200'] as const)(
    'overflow answered %s: every part that reached the model fits, the answer is 200',
    async (shape) => {
      // The fake's real limit is 3,000 characters; the service believes 32,768 tokens.
      const { fake, post, metric } = await start({ chunkChars: 50_000 }, { keepRequests: 1000 });
      fake.setMode({ kind: 'context', maxChars: 3000, shape });
      const response = await post({ text: sentences(20_000), language: 'english' });
      expect(response.status, await response.clone().text()).toBe(200);
      expect(fake.stats.overflows).toBeGreaterThanOrEqual(1);
      const answered = fake.chatRequests.filter(
        (r) => r.messages.reduce((sum, m) => sum + m.content.length, 0) <= 3000,
      );
      expect(answered.length).toBe(fake.stats.chatOk);
      expect(
        await metric(
          'lmstudio_request_duration_seconds_count{operation="chat",outcome="context_overflow"}',
        ),
      ).toBe(fake.stats.overflows);
    },
  );

  it('a text that fits in theory but not in LM Studio: the one call is split after the refusal', async () => {
    const { fake, post } = await start({}, { keepRequests: 100 });
    fake.setMode({ kind: 'context', maxChars: 2500, shape: 'string' });
    const response = await post({ text: sentences(4000), language: 'english' });
    expect(response.status).toBe(200);
    expect(fake.stats.overflows).toBe(1);
    expect(fake.chatRequests.at(-1)?.messages[0]?.content).toContain('consecutive parts');
  });
});

describe('the model context from LM Studio (/api/v0/models)', () => {
  it('a model loaded with 4,096 tokens: a Korean text is split into parts that fit, prompt + max_tokens included', async () => {
    const { fake, post } = await start({}, { contextLength: 4096, keepRequests: 100 });
    const text = '서울은 대한민국의 수도이며 인구는 약 천만 명이다. '.repeat(120);
    const response = await post({ text, language: 'korean', max_tokens: 500 });
    expect(response.status).toBe(200);
    expect(fake.stats.nativeCalls).toBe(1);
    const parts = fake.chatRequests.slice(0, -1);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      const tokens = part.messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
      expect(tokens + (part.max_tokens ?? 0)).toBeLessThanOrEqual(4096);
    }
  });

  it('LMSTUDIO_CONTEXT_LENGTH overrides it', async () => {
    const { fake, post } = await start(
      { lmstudio: { contextLength: 1024 } },
      { contextLength: 32_768, keepRequests: 100 },
    );
    const response = await post({ text: sentences(3000), language: 'english', max_tokens: 100 });
    expect(response.status).toBe(200);
    expect(fake.stats.chatCalls).toBeGreaterThan(2);
  });

  it('without /api/v0/models (llama.cpp, LM Studio < 0.3.6) the 4,096-token fallback applies', async () => {
    const { fake, post } = await start({}, { native: false, keepRequests: 100 });
    const text = '서울은 대한민국의 수도이며 인구는 약 천만 명이다. '.repeat(120);
    expect((await post({ text, language: 'korean', max_tokens: 500 })).status).toBe(200);
    expect(fake.stats.chatCalls).toBeGreaterThan(2);
  });
});

describe('just-in-time loading', () => {
  it('a model LM Studio has not loaded: the first call alone gets LMSTUDIO_LOAD_TIMEOUT, the others wait for it', async () => {
    const { fake, post, logs } = await start({
      lmstudio: { timeoutMs: 300, loadTimeoutMs: 5000, maxRetries: 0 },
    });
    fake.setMode({ kind: 'not_loaded', loadMs: 800 });
    const statuses = await Promise.all(
      [post(TEXT), post(TEXT), post(TEXT)].map(async (r) => (await r).status),
    );
    expect(statuses).toEqual([200, 200, 200]);
    expect(fake.stats.loads).toBe(1);
    expect(fake.stats.maxConcurrentChats).toBe(1); // one instance loaded, not three (LM Studio #1751)
    expect(logs.entries.some((e) => e.msg.includes('has not loaded "qwen/qwen3-4b" yet'))).toBe(
      true,
    );
  });

  it('without the longer first-call timeout the load would time out (504)', async () => {
    const { fake, post } = await start({
      lmstudio: { timeoutMs: 300, loadTimeoutMs: 300, maxRetries: 0 },
    });
    fake.setMode({ kind: 'not_loaded', loadMs: 800 });
    expect((await post(TEXT)).status).toBe(504);
  });
});

describe('health and summaries agree about LM Studio', () => {
  it('a health probe that cannot reach LM Studio opens the circuit; the first one that can closes it', async () => {
    const { fake, post, url, metric } = await start({
      lmstudio: { breakerResetMs: 60_000, healthCacheMs: 5000 },
    });
    await fake.down();
    expect((await health(url)).body.details).toBe('LMStudio service is not responding');
    expect(await metric('lmstudio_circuit_state')).toBe(2);
    const started = performance.now();
    const refused = await post(TEXT);
    expect(refused.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(200);
    expect(fake.stats.chatCalls).toBe(0);

    await fake.up();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the open circuit's probe interval
    expect((await health(url)).status).toBe(200);
    expect(await metric('lmstudio_circuit_state')).toBe(0);
    expect((await post(TEXT)).status).toBe(200); // not 60 s later
  });

  it('a circuit opened by failing summaries shows in health, which probes again instead of answering from cache', async () => {
    const { fake, post, url } = await start({
      lmstudio: {
        maxRetries: 0,
        breakerFailures: 2,
        breakerResetMs: 60_000,
        healthCacheMs: 60_000,
      },
    });
    expect((await health(url)).status).toBe(200); // cached for 60 s while the circuit is closed
    fake.setMode({ kind: 'always_fail', status: 500 });
    expect((await post(TEXT)).status).toBe(502);
    expect((await post(TEXT)).status).toBe(502);
    const { status, body } = await health(url);
    expect(status).toBe(503);
    expect(body.details).toMatch(
      /^LMStudio service is not responding correctly: LM Studio answered HTTP 500/,
    );
    expect(body.details).toContain('the circuit breaker is open');
    fake.setMode({ kind: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await health(url)).status).toBe(200);
    expect((await post(TEXT)).status).toBe(200);
  });
});
