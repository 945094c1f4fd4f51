/**
 * Issue 2, points 1 (health), 2 (the health probe) and 7: the runbook's health
 * check, the Kubernetes probes, /metrics and /openapi.json.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LANGUAGES, LIMITS, SUMMARY_TYPES } from '../../contract/env.js';
import {
  errorResponseSchema,
  healthResponseSchema,
  trimmedLengthPattern,
} from '../../service/api.js';
import { createApp } from '../../service/app.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/logging.js';
import { createMetrics } from '../../service/metrics.js';
import { CapturedLogs, type Stack, startStack } from '../support/service-harness.js';

const HEALTH_KEYS = ['status', 'service_name', 'timestamp', 'details'];

describe('GET /api/v1/summary/health', () => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack({ lmstudio: { healthCacheMs: 200 } });
  });
  afterEach(() => stack.stop());
  const health = async () => {
    const response = await fetch(`${stack.url}/api/v1/summary/health`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(HEALTH_KEYS);
    return { status: response.status, body: healthResponseSchema.parse(body) };
  };

  it('200 healthy, exactly as the runbook expects', async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'healthy',
      service_name: 'Text Summarization Service',
      details: 'All systems operational',
    });
  });

  it('probes GET /v1/models, caches the answer, shares one probe between callers, never chats', async () => {
    const cached = await startStack({ lmstudio: { healthCacheMs: 5000 } });
    try {
      const get = () => fetch(`${cached.url}/api/v1/summary/health`).then((r) => r.status);
      expect(await Promise.all(Array.from({ length: 10 }, get))).toEqual(Array(10).fill(200));
      expect(await get()).toBe(200);
      expect(cached.fake.stats.modelsCalls).toBe(1);
      expect(cached.fake.stats.chatCalls).toBe(0);
    } finally {
      await cached.stop();
    }
  });

  it('probes again once the cached answer is older than the cache time', async () => {
    await health();
    await new Promise((resolve) => setTimeout(resolve, 250));
    await health();
    expect(stack.fake.stats.modelsCalls).toBe(2);
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('503 "LMStudio service is not responding" when LM Studio is down, healthy again when it is back', async () => {
    await stack.fake.down();
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'unhealthy',
      service_name: 'Text Summarization Service',
      details: 'LMStudio service is not responding',
    });
    await stack.fake.up();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await health()).status).toBe(200);
  });

  it('503 naming LMStudio and the model when the configured model is not served', async () => {
    stack.fake.setMode({ kind: 'model_missing' });
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.status).toBe('unhealthy');
    expect(body.details).toContain('LMStudio');
    expect(body.details).toContain('"qwen/qwen3-4b"');
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('503 naming LMStudio when /v1/models answers 500', async () => {
    stack.fake.setMode({ kind: 'always_fail' });
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.details).toMatch(/^LMStudio service is not responding/);
    expect(body.details).toContain('HTTP 500');
  });
});

describe('Kubernetes probes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('/livez and /readyz stay 200 while LM Studio is down, and do not probe it', async () => {
    await stack.fake.down();
    try {
      const live = await fetch(`${stack.url}/livez`);
      const ready = await fetch(`${stack.url}/readyz`);
      expect([live.status, ready.status]).toEqual([200, 200]);
      expect(await live.json()).toEqual({ status: 'alive' });
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect(stack.fake.stats.modelsCalls).toBe(0);
    } finally {
      await stack.fake.up();
    }
  });

  it('/readyz answers 503 once draining, and asks the client to close the connection', async () => {
    const config = loadConfig({ HOST: '127.0.0.1', PORT: '0' });
    const logs = new CapturedLogs();
    const { handle, state } = createApp({
      config,
      logger: createLogger({ debug: false, destination: logs.stream }),
      metrics: createMetrics(),
      llm: {
        chat: async () => ({ content: 'x', model: 'm' }),
        health: async () => ({
          healthy: true,
          reachable: true,
          reason: 'ok',
          models: [],
          checkedAt: 0,
        }),
      },
    });
    const server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
      expect((await fetch(url)).status).toBe(200);
      state.draining = true;
      const draining = await fetch(url);
      expect(draining.status).toBe(503);
      expect(draining.headers.get('connection')).toBe('close');
      expect(errorResponseSchema.parse(await draining.json()).error_code).toBe('NOT_READY');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('GET /metrics', () => {
  it('exposes request durations by route and status, LM Studio calls, retries, circuit state and in-flight', async () => {
    const stack = await startStack({ lmstudio: { maxRetries: 1 } });
    try {
      stack.fake.setMode({ kind: 'fail', times: 1 });
      await stack.post({ text: 'First request, retried once.' });
      await stack.post({ text: 'Second request, no trailing slash.' }, { path: '/api/v1/summary' });
      await stack.post({ text: 'short' });
      await fetch(`${stack.url}/nowhere`);
      const response = await fetch(`${stack.url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      const value = (series: string) =>
        Number(
          text
            .split('\n')
            .find((line) => line.startsWith(`${series} `))
            ?.split(' ')[1],
        );
      expect(
        value(
          'http_request_duration_seconds_count{method="POST",route="/api/v1/summary/",status_code="200"}',
        ),
      ).toBe(2);
      expect(
        value(
          'http_request_duration_seconds_count{method="POST",route="/api/v1/summary/",status_code="422"}',
        ),
      ).toBe(1);
      expect(
        value(
          'http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}',
        ),
      ).toBe(1);
      expect(value('lmstudio_request_duration_seconds_count{operation="chat",outcome="ok"}')).toBe(
        2,
      );
      expect(
        value('lmstudio_request_duration_seconds_count{operation="chat",outcome="server_error"}'),
      ).toBe(1);
      expect(value('lmstudio_retries_total{reason="server_error"}')).toBe(1);
      expect(value('lmstudio_circuit_state')).toBe(0);
      expect(value('summary_requests_in_flight')).toBe(0);
      expect(text).toContain('process_cpu_seconds_total');
    } finally {
      await stack.stop();
    }
  });
});

describe('GET /openapi.json', () => {
  let stack: Stack;
  let doc: {
    openapi: string;
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
    >;
    components: {
      responses: Record<string, { content: Record<string, unknown> }>;
      schemas: Record<
        string,
        { properties: Record<string, Record<string, unknown>>; required: string[] }
      >;
    };
  };
  beforeAll(async () => {
    stack = await startStack({ defaults: { language: 'japanese' } });
    doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as typeof doc;
  });
  afterAll(() => stack.stop());

  it('is OpenAPI 3 and describes every route', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/summary/',
        '/api/v1/summary',
        '/api/v1/summary/health',
        '/livez',
        '/readyz',
        '/metrics',
        '/openapi.json',
      ]),
    );
  });

  it('lists every status each operation can answer, every error with the error JSON', () => {
    const errorJson = {
      'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } },
    };
    const common = ['400', '408', '417', '431', '500'];
    const expected: Record<string, string[]> = {
      'post /api/v1/summary/': [...common, '200', '413', '415', '422', '429', '502', '503', '504'],
      'post /api/v1/summary': [...common, '200', '413', '415', '422', '429', '502', '503', '504'],
      'get /api/v1/summary/health': [...common, '200', '503'],
      'get /livez': [...common, '200'],
      'get /readyz': [...common, '200', '503'],
      'get /metrics': [...common, '200'],
      'get /openapi.json': [...common, '200'],
    };
    const listed: Record<string, string[]> = {};
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        listed[`${method} ${path}`] = Object.keys(operation.responses).sort();
        for (const [code, response] of Object.entries(operation.responses)) {
          if (Number(code) >= 400 && !(path === '/api/v1/summary/health' && code === '503'))
            expect({ at: `${method} ${path} ${code}`, content: response.content }).toEqual({
              at: `${method} ${path} ${code}`,
              content: errorJson,
            });
        }
      }
    }
    expect(listed).toEqual(
      Object.fromEntries(Object.entries(expected).map(([key, codes]) => [key, codes.sort()])),
    );
    // Statuses of no operation: unknown paths and methods.
    expect(doc.components.responses.NotFound?.content).toEqual(errorJson);
    expect(doc.components.responses.MethodNotAllowed?.content).toEqual(errorJson);
  });

  it('describes the request with the enums, bounds and (configured) defaults the validator uses', () => {
    const request = doc.components.schemas.SummaryRequest;
    expect(request?.required).toEqual(['text']);
    expect(request?.properties.summary_type?.enum).toEqual([...SUMMARY_TYPES]);
    expect(request?.properties.language?.enum).toEqual([...LANGUAGES]);
    expect(request?.properties.language?.default).toBe('japanese');
    expect(request?.properties.max_tokens).toMatchObject({
      type: 'integer',
      ...{ minimum: LIMITS.maxTokens.min, maximum: LIMITS.maxTokens.max },
    });
    expect(request?.properties.text).toMatchObject({
      minLength: LIMITS.textLength.min,
      pattern: trimmedLengthPattern(LIMITS.textLength.min, LIMITS.textLength.max),
    });
    // Whitespace around the text is trimmed, so the raw string has no maximum.
    expect(request?.properties.text?.maxLength).toBeUndefined();
    const response = doc.components.schemas.SummaryResponse;
    expect([...(response?.required ?? [])].sort()).toEqual([
      'compression_ratio',
      'created_at',
      'id',
      'model_name',
      'original_length',
      'original_text',
      'summary_length',
      'summary_text',
    ]);
  });

  it('the documented bounds are the enforced ones: at the bound 200, one step beyond 422', async () => {
    const props = doc.components.schemas.SummaryRequest?.properties ?? {};
    const text = 'x'.repeat(Number(props.text?.minLength));
    const pattern = new RegExp(String(props.text?.pattern), 'u');
    const probes: Array<[Record<string, unknown>, number]> = [
      [{ text }, 200],
      [{ text: text.slice(1) }, 422],
      // The schema-valid request the old document let through: 10 characters, 1 after trimming.
      [{ text: '         a' }, 422],
      [{ text: ` \u3000${text}\n\ufeff` }, 200],
      [{ text: 'y'.repeat(LIMITS.textLength.max) }, 200],
      [{ text: `  ${'y'.repeat(LIMITS.textLength.max)}  ` }, 200],
      [{ text: 'y'.repeat(LIMITS.textLength.max + 1) }, 422],
      [{ text, max_tokens: props.max_tokens?.minimum }, 200],
      [{ text, max_tokens: Number(props.max_tokens?.minimum) - 1 }, 422],
      [{ text, max_tokens: props.max_tokens?.maximum }, 200],
      [{ text, max_tokens: Number(props.max_tokens?.maximum) + 1 }, 422],
      [{ text, temperature: props.temperature?.maximum }, 200],
      [{ text, temperature: Number(props.temperature?.maximum) + 0.01 }, 422],
      [{ text, temperature: props.temperature?.minimum }, 200],
    ];
    for (const [body, status] of probes) {
      expect({ body, status: (await stack.post(body)).status }).toEqual({ body, status });
      if (typeof body.text === 'string' && Object.keys(body).length === 1) {
        // The pattern says the same as the server.
        expect({ body, valid: pattern.test(body.text) }).toEqual({ body, valid: status === 200 });
      }
    }
  });
});
