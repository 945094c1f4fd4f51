import { describe, expect, it, vi } from 'vitest';
import { RuntimeMetrics } from './metrics.js';
import { ItemExponentialFailureRateLimiter } from './queue-rate-limit.js';
import { WorkQueue } from './workqueue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function queue(overrides: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}) {
  const metrics = new RuntimeMetrics();
  return { q: new WorkQueue({ name: 'test', metrics, ...overrides }), metrics };
}

async function metricValue(metrics: RuntimeMetrics, name: string): Promise<number> {
  const json = await metrics.registry.getMetricsAsJSON();
  const metric = json.find((m) => m.name === name);
  return (
    metric?.values.reduce(
      (sum, v) =>
        'metricName' in v && String(v.metricName).endsWith('_bucket') ? sum : sum + v.value,
      0,
    ) ?? 0
  );
}

describe('WorkQueue', () => {
  it('deduplicates an item added many times before it is processed', async () => {
    const { q, metrics } = queue();
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(await metricValue(metrics, 'workqueue_adds_total')).toBe(2);
  });

  it('hands items out in FIFO order', async () => {
    const { q } = queue();
    for (const k of ['x', 'y', 'z']) q.add(k);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['x', 'y', 'z']);
  });

  it('re-queues an item added while it is processed, only after done()', async () => {
    const { q } = queue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    expect(q.length).toBe(0); // not handed to a second worker meanwhile
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await tick();
    expect(second).toBeUndefined();
    q.done('a');
    await tick();
    expect(second).toBe('a');
  });

  it('never processes one key concurrently with many workers', async () => {
    const { q } = queue();
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (active.has(key)) overlaps++;
        active.add(key);
        await tick(Math.random() * 3);
        active.delete(key);
        processed++;
        q.done(key);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let i = 0; i < 300; i++) {
      q.add(`k${i % 5}`);
      if (i % 10 === 0) await tick(1);
    }
    await tick(20);
    await q.shutDownWithDrain({ timeoutMs: 2000 });
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(processed).toBeGreaterThanOrEqual(5);
  });

  it('wakes a waiting worker when an item arrives', async () => {
    const { q } = queue();
    const got = q.get();
    q.add('late');
    expect(await got).toBe('late');
  });

  it('collapses a synchronous burst of adds even while a worker is waiting', async () => {
    const { q } = queue();
    const first = q.get();
    q.add('a');
    q.add('a');
    expect(await first).toBe('a');
    q.done('a');
    expect(q.length).toBe(0); // not re-queued: the second add was deduplicated before hand-off
  });

  it('addAfter delays, and keeps the earliest time when scheduled twice', async () => {
    vi.useFakeTimers();
    try {
      const { q, metrics } = queue();
      q.addAfter('a', 60);
      q.addAfter('a', 10);
      q.addAfter('a', 200);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(9);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(q.length).toBe(1);
      expect(await q.get()).toBe('a');
      q.done('a');
      vi.advanceTimersByTime(500);
      expect(q.length).toBe(0); // the 60 ms schedule was replaced by 10 ms, the 200 ms ignored
      expect(await metricValue(metrics, 'workqueue_retries_total')).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('addAfter with no delay adds at once', async () => {
    const { q } = queue();
    q.addAfter('a', 0);
    expect(q.length).toBe(1);
  });

  it('addRateLimited backs off exponentially per item and forget resets it', async () => {
    vi.useFakeTimers();
    try {
      const { q } = queue({ rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
      q.addRateLimited('a'); // 10 ms
      expect(q.numRequeues('a')).toBe(1);
      vi.advanceTimersByTime(10);
      expect(await q.get()).toBe('a');
      q.done('a');
      q.addRateLimited('a'); // 20 ms
      q.addRateLimited('b'); // 10 ms: its own counter
      vi.advanceTimersByTime(10);
      expect(q.length).toBe(1);
      expect(await q.get()).toBe('b');
      vi.advanceTimersByTime(10);
      expect(await q.get()).toBe('a');
      expect(q.numRequeues('a')).toBe(2);
      q.forget('a');
      expect(q.numRequeues('a')).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores adds after shutDown and releases idle workers', async () => {
    const { q } = queue();
    const idle = q.get();
    q.shutDown();
    expect(await idle).toBeUndefined();
    q.add('a');
    q.addAfter('b', 1);
    expect(q.length).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('still hands out queued items after shutDown unless discarded', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.shutDown();
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(await q.get()).toBeUndefined();
  });

  it('shutDown({discardPending}) drops queued and scheduled items', async () => {
    const { q, metrics } = queue();
    q.add('a');
    q.addAfter('b', 5);
    q.shutDown({ discardPending: true });
    await tick(15);
    expect(await q.get()).toBeUndefined();
    expect(await metricValue(metrics, 'workqueue_depth')).toBe(0);
  });

  it('shutDownWithDrain waits for in-flight items to be done', async () => {
    const { q } = queue();
    q.add('a');
    const key = await q.get();
    let drained: boolean | undefined;
    const draining = q.shutDownWithDrain({ discardPending: true, timeoutMs: 1000 }).then((d) => {
      drained = d;
    });
    await tick(10);
    expect(drained).toBeUndefined();
    q.done(key!);
    await draining;
    expect(drained).toBe(true);
  });

  it('shutDownWithDrain gives up at its timeout', async () => {
    const { q } = queue();
    q.add('a');
    await q.get();
    expect(await q.shutDownWithDrain({ timeoutMs: 20 })).toBe(false);
  });

  it('done() after a discarded shutdown does not re-queue a re-added item', async () => {
    const { q } = queue();
    q.add('a');
    await q.get();
    q.add('a');
    q.shutDown({ discardPending: true });
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('reports depth, queue and work durations and in-flight gauges', async () => {
    const { q, metrics } = queue();
    q.add('a');
    q.add('b');
    expect(await metricValue(metrics, 'workqueue_depth')).toBe(2);
    const key = await q.get();
    expect(await metricValue(metrics, 'workqueue_depth')).toBe(1);
    await tick(5);
    expect(
      await metricValue(metrics, 'workqueue_longest_running_processor_seconds'),
    ).toBeGreaterThan(0);
    q.done(key!);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /workqueue_queue_duration_seconds_count\{controller="test",name="test"\} 1/,
    );
    expect(text).toMatch(
      /workqueue_work_duration_seconds_count\{controller="test",name="test"\} 1/,
    );
  });

  it('handles long queues without O(n²) behaviour', async () => {
    const { q } = queue();
    for (let i = 0; i < 20_000; i++) q.add(`k${i}`);
    for (let i = 0; i < 20_000; i++) {
      const k = await q.get();
      expect(k).toBe(`k${i}`);
      q.done(k!);
    }
    expect(q.length).toBe(0);
  });
});
