/**
 * Work-queue rate limiters (client-go `workqueue` semantics): how long a failed item waits
 * before its next attempt. The controller default combines a per-item exponential backoff
 * (a broken object backs off alone) with a global token bucket (a storm of failures cannot
 * hammer the API server), taking the longer of the two.
 */
import { type Clock, monotonicNow, TokenBucket } from './rate-limit.js';

export interface RateLimiter {
  /** Milliseconds `item` should wait now; counts as one more failure of it. */
  when(item: string): number;
  /** Forget the item's failures (after a success). */
  forget(item: string): void;
  numRequeues(item: string): number;
}

/** base · 2^failures, capped. */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  readonly #failures = new Map<string, number>();
  constructor(
    readonly baseDelayMs: number,
    readonly maxDelayMs: number,
  ) {}

  when(item: string): number {
    const failures = this.#failures.get(item) ?? 0;
    this.#failures.set(item, failures + 1);
    // 2 ** 1024 is Infinity; min() keeps the cap exact for any count.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 1000));
  }

  forget(item: string): void {
    this.#failures.delete(item);
  }

  numRequeues(item: string): number {
    return this.#failures.get(item) ?? 0;
  }
}

/** A global token bucket: over `qps`, items wait their turn. */
export class BucketRateLimiter implements RateLimiter {
  readonly #bucket: TokenBucket;
  constructor(qps: number, burst: number, now: Clock = monotonicNow) {
    this.#bucket = new TokenBucket(qps, burst, now);
  }
  when(): number {
    return this.#bucket.reserve();
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: readonly RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.#limiters = limiters;
  }
  when(item: string): number {
    // Every limiter must see the failure (each keeps its own state), so no short-circuit.
    return this.#limiters.reduce((max, l) => Math.max(max, l.when(item)), 0);
  }
  forget(item: string): void {
    for (const l of this.#limiters) l.forget(item);
  }
  numRequeues(item: string): number {
    return this.#limiters.reduce((max, l) => Math.max(max, l.numRequeues(item)), 0);
  }
}

export interface ControllerRateLimiterOptions {
  /** First retry delay. Default 5 ms. */
  baseDelayMs?: number;
  /** Per-item cap. Default 15 min. */
  maxDelayMs?: number;
  /** Global retry rate. Default 10/s with a burst of 100 (client-go's defaults). */
  qps?: number;
  burst?: number;
}

/** client-go's DefaultControllerRateLimiter, with the cap at 15 minutes. */
export function defaultControllerRateLimiter(
  options: ControllerRateLimiterOptions = {},
): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialFailureRateLimiter(
      options.baseDelayMs ?? 5,
      options.maxDelayMs ?? 15 * 60_000,
    ),
    new BucketRateLimiter(options.qps ?? 10, options.burst ?? 100),
  );
}
