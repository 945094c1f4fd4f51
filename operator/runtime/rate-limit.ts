/**
 * A token bucket (golang.org/x/time/rate semantics): `qps` tokens per second refill a bucket
 * of `burst`; a reservation may drive the balance negative and returns how long to wait.
 * Used by the REST client (client-side throttling) and by the work queue's global limit.
 */

export type Clock = () => number;

/** Monotonic milliseconds; wall-clock jumps must not starve or flood the bucket. */
export const monotonicNow: Clock = () => performance.now();

export class TokenBucket {
  #tokens: number;
  #last: number;

  /** `qps` ≤ 0 or Infinity disables limiting. */
  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: Clock = monotonicNow,
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  get unlimited(): boolean {
    return !(this.qps > 0) || this.qps === Number.POSITIVE_INFINITY;
  }

  #refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.qps) / 1000);
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    if (this.unlimited) return true;
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Takes a token unconditionally and returns the milliseconds to wait before using it. */
  reserve(): number {
    if (this.unlimited) return 0;
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.qps;
  }

  /** Gives back a reserved token that will not be used (e.g. the caller gave up waiting). */
  cancel(): void {
    if (!this.unlimited) this.#tokens = Math.min(this.burst, this.#tokens + 1);
  }

  /** Waits for a token; returns the milliseconds waited. Rejects with the signal's reason if aborted. */
  async take(signal?: AbortSignal): Promise<number> {
    const wait = this.reserve();
    if (wait <= 0) return 0;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        this.cancel();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return wait;
  }
}
