/**
 * Kubernetes Events for what a controller does, via the events.k8s.io/v1 API.
 *
 * Why events.k8s.io/v1 and not core/v1: it is the GA successor (client-go's newer
 * `tools/events` recorder uses it), and it has first-class fields for exactly what we report —
 * `reportingController`/`reportingInstance`, `action`, `note`, and `series` for repeats.
 * The API server stores one kind of Event, so `kubectl get events` and `kubectl describe`
 * show these like any other.
 *
 * Repeats of an identical event (same object, type, reason, action, note) within
 * `seriesWindowMs` do not create new objects: they increment the first event's series count,
 * written at most every `flushIntervalMs`. New events per object are also rate limited
 * (client-go's spam filter: burst 25, one more per 5 min). Recording never throws and never
 * waits on the API: writes happen in the background and failures are only logged.
 */
import type { KubeClient } from './client.js';
import { isNotFound } from './errors.js';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';
import { formatMicroTime, nowMicros } from './microtime.js';
import { TokenBucket } from './rate-limit.js';
import { builtin, type KubeObject } from './resource.js';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventSeries {
  count: number;
  lastObservedTime: string;
}

/** An events.k8s.io/v1 Event. */
export interface KubeEvent extends KubeObject {
  eventTime: string;
  series?: EventSeries;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  note?: string;
  type: EventType;
}

/** Where events go; the default writes through a KubeClient, tests may capture them. */
export interface EventSink {
  create(event: KubeEvent): Promise<KubeEvent>;
  updateSeries(namespace: string, name: string, series: EventSeries): Promise<void>;
}

export function clientEventSink(client: KubeClient): EventSink {
  return {
    create: (event) => client.create<KubeEvent>(builtin.events, event),
    updateSeries: async (namespace, name, series) => {
      await client.patch(builtin.events, name, namespace, { series }, { type: 'merge' });
    },
  };
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** Who reports, e.g. `llmplan.io/operator` (≤ 128 characters). */
  reportingController: string;
  /** Which replica reports, e.g. the pod name or leader identity (≤ 128 characters). */
  reportingInstance: string;
  logger?: RuntimeLogger;
  /** Identical events this close together join a series. Default 6 min (client-go). */
  seriesWindowMs?: number;
  /** How often series counts are written. Default 30 s. */
  flushIntervalMs?: number;
  /** New events allowed per object at once. Default 25. */
  perObjectBurst?: number;
  /** One more new event per object per this interval. Default 5 min. */
  perObjectRefillMs?: number;
  /** Writes waiting at most; beyond, new events are dropped (and logged). Default 5000. */
  maxPending?: number;
  /** Event writes in flight at once. Default 4. */
  concurrency?: number;
  /** Epoch microseconds; tests inject a clock. */
  nowMicros?: () => number;
}

interface SeriesEntry {
  namespace: string;
  name: string | undefined;
  count: number;
  written: number;
  lastObservedMicros: number;
}

type Write = () => Promise<void>;

const MAX_NOTE_BYTES = 1024;
const MAX_CACHE = 4096;

