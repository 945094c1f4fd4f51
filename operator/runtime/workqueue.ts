/**
 * A rate-limited, deduplicating work queue with client-go semantics:
 *
 * - an item (a `namespace/name` key) is queued at most once, however often it is added;
 * - an item is handed to at most one worker at a time; if it is added again while being
 *   processed, it is queued again when that worker calls `done` — never processed concurrently;
 * - `addRateLimited` retries with the rate limiter's delay, `forget` resets its backoff,
 *   `addAfter` schedules (keeping the earliest time when scheduled twice);
 * - after `shutDown` adds are ignored and idle `get`s return undefined; `shutDownWithDrain`
 *   also waits (bounded) for in-flight items to be `done`.
 */
import { RuntimeMetrics } from './metrics.js';
import { defaultControllerRateLimiter, type RateLimiter } from './queue-rate-limit.js';

export interface WorkQueueOptions {
  /** The queue's `name` metric label. */
  name: string;
  /** The `controller` metric label; defaults to `name` (controller-runtime sets both to the controller name). */
  controller?: string;
  rateLimiter?: RateLimiter;
  metrics?: RuntimeMetrics;
}

export interface ShutDownOptions {
  /** Drop items that are queued but not yet being processed. Level-triggered controllers lose nothing by this: whoever runs next resyncs. Default false. */
  discardPending?: boolean;
}

export class WorkQueue {
  readonly name: string;
  readonly #rateLimiter: RateLimiter;
  readonly #labels: { controller: string; name: string };
  readonly #metrics: RuntimeMetrics;
  readonly #untrack: () => void;

  // FIFO as array + head index: shift() on a large array is O(n).
  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #waiters: Array<(item: string | undefined) => void> = [];
  readonly #delayed = new Map<string, { readyAt: number; timer: NodeJS.Timeout }>();
  readonly #addedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();
  readonly #drainWaiters = new Set<() => void>();
  #shuttingDown = false;
  #dispatchScheduled = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.#labels = { controller: options.controller ?? options.name, name: options.name };
    this.#metrics = options.metrics ?? new RuntimeMetrics();
    this.#untrack = this.#metrics.trackQueue({
      ...this.#labels,
      inFlightSeconds: () => this.#inFlightSeconds(),
    });
    this.#metrics.queueDepth.set(this.#labels, 0);
  }

  /** Items waiting to be handed out (not counting in-flight or delayed ones). */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Items currently handed out and not yet done. */
  get processing(): number {
    return this.#processing.size;
  }

  add(item: string): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#dirty.add(item);
    this.#addedAt.set(item, performance.now());
    this.#metrics.queueAdds.inc(this.#labels);
    this.#updateDepth();
    // In flight: it is re-queued by done(), so one worker never races another on the same item.
    if (this.#processing.has(item)) return;
    this.#push(item);
  }

  addAfter(item: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    this.#metrics.queueRetries.inc(this.#labels);
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const readyAt = performance.now() + delayMs;
    const waiting = this.#delayed.get(item);
    if (waiting && waiting.readyAt <= readyAt) return;
    if (waiting) clearTimeout(waiting.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(item);
      this.add(item);
    }, delayMs);
    this.#delayed.set(item, { readyAt, timer });
  }

  /** Re-adds after the rate limiter's delay for this item (one more failure). */
  addRateLimited(item: string): void {
    if (this.#shuttingDown) return;
    this.addAfter(item, this.#rateLimiter.when(item));
  }

  /** Resets the item's backoff; call after it was processed successfully. */
  forget(item: string): void {
    this.#rateLimiter.forget(item);
  }

  numRequeues(item: string): number {
    return this.#rateLimiter.numRequeues(item);
  }

  /** The next item to process (caller must call `done`), or undefined once shut down and empty. */
  get(): Promise<string | undefined> {
    if (this.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks the item processed; if it was added meanwhile, it is queued again now. */
  done(item: string): void {
    if (!this.#processing.delete(item)) return;
    const started = this.#startedAt.get(item);
    this.#startedAt.delete(item);
    if (started !== undefined) {
      this.#metrics.workDuration.observe(this.#labels, (performance.now() - started) / 1000);
    }
    if (this.#dirty.has(item)) this.#push(item);
    this.#checkDrained();
  }

  shutDown(options: ShutDownOptions = {}): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    if (options.discardPending) {
      this.#queue = [];
      this.#head = 0;
      this.#dirty.clear();
      this.#addedAt.clear();
      this.#updateDepth();
    }
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    this.#checkDrained();
  }

  /**
   * Shuts down and waits until every handed-out item is done (and, unless discarded, every
   * queued item was handed out and done). Resolves false if `timeoutMs` passed first.
   */
  async shutDownWithDrain(
    options: ShutDownOptions & { timeoutMs?: number } = {},
  ): Promise<boolean> {
    this.shutDown(options);
    if (this.#drained()) return true;
    return new Promise<boolean>((resolve) => {
      const timer =
        options.timeoutMs !== undefined
          ? setTimeout(() => {
              this.#drainWaiters.delete(onDrained);
              resolve(false);
            }, options.timeoutMs)
          : undefined;
      const onDrained = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#drainWaiters.add(onDrained);
    });
  }

  /** Releases the metrics hook; call when the queue is discarded. */
  dispose(): void {
    this.#untrack();
  }

  #push(item: string): void {
    this.#queue.push(item);
    // Hand-off happens on a microtask, as a Go worker wakes asynchronously: several adds in one
    // synchronous burst (e.g. the old and new owner of an update) still collapse into one item.
    if (this.#waiters.length > 0 && !this.#dispatchScheduled) {
      this.#dispatchScheduled = true;
      queueMicrotask(() => {
        this.#dispatchScheduled = false;
        while (this.#waiters.length > 0 && this.length > 0) this.#waiters.shift()!(this.#take());
      });
    }
  }

  #take(): string {
    const item = this.#queue[this.#head]!;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(item);
    this.#processing.add(item);
    const now = performance.now();
    const added = this.#addedAt.get(item);
    this.#addedAt.delete(item);
    if (added !== undefined) {
      this.#metrics.queueDuration.observe(this.#labels, (now - added) / 1000);
    }
    this.#startedAt.set(item, now);
    this.#updateDepth();
    return item;
  }

  #drained(): boolean {
    return this.#processing.size === 0 && this.length === 0;
  }

  #checkDrained(): void {
    if (!this.#shuttingDown || !this.#drained()) return;
    for (const resolve of [...this.#drainWaiters]) resolve();
    this.#drainWaiters.clear();
  }

  #updateDepth(): void {
    this.#metrics.queueDepth.set(this.#labels, this.#dirty.size);
  }

  #inFlightSeconds(): { total: number; longest: number } {
    const now = performance.now();
    let total = 0;
    let longest = 0;
    for (const started of this.#startedAt.values()) {
      const seconds = (now - started) / 1000;
      total += seconds;
      longest = Math.max(longest, seconds);
    }
    return { total, longest };
  }
}
