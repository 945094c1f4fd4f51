import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  Cancellation,
  CircuitBreaker,
  type CircuitState,
  delay,
  isRetryable,
  parseRetryAfter,
} from './resilience.js';

function breakerWithClock(failureThreshold = 3, resetMs = 1000) {
  let now = 0;
  const changes: CircuitState[] = [];
  const breaker = new CircuitBreaker({
    failureThreshold,
    resetMs,
    now: () => now,
    onChange: (state) => changes.push(state),
  });
  return { breaker, changes, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures and then refuses with the time left', () => {
    const { breaker, changes, advance } = breakerWithClock(3, 1000);
    for (let i = 0; i < 2; i += 1) {
      expect(breaker.admit().allowed).toBe(true);
      breaker.failure();
    }
    expect(breaker.state).toBe('closed');
    breaker.admit();
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['open']);
    advance(400);
    expect(breaker.admit()).toEqual({ allowed: false, retryAfterMs: 600 });
  });

  it('a success resets the consecutive-failure count', () => {
    const { breaker } = breakerWithClock(3);
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });

  it('half-opens after the reset time, lets exactly one trial through, and closes on its success', () => {
    const { breaker, changes, advance } = breakerWithClock(1, 1000);
    breaker.failure();
    advance(1000);
    expect(breaker.admit().allowed).toBe(true);
    expect(breaker.state).toBe('half_open');
    expect(breaker.admit().allowed).toBe(false); // trial in flight: others fail fast
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.admit().allowed).toBe(true);
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('re-opens for a full period when the trial fails', () => {
    const { breaker, advance } = breakerWithClock(1, 1000);
    breaker.failure();
    advance(1500);
    breaker.admit();
    breaker.failure();
    expect(breaker.state).toBe('open');
    advance(999);
    expect(breaker.admit().allowed).toBe(false);
    advance(1);
    expect(breaker.admit().allowed).toBe(true);
  });

  it('a released trial (caller gone) lets the next caller try', () => {
    const { breaker, advance } = breakerWithClock(1, 1000);
    breaker.failure();
    advance(1000);
    expect(breaker.admit().allowed).toBe(true);
    breaker.release();
    expect(breaker.state).toBe('half_open');
    expect(breaker.admit().allowed).toBe(true);
  });
});

describe('retry policy', () => {
  it('backoff grows exponentially within [half, full] of the step and respects the cap', () => {
    expect(backoffMs(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffMs(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(400);
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffMs(20, 100, 1000, () => 1)).toBe(1000);
    const samples = new Set(Array.from({ length: 50 }, () => backoffMs(2, 100, 10_000)));
    expect(samples.size).toBeGreaterThan(1); // jitter
    for (const sample of samples) {
      expect(sample).toBeGreaterThanOrEqual(200);
      expect(sample).toBeLessThanOrEqual(400);
    }
  });

  it('retries network errors, timeouts, 429 and 5xx, never other 4xx or bad answers', () => {
    expect(isRetryable('network_error')).toBe(true);
    expect(isRetryable('timeout')).toBe(true);
    expect(isRetryable('rate_limited')).toBe(true);
    expect(isRetryable('server_error')).toBe(true);
    expect(isRetryable('client_error')).toBe(false);
    expect(isRetryable('bad_response')).toBe(false);
    expect(isRetryable('aborted')).toBe(false);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000);
  });
});

describe('Cancellation', () => {
  it('children fire with their parent, and unlink cleanly', () => {
    const parent = new Cancellation();
    const a = parent.child();
    const b = parent.child();
    b.unlink();
    parent.abort();
    expect([a.cancellation.aborted, b.cancellation.aborted]).toEqual([true, false]);
    a.unlink();
    expect(parent.listenerCount('abort')).toBe(0);
  });

  it('delay resolves true after the time, false at once when cancelled', async () => {
    expect(await delay(5)).toBe(true);
    const cancellation = new Cancellation();
    const started = performance.now();
    const pending = delay(5000, cancellation);
    cancellation.abort();
    expect(await pending).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(cancellation.listenerCount('abort')).toBe(0);
  });
});
