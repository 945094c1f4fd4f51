/**
 * Informer = watcher → reflector (store) → handlers, for one kind (and optional namespace /
 * selectors). Handlers see add/update/delete against the cache; every `resyncPeriodMs` they
 * see an update(obj, obj) for every cached object, so level-triggered consumers re-check the
 * world even when nothing changed (and notice drift the API cannot tell them about).
 */

import type { KubeClient } from './client.js';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';
import type { KubeObject, ResourceDescriptor } from './resource.js';
import { type IndexFunc, type ReadonlyStore, Store } from './store.js';
import { Watcher, type WatcherEvent, type WatcherOptions } from './watcher.js';

export interface EventHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject>
  extends Omit<WatcherOptions, 'initialResourceVersion'> {
  /** Re-deliver every cached object as an update this often; 0 disables. Default 10 min. */
  resyncPeriodMs?: number;
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /**
   * Applied to every object before it enters the cache (controller-runtime's cache
   * transform): drop what no consumer reads — managedFields above all, often half an
   * object's size — to bound the memory of large caches. Default: {@link stripManagedFields}.
   */
  transform?: (obj: T) => T;
}

/** The default cache transform: objects without metadata.managedFields. */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export class Informer<T extends KubeObject> {
  readonly resource: ResourceDescriptor;
  readonly #store: Store<T>;
  readonly #watcher: Watcher<T>;
  readonly #handlers = new Set<EventHandler<T>>();
  readonly #resyncPeriodMs: number;
  readonly #transform: (obj: T) => T;
  readonly #log: RuntimeLogger;
  #abort: AbortController | undefined;
  #running: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #synced = false;
  readonly #syncWaiters = new Set<() => void>();

  constructor(client: KubeClient, resource: ResourceDescriptor, options: InformerOptions<T> = {}) {
    this.resource = resource;
    this.#store = new Store<T>(options.indexers);
    this.#watcher = new Watcher<T>(client, resource, options);
    this.#resyncPeriodMs = options.resyncPeriodMs ?? 600_000;
    this.#transform = options.transform ?? stripManagedFields;
    this.#log = (options.logger ?? silentLogger).child({ informer: resource.plural });
  }

  get store(): ReadonlyStore<T> {
    return this.#store;
  }

  /** Adds secondary indexes to the cache (see {@link Store.addIndexers}). */
  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    this.#store.addIndexers(indexers);
  }

  /** True once the first complete list is in the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Subscribes; with `replay` (default) the handler first gets onAdd for every cached object,
   * as a late subscriber (a controller starting on leadership) must see the existing world.
   * Returns the unsubscribe function.
   */
  addHandler(handler: EventHandler<T>, options: { replay?: boolean } = {}): () => void {
    this.#handlers.add(handler);
    if (options.replay ?? true) {
      for (const obj of this.#store.list()) this.#call(() => handler.onAdd?.(obj));
    }
    return () => this.#handlers.delete(handler);
  }

  start(): void {
    if (this.#running) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = this.#watcher.run(abort.signal, (event) => this.#apply(event));
    if (this.#resyncPeriodMs > 0) {
      this.#resyncTimer = setInterval(() => this.#resync(), this.#resyncPeriodMs);
      this.#resyncTimer.unref();
    }
  }

  /** Stops watching; the cache keeps its last contents. */
  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    this.#abort?.abort();
    await this.#running;
    this.#running = undefined;
    for (const resolve of this.#syncWaiters) resolve();
  }

  /** Resolves true once synced, false if `signal` aborts (or the informer stops) first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        this.#syncWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve(this.#synced);
      };
      this.#syncWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #apply(event: WatcherEvent<T>): void {
    switch (event.type) {
      case 'restarted': {
        const { added, updated, deleted } = this.#store.replace(event.objects.map(this.#transform));
        this.#log.debug(
          {
            objects: event.objects.length,
            added: added.length,
            updated: updated.length,
            deleted: deleted.length,
          },
          'cache (re)listed',
        );
        for (const obj of added) this.#emit((h) => h.onAdd?.(obj));
        for (const { oldObj, newObj } of updated) this.#emit((h) => h.onUpdate?.(oldObj, newObj));
        for (const obj of deleted) this.#emit((h) => h.onDelete?.(obj));
        if (!this.#synced) {
          this.#synced = true;
          for (const resolve of this.#syncWaiters) resolve();
        }
        return;
      }
      case 'applied': {
        const object = this.#transform(event.object);
        const old = this.#store.upsert(object);
        if (old) this.#emit((h) => h.onUpdate?.(old, object));
        else this.#emit((h) => h.onAdd?.(object));
        return;
      }
      case 'deleted': {
        const object = this.#transform(event.object);
        this.#store.remove(object);
        this.#emit((h) => h.onDelete?.(object));
        return;
      }
    }
  }

  #resync(): void {
    if (!this.#synced) return;
    for (const obj of this.#store.list()) this.#emit((h) => h.onUpdate?.(obj, obj));
  }

  #emit(fn: (handler: EventHandler<T>) => void): void {
    for (const handler of this.#handlers) this.#call(() => fn(handler));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // One faulty consumer must not break the cache or the other consumers.
      this.#log.error(errorFields(err), 'informer event handler threw');
    }
  }
}
