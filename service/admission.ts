/**
 * Admission in front of LM Studio (docs/api.md#limits): at most `concurrency` LM Studio
 * calls in flight, and a bounded FIFO queue of summary requests waiting for
 * their first slot. A request is refused (ShedError → 429) only when the queue
 * is full on arrival or when it has waited `queueTimeoutMs`; a waiting request
 * whose client went away leaves the queue.
 *
 * An admitted request holds a Permit. Its first call uses the slot it was
 * admitted with; its further calls (the chunks of a long text, the combining
 * call) wait ahead of the queue, so a request that has started is finished
 * before new ones start, and it never holds one slot while waiting for another
 * (no deadlock however many chunks run at once).
 *
 * Knows nothing of HTTP or Prometheus; the counts are read by the metrics.
 */
import type { Cancellation } from './resilience.js';

export type ShedReason = 'queue_full' | 'queue_timeout';

export class ShedError extends Error {
  constructor(
    readonly reason: ShedReason,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'ShedError';
  }
}

/** The client went away while its request was waiting. */
export class AbandonedError extends Error {
  constructor() {
    super('the client went away while its request was queued');
    this.name = 'AbandonedError';
  }
}

export interface AdmissionOptions {
  concurrency: number;
  maxQueued: number;
  queueTimeoutMs: number;
  /** Time waited before admission or shedding, in seconds (summary_queue_wait_seconds). */
  onWait?: (seconds: number) => void;
  onShed?: (reason: ShedReason) => void;
  now?: () => number;
}

interface Waiter {
  grant: () => void;
}

/** Seconds a shed client is told to wait at least, and at most. */
const RETRY_AFTER_MIN_SECONDS = 1;
const RETRY_AFTER_MAX_SECONDS = 60;
/** Weight of the newest call in the moving average of slot hold times. */
const HOLD_AVERAGE_WEIGHT = 0.2;

export class Admission {
  readonly #options: AdmissionOptions;
  readonly #now: () => number;
  #inFlight = 0;
  /** Calls of admitted requests waiting for a slot: served first. */
  readonly #continuations: Waiter[] = [];
  /** Requests waiting for admission, oldest first. */
  readonly #queue: Waiter[] = [];
  /** Moving average of how long a call holds a slot (ms), for Retry-After. */
  #averageHoldMs = 0;

  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** LM Studio calls in flight (slots taken). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests waiting for admission. */
  get queued(): number {
    return this.#queue.length;
  }

  get concurrency(): number {
    return this.#options.concurrency;
  }

  get capacity(): number {
    return this.#options.maxQueued;
  }

  /**
   * Waits for a slot (FIFO, bounded). Throws ShedError when the queue is full or
   * the wait exceeded its limit, AbandonedError when `cancellation` fires first.
   */
  admit(cancellation?: Cancellation): Promise<Permit> {
    const { concurrency, maxQueued, queueTimeoutMs } = this.#options;
    const started = this.#now();
    if (
      this.#inFlight < concurrency &&
      this.#queue.length === 0 &&
      this.#continuations.length === 0
    ) {
      this.#inFlight += 1;
      this.#options.onWait?.(0);
      return Promise.resolve(new Permit(this));
    }
    if (this.#queue.length >= maxQueued) {
      return Promise.reject(
        this.#shed(
          'queue_full',
          started,
          `The service is at its limit: ${concurrency} LM Studio calls in flight and ${maxQueued} requests waiting; retry later`,
        ),
      );
    }
    if (cancellation?.aborted) return Promise.reject(new AbandonedError());
    return new Promise<Permit>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        cancellation?.off('abort', onAbort);
        const index = this.#queue.indexOf(waiter);
        if (index !== -1) this.#queue.splice(index, 1);
      };
      const onAbort = () => {
        leave();
        reject(new AbandonedError());
      };
      const waiter: Waiter = {
        grant: () => {
          leave();
          this.#options.onWait?.((this.#now() - started) / 1000);
          resolve(new Permit(this));
        },
      };
      const timer = setTimeout(() => {
        leave();
        reject(
          this.#shed(
            'queue_timeout',
            started,
            `The request waited ${queueTimeoutMs / 1000}s for LM Studio without getting a turn; retry later`,
          ),
        );
      }, queueTimeoutMs);
      cancellation?.once('abort', onAbort);
      this.#queue.push(waiter);
    });
  }

  /** @internal A further call of an admitted request: waits ahead of the queue. */
  acquireContinuation(cancellation?: Cancellation): Promise<void> {
    if (this.#inFlight < this.#options.concurrency && this.#continuations.length === 0) {
      this.#inFlight += 1;
      return Promise.resolve();
    }
    if (cancellation?.aborted) return Promise.reject(new AbandonedError());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.#continuations.indexOf(waiter);
        if (index !== -1) this.#continuations.splice(index, 1);
        reject(new AbandonedError());
      };
      const waiter: Waiter = {
        grant: () => {
          cancellation?.off('abort', onAbort);
          resolve();
        },
      };
      cancellation?.once('abort', onAbort);
      this.#continuations.push(waiter);
    });
  }

  /** @internal A slot is given back: the next continuation, else the oldest queued request, gets it. */
  release(heldMs: number | undefined): void {
    if (heldMs !== undefined) {
      this.#averageHoldMs =
        this.#averageHoldMs === 0
          ? heldMs
          : this.#averageHoldMs + HOLD_AVERAGE_WEIGHT * (heldMs - this.#averageHoldMs);
    }
    const next = this.#continuations.shift() ?? this.#queue[0];
    // The slot passes straight to the next waiter: inFlight is unchanged.
    if (next !== undefined) next.grant();
    else this.#inFlight -= 1;
  }

  #shed(reason: ShedReason, started: number, message: string): ShedError {
    this.#options.onWait?.((this.#now() - started) / 1000);
    this.#options.onShed?.(reason);
    // How long until the queue ahead has drained, at the recent pace.
    const seconds =
      ((this.#queue.length + 1) / this.#options.concurrency) * (this.#averageHoldMs / 1000);
    const retryAfter = Math.min(
      RETRY_AFTER_MAX_SECONDS,
      Math.max(RETRY_AFTER_MIN_SECONDS, Math.ceil(seconds)),
    );
    return new ShedError(reason, message, retryAfter);
  }
}

/**
 * An admitted request's right to call LM Studio. `run` wraps each call; `close`
 * gives back the admission slot if no call used it (e.g. the request failed
 * before its first call). Both are safe to call in any order.
 */
export class Permit {
  readonly #admission: Admission;
  /** The slot granted at admission, not yet used by a call. */
  #reserved = true;
  #closed = false;

  constructor(admission: Admission) {
    this.#admission = admission;
  }

  async run<T>(call: () => Promise<T>, cancellation?: Cancellation): Promise<T> {
    if (this.#closed) throw new Error('Permit.run after close');
    if (this.#reserved) this.#reserved = false;
    else await this.#admission.acquireContinuation(cancellation);
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.#admission.release(performance.now() - started);
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#reserved) {
      this.#reserved = false;
      this.#admission.release(undefined);
    }
  }
}
