/**
 * Issue 9: the service against the real inference server (llama.cpp's server
 * with SmolLM2-135M, a context of 2,048 tokens, one prediction at a time, as LM
 * Studio before 0.4): summaries in the three languages, long texts whose parts
 * really overflow the context, an outage and the recovery, and SIGTERM during a
 * real generation. The model is slow on two cores, so inputs are short or
 * repetitive (the server's prompt cache then spares re-reading identical parts)
 * and max_tokens is the API's minimum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, SERVICE_ENV } from '../../contract/env.js';
import { healthResponseSchema, summaryResponseSchema } from '../../service/api.js';
import { type InferenceServer, startInferenceServer } from '../support/llm-server.js';
import { type RunningService, spawnService, startServiceAt } from '../support/service-harness.js';

const CONTEXT = 2048;
const MAX_TOKENS = 50;
/** Generous per-attempt timeout: with one slot, calls wait for each other at the server. */
const LLM_TIMEOUT_MS = 90_000;

let llm: InferenceServer;
const services: RunningService[] = [];

async function service(overrides: Parameters<typeof startServiceAt>[1] = {}) {
  const running = await startServiceAt(llm.baseUrl, {
    ...overrides,
    lmstudio: { timeoutMs: LLM_TIMEOUT_MS, retryBaseMs: 50, ...overrides.lmstudio },
  });
  services.push(running);
  return running;
}

beforeAll(async () => {
  llm = await startInferenceServer({ ctx: CONTEXT, parallel: 1 });
});

afterAll(async () => {
  for (const running of services) await running.service.shutdown();
  await llm?.stop();
});

const repeat = (sentence: string, length: number) =>
  sentence
    .repeat(Math.ceil(length / sentence.length))
    .slice(0, length)
    .trim();

describe('summaries in English, Korean and Japanese', () => {
  it.each([
    [
      'english',
      'The city council approved the new transit plan on Tuesday. It adds 120 electric buses and extends the light-rail line to the northern suburbs.',
    ],
    ['korean', '서울시는 화요일에 새 교통 계획을 승인했다. 전기 버스 120대를 추가한다.'],
    ['japanese', '東京都は火曜日に新しい交通計画を承認した。電気バスを百二十台増やす。'],
  ] as const)('%s → 200 with a summary', async (language, text) => {
    const { post } = await service();
    const response = await post({ text, language, max_tokens: MAX_TOKENS });
    expect(response.status).toBe(200);
    const body = summaryResponseSchema.parse(await response.json());
    expect(body.summary_text.length).toBeGreaterThan(0);
    expect(body.original_text).toBe(text);
    expect(body.model_name).toBe('qwen/qwen3-4b');
  });
});

describe('long texts: parts that overflow the real context are split and retried', () => {
  it('a Korean text of 10,000 characters → 200 (the 4,096-token fallback is too much for 2,048)', async () => {
    const { post, metric, logs } = await service();
    const text = repeat('서울은 대한민국의 수도이며 약 천만 명이 산다. ', 10_000);
    expect(text.length).toBeGreaterThanOrEqual(9_990);
    const response = await post({ text, language: 'korean', max_tokens: MAX_TOKENS });
    expect(response.status, await response.clone().text()).toBe(200);
    const body = summaryResponseSchema.parse(await response.json());
    expect(body.original_length).toBe(text.length);
    expect(body.summary_text.length).toBeGreaterThan(0);
    // The server really refused parts as too long for its context, and they were split.
    const refused = await metric(
      'lmstudio_request_duration_seconds_count{operation="chat",outcome="context_overflow"}',
    );
    expect(refused).toBeGreaterThanOrEqual(1);
    const line = logs.summaryLines.at(-1);
    expect(Number(line?.chunks)).toBeGreaterThan(4);
    expect(Number(line?.llm_calls)).toBeGreaterThan(Number(line?.chunks));
  }, 240_000);

  it('an English text of 50,000 characters → 200, even with a context length set too high', async () => {
    // LMSTUDIO_CONTEXT_LENGTH=16384 (e.g. copied from the model's maximum): the first parts
    // are far too long; the server's answer names its real context (n_ctx), which is used from then on.
    const { post, metric } = await service({
      chunkChars: 50_000,
      lmstudio: { contextLength: 16_384 },
    });
    const text = repeat(
      'The committee reviewed the annual budget and approved the new transit plan for the city. ',
      50_000,
    );
    const response = await post({ text, language: 'english', max_tokens: MAX_TOKENS });
    expect(response.status, await response.clone().text()).toBe(200);
    const body = summaryResponseSchema.parse(await response.json());
    expect(body.original_length).toBe(text.length);
    const refused = await metric(
      'lmstudio_request_duration_seconds_count{operation="chat",outcome="context_overflow"}',
    );
    expect(refused).toBeGreaterThanOrEqual(1);
  }, 240_000);
});

describe('LM Studio stopped and restarted', () => {
  it('stopped: health 503 naming LMStudio and summaries 503 fast; restarted: both recover together', async () => {
    const { post, url } = await service({
      lmstudio: { healthCacheMs: 5000, breakerResetMs: 30_000 },
    });
    const health = async () => {
      const response = await fetch(`${url}/api/v1/summary/health`);
      return { status: response.status, body: healthResponseSchema.parse(await response.json()) };
    };
    const text = {
      text: 'The council met on Tuesday and approved the plan.',
      language: 'english',
      max_tokens: MAX_TOKENS,
    };
    expect((await health()).status).toBe(200);

    await llm.stop();
    // The last healthy answer may be reused for up to LMSTUDIO_HEALTH_CACHE_SECONDS (5 s).
    const deadline = Date.now() + 10_000;
    let down = await health();
    while (down.status !== 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      down = await health();
    }
    expect(down.status).toBe(503);
    expect(down.body.details).toContain('LMStudio');
    // The probe that found LM Studio gone opened the circuit: summaries fail at once.
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      const response = await post(text);
      expect(response.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1000);
    }

    await llm.restart();
    // The first health check after the restart finds LM Studio and closes the circuit: a
    // summary right after it is served, without waiting out the breaker's 30 s.
    const back = Date.now() + 30_000;
    while ((await health()).status !== 200) {
      expect(Date.now()).toBeLessThan(back);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const response = await post(text);
    expect(response.status).toBe(200);
  }, 120_000);
});

describe('SIGTERM during a real generation', () => {
  it('the request completes and the process exits 0', async () => {
    const child = spawnService({
      [ENV.lmstudioBaseUrl]: llm.baseUrl,
      [ENV.lmstudioTimeout]: String(LLM_TIMEOUT_MS / 1000),
      [SERVICE_ENV.shutdownTimeoutSeconds]: '100',
    });
    const port = await child.ready;
    const pending = fetch(`http://127.0.0.1:${port}/api/v1/summary/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'The committee reviewed the annual budget. It approved the new transit plan for the city after a long debate.',
        language: 'english',
        max_tokens: 200,
      }),
    });
    // Wait until the call is at the inference server, then ask the service to stop.
    const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    while (!/^lmstudio_calls_in_flight 1$/m.test(await metrics())) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.child.kill('SIGTERM');
    const response = await pending;
    expect(response.status).toBe(200);
    expect(summaryResponseSchema.parse(await response.json()).summary_text.length).toBeGreaterThan(
      0,
    );
    expect(await child.exited).toBe(0);
    expect(child.stdout()).toMatch(/SIGTERM received/);
  }, 120_000);
});
