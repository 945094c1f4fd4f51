import { describe, expect, it } from 'vitest';
import { podInterval, quantile } from './interval.js';
import type { Histogram, PodSample } from './sample.js';

const BOUNDS = [0.1, 0.5, 1, 2.5, Infinity];
const histogram = (counts: number[], sum: number): Histogram => ({
  bounds: BOUNDS,
  counts,
  sum,
  count: counts.at(-1) ?? 0,
});

function sample(time: number, over: Partial<PodSample> = {}): PodSample {
  return {
    time,
    processStart: 100,
    queueDepth: 0,
    queueCapacity: 64,
    inFlight: 0,
    concurrency: 4,
    shed: 0,
    queueWait: histogram([0, 0, 0, 0, 0], 0),
    chatOk: histogram([0, 0, 0, 0, 0], 0),
    chatFailed: 0,
    chatRefused: 0,
    callSeconds: 0,
    requests: 0,
    serverErrors: 0,
    ...over,
  };
}

describe('quantile (histogram_quantile)', () => {
  it('interpolates inside the bucket, and stops at the highest finite bound', () => {
    // 10 observations: 5 under 0.1 s, 4 in (0.5, 1], 1 above 2.5.
    const h = histogram([5, 5, 9, 9, 10], 8);
    expect(quantile(h, 0.5)).toBeCloseTo(0.1);
    expect(quantile(h, 0.8)).toBeCloseTo(0.875);
    expect(quantile(h, 0.95)).toBe(2.5);
    expect(quantile(histogram([0, 0, 0, 0, 0], 0), 0.95)).toBeUndefined();
  });
});

describe('podInterval', () => {
  it('turns counters into rates and busy slots over the interval', () => {
    const a = sample(0, { callSeconds: 10, requests: 5, shed: 1 });
    const b = sample(10_000, {
      callSeconds: 40,
      requests: 25,
      serverErrors: 2,
      shed: 4,
      inFlight: 3,
      chatOk: histogram([0, 10, 20, 20, 20], 15),
      queueWait: histogram([10, 18, 20, 20, 20], 5),
    });
    const result = podInterval(a, b);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.interval).toMatchObject({
      seconds: 10,
      busySlots: 3,
      utilization: 0.75,
      shed: 3,
      requests: 20,
      serverErrors: 2,
      chatCalls: 20,
      chatMean: 0.75,
      averageQueue: 0.5,
    });
    expect(result.interval.chatP95).toBeCloseTo(0.95);
  });

  it('counts the slots as full when they are full at the scrape, whatever completed', () => {
    const result = podInterval(sample(0), sample(15_000, { inFlight: 4 }));
    expect(result.ok && result.interval.utilization).toBe(1);
  });

  it('refuses to judge across a restart: a new process start time, or counters that went down', () => {
    expect(podInterval(sample(0), sample(5_000, { processStart: 200 }))).toEqual({
      ok: false,
      reason: 'the process restarted between the two scrapes',
    });
    expect(podInterval(sample(0, { requests: 50 }), sample(5_000, { requests: 3 })).ok).toBe(false);
    expect(podInterval(sample(5_000), sample(5_000)).ok).toBe(false);
  });
});