export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  readonly #log: RuntimeLogger;
  readonly #now: () => number;
  readonly #series = new Map<string, SeriesEntry>();
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #pending: Write[] = [];
  #active = 0;
  readonly #idleWaiters = new Set<() => void>();
  #flushTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: EventRecorderOptions) {
    this.#opts = options;
    this.#log = (options.logger ?? silentLogger).child({ component: 'events' });
    this.#now = options.nowMicros ?? nowMicros;
  }

  /** Records an event about `regarding`. Never throws; the write happens in the background. */
  record(
    regarding: KubeObject,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: KubeObject,
  ): void {
    try {
      this.#record(regarding, type, reason, action, note, related);
    } catch (err) {
      this.#log.warn(errorFields(err), 'could not record event');
    }
  }

  /** Writes pending series counts now and waits for all queued writes. */
  async flush(): Promise<void> {
    // Creates first: a series is only scheduled once its event exists.
    await this.#idle();
    this.#flushSeries();
    await this.#idle();
  }

  /** Final flush (bounded), then further records are ignored. */
  async stop(timeoutMs = 5000): Promise<void> {
    clearInterval(this.#flushTimer);
    this.#flushTimer = undefined;
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.#stopped = true;
  }

  #record(
    regarding: KubeObject,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related: KubeObject | undefined,
  ): void {
    if (this.#stopped) return;
    const now = this.#now();
    const ref = referenceTo(regarding);
    const objectKey = ref.uid ?? `${ref.kind}/${ref.namespace}/${ref.name}`;
    const key = JSON.stringify([
      objectKey,
      type,
      reason,
      action,
      note,
      related?.metadata.uid ?? '',
    ]);
    const windowMicros = (this.#opts.seriesWindowMs ?? 360_000) * 1000;
    const entry = this.#series.get(key);
    if (entry && now - entry.lastObservedMicros <= windowMicros) {
      entry.count += 1;
      entry.lastObservedMicros = now;
      this.#ensureFlushTimer();
      return;
    }
    if (!this.#allow(objectKey)) {
      this.#log.debug({ reason, object: objectKey }, 'event dropped by the per-object rate limit');
      return;
    }
    const namespace = ref.namespace || 'default';
    const fresh: SeriesEntry = {
      namespace,
      name: undefined,
      count: 1,
      written: 1,
      lastObservedMicros: now,
    };
    this.#series.delete(key);
    this.#series.set(key, fresh);
    this.#evictOld(now - windowMicros);
    const event: KubeEvent = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: eventName(ref.name ?? 'object', now), namespace },
      eventTime: formatMicroTime(now),
      reportingController: this.#opts.reportingController,
      reportingInstance: this.#opts.reportingInstance,
      action,
      reason,
      type,
      regarding: ref,
      ...(related ? { related: referenceTo(related) } : {}),
      note: truncateUtf8(note, MAX_NOTE_BYTES),
    };
    this.#enqueue(async () => {
      try {
        const created = await this.#opts.sink.create(event);
        fresh.name = created.metadata.name ?? event.metadata.name;
      } catch (err) {
        // Without an object to count on, repeats must start over with a new event.
        if (this.#series.get(key) === fresh) this.#series.delete(key);
        throw err;
      }
    });
  }

  #allow(objectKey: string): boolean {
    let bucket = this.#buckets.get(objectKey);
    if (!bucket) {
      const refillMs = this.#opts.perObjectRefillMs ?? 300_000;
      bucket = new TokenBucket(1000 / refillMs, this.#opts.perObjectBurst ?? 25);
      this.#buckets.set(objectKey, bucket);
      if (this.#buckets.size > MAX_CACHE) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    return bucket.tryTake();
  }

  #ensureFlushTimer(): void {
    if (this.#flushTimer || this.#stopped) return;
    this.#flushTimer = setInterval(() => this.#flushSeries(), this.#opts.flushIntervalMs ?? 30_000);
    this.#flushTimer.unref();
  }

  #flushSeries(): void {
    for (const [key, entry] of this.#series) {
      if (entry.count === entry.written || entry.name === undefined) continue;
      const { namespace, name } = entry;
      const series = {
        count: entry.count,
        lastObservedTime: formatMicroTime(entry.lastObservedMicros),
      };
      entry.written = entry.count;
      this.#enqueue(async () => {
        try {
          await this.#opts.sink.updateSeries(namespace, name, series);
        } catch (err) {
          // The event expired (events have a TTL): the next repeat starts a new one.
          if (isNotFound(err)) this.#series.delete(key);
          throw err;
        }
      });
    }
  }

  #evictOld(olderThanMicros: number): void {
    for (const [key, entry] of this.#series) {
      if (this.#series.size <= MAX_CACHE && entry.lastObservedMicros >= olderThanMicros) break;
      if (entry.count === entry.written) this.#series.delete(key);
    }
  }

  #enqueue(write: Write): void {
    if (this.#pending.length >= (this.#opts.maxPending ?? 5000)) {
      this.#log.warn('event write queue full; dropping an event');
      return;
    }
    this.#pending.push(write);
    this.#drain();
  }

  /**
   * Up to `concurrency` writes at once: a burst (a thousand resources created together)
   * must not queue behind one round trip at a time. Order does not matter between writes:
   * a series update is only scheduled after its event was created.
   */
  #drain(): void {
    const concurrency = this.#opts.concurrency ?? 4;
    while (this.#active < concurrency && this.#pending.length > 0) {
      const write = this.#pending.shift() as Write;
      this.#active += 1;
      write()
        .catch((err: unknown) => this.#log.warn(errorFields(err), 'event write failed'))
        .finally(() => {
          this.#active -= 1;
          this.#drain();
          if (this.#active === 0 && this.#pending.length === 0) {
            for (const wake of this.#idleWaiters) wake();
            this.#idleWaiters.clear();
          }
        });
    }
  }

  #idle(): Promise<void> {
    if (this.#active === 0 && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }
}

export function referenceTo(obj: KubeObject): ObjectReference {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    namespace: obj.metadata.namespace,
    uid: obj.metadata.uid,
    resourceVersion: obj.metadata.resourceVersion,
  };
}

/** `<object>.<hex time>` like client-go, kept within the 253-character name limit. */
function eventName(objectName: string, micros: number): string {
  const suffix = (
    BigInt(Math.floor(micros)) * 1000n +
    BigInt(Math.floor(Math.random() * 1000))
  ).toString(16);
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = text.slice(0, maxBytes);
  while (Buffer.byteLength(cut) > maxBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
