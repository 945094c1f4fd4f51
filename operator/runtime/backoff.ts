/**
 * Backoff policies as values (kube-rs style): every retry loop in the runtime takes one, so
 * production uses sane defaults and tests pass tiny ones.
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Nominal cap; jitter may put a delay up to `maxMs * (1 + jitter)`. */
  readonly maxMs: number;
  /** Growth per consecutive failure. */
  readonly factor: number;
  /** Fraction in [0, 1]: a delay d becomes uniform in [d·(1−jitter), d·(1+jitter)] so many clients do not retry in lockstep. */
  readonly jitter: number;
}

/** What client-go's reflector uses for list/watch failures: 800 ms doubling to 30 s. */
export const defaultWatchBackoff: BackoffPolicy = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
};

/** The nominal delay (no jitter) before retry number `attempt` (0-based). */
export function nominalDelay(policy: BackoffPolicy, attempt: number): number {
  // Exponent clamped so factor ** attempt never overflows to Infinity·0 = NaN.
  const exp = Math.min(Math.max(attempt, 0), 1000);
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** exp);
}

/** `ms` spread uniformly by ±jitter. */
export function jittered(ms: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0) return ms;
  return ms * (1 - jitter + 2 * jitter * random());
}

/** Stateful counter over a policy: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  #attempt = 0;
  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const delay = nominalDelay(this.policy, this.#attempt);
    this.#attempt += 1;
    return jittered(delay, this.policy.jitter, this.random);
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}

/** Resolves after `ms`, or early (never rejects) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
