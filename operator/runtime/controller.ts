/**
 * A controller (controller-runtime style): watches feed a work queue of requests; N workers
 * take requests and call the level-triggered {@link Reconciler}. Errors requeue with backoff,
 * results may ask for a later requeue, and every outcome is counted in controller_runtime_*.
 */
import { randomUUID } from 'node:crypto';
import { enqueueRequestForObject, enqueueRequestForOwner, type MapFunc } from './handler.js';
import type { Informer } from './informer.js';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import type { RateLimiter } from './queue-rate-limit.js';
import { type KubeObject, keyOf, type Request, requestFromKey } from './resource.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileContext {
  /** Aborted when the controller is stopped for good (drain timeout) or the reconcile timeout passes. */
  signal: AbortSignal;
  /** Bound to controller, namespace, name and a per-attempt reconcileID. */
  logger: RuntimeLogger;
  /** Consecutive failed attempts of this request so far (0 on a clean attempt). */
  retries: number;
}

export interface ReconcileResult {
  /** Reconcile again after this long (success: backoff is reset). */
  requeueAfterMs?: number;
  /** Reconcile again soon, with backoff, without counting an error. */
  requeue?: boolean;
}

/** Level-triggered: read the current state for `request` and converge; never trust the event. */
export interface Reconciler {
  // biome-ignore lint/suspicious/noConfusingVoidType: lets `async reconcile() {}` with no return value implement it.
  reconcile(request: Request, ctx: ReconcileContext): Promise<ReconcileResult | undefined | void>;
}

/** An informer plus how its events map to requests. */
export interface Source {
  informer: Informer<KubeObject>;
  map: MapFunc;
  /** Filter: return false to ignore an event (oldObj is undefined for add/delete). */
  predicate?: (oldObj: KubeObject | undefined, newObj: KubeObject) => boolean;
}

/** Builds a {@link Source} with the informer's own object type in the map function. */
export function watchSource<T extends KubeObject>(
  informer: Informer<T>,
  map: MapFunc<T>,
  predicate?: (oldObj: T | undefined, newObj: T) => boolean,
): Source {
  return {
    informer: informer as unknown as Informer<KubeObject>,
    map: map as MapFunc,
    predicate: predicate as Source['predicate'],
  };
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** The primary resource: its events enqueue the object itself. */
  for: Informer<KubeObject>;
  /** Filter for the primary's events (e.g. ignore status-only updates). */
  forPredicate?: Source['predicate'];
  /** Resources whose controller owner is of the primary kind: their events enqueue that owner. */
  owns?: Informer<KubeObject>[];
  /** Anything else, with its own mapping. */
  watches?: Source[];
  /** Workers. Default 1. Distinct requests run in parallel; one request never runs twice at once. */
  maxConcurrentReconciles?: number;
  rateLimiter?: RateLimiter;
  /** Aborts a reconcile's signal after this long; 0 = no limit. Default 0. */
  reconcileTimeoutMs?: number;
  metrics?: RuntimeMetrics;
  logger?: RuntimeLogger;
}

