import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Admission } from '../../service/admission.js';
import { createMetrics } from '../../service/metrics.js';
import { Cancellation } from '../../service/resilience.js';
import { ExpositionError, parseExposition } from './exposition.js';
import { readSample, WANTED } from './sample.js';

describe('parseExposition', () => {
  it('keeps only the names asked for, with labels (escapes included) and special values', () => {
    const text = [
      '# HELP a_total A counter.',
      '# TYPE a_total counter',
      'a_total{reason="queue_full"} 3',
      'a_total{reason="say \\"hi\\"\\\\",other="x"} 4 1700000000000',
      'ignored_metric{le="0.1"} 9',
      'h_bucket{le="+Inf"} +Inf',
      'g NaN',
      '',
    ].join('\n');
    const parsed = parseExposition(text, new Set(['a_total', 'h_bucket', 'g']));
    expect(parsed.get('a_total')).toEqual([
      { labels: { reason: 'queue_full' }, value: 3 },
      { labels: { reason: 'say "hi"\\', other: 'x' }, value: 4 },
    ]);
    expect(parsed.get('h_bucket')?.[0]).toEqual({ labels: { le: '+Inf' }, value: Infinity });
    expect(parsed.get('g')?.[0]?.value).toBeNaN();
    expect(parsed.has('ignored_metric')).toBe(false);
  });

  it('refuses a wanted sample that is not Prometheus text instead of guessing', () => {
    expect(() => parseExposition('a_total{reason="x} 1', new Set(['a_total']))).toThrow(
      ExpositionError,
    );
    expect(() => parseExposition('a_total twelve', new Set(['a_total']))).toThrow(
      /not a sample value/,
    );
    // An HTML error page has no wanted names: nothing is read, nothing thrown.
    expect(parseExposition('<html><body>502</body></html>', WANTED).size).toBe(0);
  });
});

describe('readSample on what the service really exposes', () => {
  it('reads the load contract from service/metrics.ts', async () => {
    const metrics = createMetrics();
    const admission = new Admission({ concurrency: 4, maxQueued: 64, queueTimeoutMs: 60_000 });
    metrics.attachAdmission(admission);
    // Four slots taken, three requests waiting (never granted: the test ends first).
    for (let i = 0; i < 4; i++) await admission.admit();
    const waiting = new Cancellation();
    for (let i = 0; i < 3; i++) admission.admit(waiting).catch(() => undefined);
    metrics.shed.inc({ reason: 'queue_full' }, 2);
    metrics.queueWait.observe(0.3);
    metrics.observer.onAttempt('chat', 'ok', 1.5);
    metrics.observer.onAttempt('chat', 'timeout', 30);
    metrics.observer.onAttempt('models', 'ok', 0.01);
    metrics.httpDuration.observe(
      { method: 'POST', route: '/api/v1/summary/', status_code: '200' },
      1,
    );
    metrics.httpDuration.observe(
      { method: 'POST', route: '/api/v1/summary/', status_code: '504' },
      30,
    );
    metrics.httpDuration.observe({ method: 'GET', route: '/livez', status_code: '500' }, 0.01);
    const result = readSample(await metrics.registry.metrics(), 1000);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sample).toMatchObject({
      time: 1000,
      queueDepth: 3,
      queueCapacity: 64,
      inFlight: 4,
      concurrency: 4,
      shed: 2,
      chatFailed: 1,
      chatRefused: 1,
      requests: 2,
      serverErrors: 1,
      circuit: 0,
    });
    expect(result.sample.chatOk.count).toBe(1);
    expect(result.sample.chatOk.sum).toBeCloseTo(1.5);
    expect(result.sample.callSeconds).toBeCloseTo(31.51);
    expect(result.sample.queueWait.count).toBe(1);
    expect(result.sample.processStart).toBeGreaterThan(0);
    waiting.abort();
  });

  it('says what an image without the load contract lacks (its /metrics has only process metrics)', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const result = readSample(await registry.metrics(), 0);
    expect(result).toEqual({
      ok: false,
      missing: [
        'summary_queue_depth',
        'lmstudio_calls_in_flight',
        'lmstudio_concurrency_limit',
        'summary_requests_shed_total',
        'summary_queue_wait_seconds_count',
      ],
    });
  });
});
