/**
 * The reflector's in-memory cache of one watched kind: objects by `namespace/name`, plus
 * optional secondary indexes (e.g. children by their controller owner's UID, so a reconcile
 * finds what it owns without an API call).
 *
 * Objects handed out are the cached instances: treat them as read-only (copy before editing).
 */
import { controllerOf, type KubeObject, keyOf } from './resource.js';

/** Returns the index values an object is filed under (none → not indexed). */
export type IndexFunc<T> = (obj: T) => string[];

/** The read side, what controllers and reconcilers get. */
export interface ReadonlyStore<T extends KubeObject> {
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: string): T | undefined;
  /** All objects, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects filed under `value` in the index `indexName`. */
  byIndex(indexName: string, value: string): T[];
  readonly size: number;
}

export const CONTROLLER_OWNER_UID_INDEX = 'controllerOwnerUid';

/** Files an object under its controller owner's UID. */
export const indexByControllerOwnerUid: IndexFunc<KubeObject> = (obj) => {
  const owner = controllerOf(obj);
  return owner ? [owner.uid] : [];
};

export interface ReplaceResult<T> {
  added: T[];
  updated: Array<{ oldObj: T; newObj: T }>;
  deleted: T[];
}

export class Store<T extends KubeObject> implements ReadonlyStore<T> {
  readonly #items = new Map<string, T>();
  readonly #indexers: Map<string, IndexFunc<T>>;
  /** index name → value → keys */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    this.#indexers = new Map(Object.entries(indexers));
    for (const name of this.#indexers.keys()) this.#indexes.set(name, new Map());
  }

  /** Adds indexes (e.g. when a second consumer of a shared cache needs one); existing objects are indexed now. */
  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.#indexers.has(name)) continue;
      this.#indexers.set(name, fn);
      this.#indexes.set(name, new Map());
    }
    for (const [key, obj] of this.#items) {
      this.#unindex(key, obj);
      this.#index(key, obj);
    }
  }

  get size(): number {
    return this.#items.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.#items.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.#indexes.get(indexName);
    if (!index) throw new Error(`no index named ${indexName}`);
    const keys = index.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.#items.get(k)).filter((o): o is T => o !== undefined);
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    this.#items.set(key, obj);
    this.#index(key, obj);
    return old;
  }

  /** Removes; returns the removed object. */
  remove(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  /** Swaps in a complete new set (after a relist) and reports what changed. Unchanged resourceVersions are not "updated". */
  replace(objects: readonly T[]): ReplaceResult<T> {
    const result: ReplaceResult<T> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of objects) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.upsert(obj);
      if (!old) result.added.push(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        result.updated.push({ oldObj: old, newObj: obj });
      }
    }
    for (const [key, obj] of [...this.#items]) {
      if (!seen.has(key)) {
        this.#unindex(key, obj);
        this.#items.delete(key);
        result.deleted.push(obj);
      }
    }
    return result;
  }

  #index(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value) ?? new Set<string>();
        keys.add(key);
        index.set(value, keys);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