export class Controller {
  readonly name: string;
  readonly #options: ControllerOptions;
  readonly #metrics: RuntimeMetrics;
  readonly #log: RuntimeLogger;
  readonly #workers: number;
  #queue: WorkQueue | undefined;
  #unsubscribe: Array<() => void> = [];
  #running: Promise<void>[] = [];
  #hardStop = new AbortController();

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#metrics = options.metrics ?? new RuntimeMetrics();
    this.#log = (options.logger ?? silentLogger).child({ controller: options.name });
    this.#workers = Math.max(1, options.maxConcurrentReconciles ?? 1);
  }

  get started(): boolean {
    return this.#queue !== undefined;
  }

  /** The live queue (undefined while stopped): exposed for tests and diagnostics. */
  get queue(): WorkQueue | undefined {
    return this.#queue;
  }

  /** Enqueues a request from outside the watches (e.g. a periodic external probe). Ignored while stopped. */
  enqueue(request: Request, afterMs = 0): void {
    const key = keyOf(request);
    if (afterMs > 0) this.#queue?.addAfter(key, afterMs);
    else this.#queue?.add(key);
  }

  /** Subscribes to the sources (replaying their caches) and starts the workers. */
  start(): void {
    if (this.#queue) return;
    const queue = new WorkQueue({
      name: this.name,
      rateLimiter: this.#options.rateLimiter,
      metrics: this.#metrics,
    });
    this.#queue = queue;
    this.#hardStop = new AbortController();
    const primary = this.#options.for;
    const ownerKind = {
      group: primary.resource.group,
      kind: primary.resource.kind,
      namespaced: primary.resource.namespaced,
    };
    const sources: Source[] = [
      { informer: primary, map: enqueueRequestForObject, predicate: this.#options.forPredicate },
      ...(this.#options.owns ?? []).map((informer) => ({
        informer,
        map: enqueueRequestForOwner(ownerKind),
      })),
      ...(this.#options.watches ?? []),
    ];
    for (const source of sources) this.#unsubscribe.push(this.#subscribe(source, queue));
    this.#metrics.maxConcurrentReconciles.set({ controller: this.name }, this.#workers);
    this.#metrics.activeWorkers.set({ controller: this.name }, 0);
    this.#running = Array.from({ length: this.#workers }, () => this.#work(queue));
    this.#log.info({ workers: this.#workers }, 'controller started');
  }

  /**
   * Stops taking new work (queued requests are dropped: level-triggered, the next leader
   * resyncs), waits up to `drainTimeoutMs` for in-flight reconciles, then aborts their signal.
   * Resolves true if everything in flight finished in time.
   */
  async stop(drainTimeoutMs = 30_000): Promise<boolean> {
    const queue = this.#queue;
    if (!queue) return true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    const drained = await queue.shutDownWithDrain({
      discardPending: true,
      timeoutMs: drainTimeoutMs,
    });
    if (!drained) {
      this.#log.warn(
        { inFlight: queue.processing },
        'reconciles still running at drain deadline; aborting them',
      );
      this.#hardStop.abort(new Error('controller stopped'));
    }
    // Aborted reconciles get a moment to unwind; a reconciler ignoring its signal cannot block shutdown.
    await Promise.race([
      Promise.all(this.#running),
      new Promise((r) => setTimeout(r, drained ? 0 : 1000).unref()),
    ]);
    queue.dispose();
    this.#queue = undefined;
    this.#log.info({ drained }, 'controller stopped');
    return drained;
  }

  #subscribe(source: Source, queue: WorkQueue): () => void {
    const enqueue = (...objects: KubeObject[]) => {
      const keys = new Set(objects.flatMap((obj) => source.map(obj).map((r) => keyOf(r))));
      for (const key of keys) queue.add(key);
    };
    return source.informer.addHandler({
      onAdd: (obj) => {
        if (!source.predicate || source.predicate(undefined, obj)) enqueue(obj);
      },
      onUpdate: (oldObj, newObj) => {
        if (source.predicate && !source.predicate(oldObj, newObj)) return;
        // Both: if an owner reference changed, the former owner must hear about it too.
        enqueue(oldObj, newObj);
      },
      onDelete: (obj) => {
        if (!source.predicate || source.predicate(undefined, obj)) enqueue(obj);
      },
    });
  }

  async #work(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await this.#reconcileOne(queue, key);
      // A reconcile that needs no I/O completes in microtasks; without this, a burst of
      // them (a resync) would starve timers and sockets — /healthz included.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async #reconcileOne(queue: WorkQueue, key: string): Promise<void> {
    const labels = { controller: this.name };
    const request = requestFromKey(key);
    const reconcileID = randomUUID();
    const logger = this.#log.child({
      namespace: request.namespace,
      name: request.name,
      reconcileID,
    });
    const timeoutMs = this.#options.reconcileTimeoutMs ?? 0;
    const signal =
      timeoutMs > 0
        ? AbortSignal.any([this.#hardStop.signal, AbortSignal.timeout(timeoutMs)])
        : this.#hardStop.signal;
    this.#metrics.activeWorkers.inc(labels);
    const started = performance.now();
    try {
      const result = await this.#options.reconciler.reconcile(request, {
        signal,
        logger,
        retries: queue.numRequeues(key),
      });
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        queue.forget(key);
        queue.addAfter(key, result.requeueAfterMs);
        this.#metrics.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else if (result?.requeue) {
        queue.addRateLimited(key);
        this.#metrics.reconcileTotal.inc({ ...labels, result: 'requeue' });
      } else {
        queue.forget(key);
        this.#metrics.reconcileTotal.inc({ ...labels, result: 'success' });
      }
    } catch (err) {
      queue.addRateLimited(key);
      this.#metrics.reconcileTotal.inc({ ...labels, result: 'error' });
      this.#metrics.reconcileErrors.inc(labels);
      logger.error(
        { ...errorFields(err), retries: queue.numRequeues(key) },
        'reconcile failed; requeued with backoff',
      );
    } finally {
      this.#metrics.reconcileTime.observe(labels, (performance.now() - started) / 1000);
      this.#metrics.activeWorkers.dec(labels);
      queue.done(key);
    }
  }
}
