import { describe, expect, it } from 'vitest';
import { AbandonedError, Admission, ShedError } from './admission.js';
import { Cancellation } from './resilience.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function admission(concurrency: number, maxQueued: number, queueTimeoutMs = 10_000) {
  const waits: number[] = [];
  const shed: string[] = [];
  const value = new Admission({
    concurrency,
    maxQueued,
    queueTimeoutMs,
    onWait: (seconds) => waits.push(seconds),
    onShed: (reason) => shed.push(reason),
  });
  return { admission: value, waits, shed };
}

describe('Admission', () => {
  it('admits up to the limit at once, then queues FIFO and hands each freed slot to the oldest', async () => {
    const { admission: a, waits } = admission(2, 10);
    const first = await a.admit();
    const second = await a.admit();
    expect([a.inFlight, a.queued]).toEqual([2, 0]);
    const order: number[] = [];
    const later = [3, 4, 5].map((n) =>
      a.admit().then((permit) => {
        order.push(n);
        return permit;
      }),
    );
    expect(a.queued).toBe(3);
    first.close();
    second.close();
    await sleep(0);
    expect(order).toEqual([3, 4]);
    expect([a.inFlight, a.queued]).toEqual([2, 1]);
    const [p3, p4, p5] = [later[0], later[1], later[2]];
    (await p3)?.close();
    expect(await p5).toBeDefined();
    (await p4)?.close();
    (await p5)?.close();
    expect([a.inFlight, a.queued]).toEqual([0, 0]);
    expect(waits).toHaveLength(5);
  });

  it('queue full → ShedError queue_full at once', async () => {
    const { admission: a, shed } = admission(1, 1);
    await a.admit();
    const queued = a.admit();
    const refused = a.admit();
    await expect(refused).rejects.toBeInstanceOf(ShedError);
    await expect(refused).rejects.toMatchObject({ reason: 'queue_full' });
    expect(shed).toEqual(['queue_full']);
    expect(a.queued).toBe(1);
    queued.catch(() => {});
  });

  it('a wait beyond the timeout → ShedError queue_timeout, and the queue forgets it', async () => {
    const { admission: a, waits } = admission(1, 5, 50);
    await a.admit();
    await expect(a.admit()).rejects.toMatchObject({ reason: 'queue_timeout' });
    expect(a.queued).toBe(0);
    expect(waits.at(-1)).toBeGreaterThanOrEqual(0.04);
  });

  it('a cancelled waiter leaves the queue, and the slot goes to the next one', async () => {
    const { admission: a } = admission(1, 5);
    const holder = await a.admit();
    const cancellation = new Cancellation();
    const gone = a.admit(cancellation);
    const next = a.admit();
    cancellation.abort();
    await expect(gone).rejects.toBeInstanceOf(AbandonedError);
    expect(a.queued).toBe(1);
    holder.close();
    (await next).close();
    expect(a.inFlight).toBe(0);
  });

  it("an admitted request's further calls go before queued requests, and it never holds two slots waiting", async () => {
    const { admission: a } = admission(2, 10);
    const big = await a.admit();
    const other = await a.admit();
    const events: string[] = [];
    // The big request runs four calls at once: its first uses its slot, the rest wait ahead of the queue.
    const calls = [1, 2, 3, 4].map((n) =>
      big.run(async () => {
        events.push(`call ${n}`);
        await sleep(10);
      }),
    );
    const queued = a.admit().then((permit) => {
      events.push('queued request admitted');
      return permit;
    });
    other.close(); // frees a slot: a continuation gets it, not the queued request
    await Promise.all(calls);
    big.close();
    (await queued).close();
    expect(events.at(-1)).toBe('queued request admitted');
    expect(a.inFlight).toBe(0);
  });

  it('Retry-After grows with the queue ahead and the time calls hold their slots', async () => {
    const { admission: a } = admission(1, 0);
    const permit = await a.admit();
    await permit.run(() => sleep(30));
    permit.close();
    const holder = await a.admit();
    await holder.run(() => sleep(1500));
    const held = await a.admit();
    const refused = await a.admit().catch((error: ShedError) => error);
    expect(refused).toBeInstanceOf(ShedError);
    expect((refused as ShedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    held.close();
  });
});
