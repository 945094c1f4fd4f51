import { describe, expect, it } from 'vitest';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
} from './queue-rate-limit.js';
import { TokenBucket } from './rate-limit.js';

function fakeClock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TokenBucket', () => {
  it('allows a burst, then refills at qps', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 3, clock.now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    clock.advance(100); // one token at 10/s
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });

  it('never holds more than burst tokens', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100, 2, clock.now);
    clock.advance(60_000);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
  });

  it('reserve returns growing waits once the burst is spent', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 2, clock.now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([
      0, 0, 100, 200,
    ]);
    clock.advance(200);
    expect(bucket.reserve()).toBe(100);
  });

  it('cancel returns an unused reservation', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 1, clock.now);
    bucket.reserve();
    expect(bucket.reserve()).toBe(100);
    bucket.cancel();
    expect(bucket.reserve()).toBe(100);
  });

  it('is unlimited for qps 0 or Infinity', () => {
    for (const qps of [0, Number.POSITIVE_INFINITY]) {
      const bucket = new TokenBucket(qps, 1);
      for (let i = 0; i < 1000; i++) expect(bucket.reserve()).toBe(0);
    }
  });

  it('take() waits for the reserved slot in real time', async () => {
    const bucket = new TokenBucket(50, 1);
    await bucket.take();
    const started = performance.now();
    const waited = await bucket.take();
    expect(waited).toBeGreaterThan(10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(waited - 2);
  });

  it('take() rejects when aborted and gives the token back', async () => {
    const bucket = new TokenBucket(1, 1);
    await bucket.take();
    const abort = new AbortController();
    const pending = bucket.take(abort.signal);
    abort.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });

  it('sustains ~100 req/s with the client defaults (200 qps, burst 400)', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(200, 400, clock.now);
    let waited = 0;
    for (let i = 0; i < 6000; i++) {
      waited = Math.max(waited, bucket.reserve());
      clock.advance(10); // 100/s for 60 s
    }
    expect(waited).toBe(0);
  });
});

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from the base per failure and caps', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 15 * 60_000);
    const delays = Array.from({ length: 20 }, () => limiter.when('x'));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays[17]).toBe(5 * 2 ** 17); // 655 s
    expect(delays[18]).toBe(15 * 60_000);
    expect(delays[19]).toBe(15 * 60_000);
    expect(limiter.numRequeues('x')).toBe(20);
  });

  it('never overflows for huge failure counts', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1000);
    for (let i = 0; i < 5000; i++) limiter.when('x');
    expect(limiter.when('x')).toBe(1000);
  });

  it('tracks items independently and forgets', () => {
    const limiter = new ItemExponentialFailureRateLimiter(1, 100);
    limiter.when('a');
    limiter.when('a');
    expect(limiter.when('b')).toBe(1);
    limiter.forget('a');
    expect(limiter.when('a')).toBe(1);
  });
});

describe('MaxOfRateLimiter / default controller limiter', () => {
  it('takes the longest delay and informs every limiter', () => {
    const clock = fakeClock();
    const perItem = new ItemExponentialFailureRateLimiter(5, 1000);
    const limiter = new MaxOfRateLimiter(perItem, new BucketRateLimiter(10, 1, clock.now));
    expect(limiter.when('a')).toBe(5); // bucket had a token
    expect(limiter.when('b')).toBe(100); // bucket empty: 100 ms > 5 ms
    expect(perItem.numRequeues('b')).toBe(1);
    expect(limiter.numRequeues('a')).toBe(1);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
  });

  it('defaults to 5 ms growing to a 15 min cap', () => {
    const limiter = defaultControllerRateLimiter();
    expect(limiter.when('a')).toBe(5);
    expect(limiter.when('a')).toBe(10);
    for (let i = 0; i < 30; i++) limiter.when('a');
    expect(limiter.when('a')).toBe(900_000);
  });
});
