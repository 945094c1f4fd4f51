import { describe, expect, it } from 'vitest';
import { Backoff, defaultWatchBackoff, jittered, nominalDelay, sleep } from './backoff.js';

describe('backoff policy', () => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

  it('grows by the factor and caps', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map((n) => nominalDelay(policy, n))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });

  it('never overflows', () => {
    expect(nominalDelay(policy, 1e9)).toBe(1000);
  });

  it('jitters within ±jitter', () => {
    expect(jittered(1000, 0.2, () => 0)).toBe(800);
    expect(jittered(1000, 0.2, () => 1)).toBeCloseTo(1200);
    expect(jittered(1000, 0.2, () => 0.5)).toBe(1000);
    expect(jittered(1000, 0, () => 0)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = jittered(1000, 0.5);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1500);
    }
  });

  it('Backoff counts attempts and resets', () => {
    const backoff = new Backoff({ ...policy, jitter: 0.1 }, () => 0.5);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('has client-go-like watch defaults', () => {
    expect(defaultWatchBackoff.initialMs).toBe(800);
    expect(defaultWatchBackoff.maxMs).toBe(30_000);
  });

  it('sleep resolves early on abort, and at once when already aborted', async () => {
    const abort = new AbortController();
    const started = performance.now();
    const pending = sleep(5000, abort.signal);
    setTimeout(() => abort.abort(), 10);
    await pending;
    expect(performance.now() - started).toBeLessThan(1000);
    await sleep(5000, abort.signal);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
