/**
 * The watcher stage (kube-rs `watcher`): list + watch one resource forever, turning the API's
 * event stream into a sequence a reflector can trust:
 *
 *   restarted(all objects)  — after every (re)list: the complete current set
 *   applied(object)         — added or modified
 *   deleted(object)
 *
 * It survives what real clusters do: the server ends watches (randomized `timeoutSeconds`),
 * resourceVersions get compacted (410 Gone → relist), connections drop or hang silently
 * (an inactivity watchdog aborts a watch that received nothing — not even a bookmark — for too
 * long), and the API server restarts (errors back off by the policy given, then the watch
 * resumes from the last resourceVersion, relisting only if that is gone).
 */
import { Backoff, type BackoffPolicy, defaultWatchBackoff, sleep } from './backoff.js';
import type { KubeClient } from './client.js';
import {
  type ApiError,
  apiErrorFrom,
  isGone,
  isResourceVersionTooLarge,
  type Status,
} from './errors.js';
import { errorFields, type RuntimeLogger, silentLogger } from './logger.js';
import type { KubeObject, ResourceDescriptor } from './resource.js';

export type WatcherEvent<T extends KubeObject> =
  | { type: 'restarted'; objects: T[]; resourceVersion: string }
  | { type: 'applied'; object: T }
  | { type: 'deleted'; object: T };

export interface WatcherOptions {
  /** Only this namespace (default: all namespaces). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout, drawn uniformly from [min, max] seconds per watch so clients do not reconnect in lockstep. Default [300, 600]. */
  timeoutSecondsRange?: readonly [number, number];
  /** Abort and re-watch when nothing arrived for this long. The API server sends bookmarks about every minute, so the default (150 s) tolerates one lost bookmark. */
  inactivityTimeoutMs?: number;
  /** Backoff between failed list/watch attempts. Default: 800 ms doubling to 30 s, ±20 % jitter. */
  backoff?: BackoffPolicy;
  /**
   * Start by watching from this resourceVersion (e.g. one persisted earlier) instead of listing;
   * if it is no longer served (410) the watcher lists as usual. Consumers then see no initial
   * `restarted` event unless that happens.
   */
  initialResourceVersion?: string;
  /** List page size (limit/continue). Default 500. */
  pageSize?: number;
  logger?: RuntimeLogger;
}

class InactivityTimeout extends Error {
  override name = 'InactivityTimeout';
}

interface WatchPosition {
  resourceVersion: string | undefined;
}

/** A watch that ended "successfully" this fast, with no events, is treated as a failure to avoid a hot loop. */
const MIN_HEALTHY_WATCH_MS = 1000;

export class Watcher<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #resource: ResourceDescriptor;
  readonly #options: WatcherOptions;
  readonly #log: RuntimeLogger;
  readonly #label: string;

  constructor(client: KubeClient, resource: ResourceDescriptor, options: WatcherOptions = {}) {
    this.#client = client;
    this.#resource = resource;
    this.#options = options;
    this.#label = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
    this.#log = (options.logger ?? silentLogger).child({
      watcher: this.#label,
      namespace: options.namespace,
    });
  }

  /** Runs until `signal` aborts; `onEvent` is called synchronously, in order. Never rejects. */
  async run(signal: AbortSignal, onEvent: (event: WatcherEvent<T>) => void): Promise<void> {
    const backoff = new Backoff(this.#options.backoff ?? defaultWatchBackoff);
    const restarts = this.#client.metrics.watchRestarts;
    // Advanced by every event, so a watch that fails midway resumes after what it delivered.
    const position: WatchPosition = { resourceVersion: this.#options.initialResourceVersion };
    while (!signal.aborted) {
      try {
        if (position.resourceVersion === undefined) {
          restarts.inc({ resource: this.#label, reason: 'relist' });
          const listed = await this.#list(signal);
          position.resourceVersion = listed.resourceVersion;
          backoff.reset();
          onEvent({ type: 'restarted', ...listed });
        }
        const reason = await this.#watchOnce(position, signal, onEvent, () => backoff.reset());
        restarts.inc({ resource: this.#label, reason });
        if (reason === 'inactivity') {
          this.#log.warn({ ...position }, 'watch inactive too long; reconnecting');
        }
        if (reason === 'closed-early') {
          await sleep(backoff.next(), signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err) || isResourceVersionTooLarge(err)) {
          // Our resourceVersion is no longer served: start over with a fresh consistent list.
          this.#log.info(
            { ...position, reason: (err as ApiError).reason },
            'watch expired; relisting',
          );
          position.resourceVersion = undefined;
          continue;
        }
        const delay = backoff.next();
        restarts.inc({ resource: this.#label, reason: 'error' });
        this.#log.warn(
          { ...errorFields(err), retryInMs: Math.round(delay), attempt: backoff.attempts },
          'list/watch failed; backing off',
        );
        await sleep(delay, signal);
      }
    }
  }

  async #list(signal: AbortSignal): Promise<{ objects: T[]; resourceVersion: string }> {
    const objects: T[] = [];
    let continueToken: string | undefined;
    const limit = this.#options.pageSize ?? 500;
    for (;;) {
      const page = await this.#client.list<T>(this.#resource, {
        namespace: this.#options.namespace,
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        limit,
        continue: continueToken,
        signal,
      });
      objects.push(...page.items);
      continueToken = page.metadata.continue;
      if (!continueToken) {
        return { objects, resourceVersion: page.metadata.resourceVersion ?? '' };
      }
    }
  }

  async #watchOnce(
    position: WatchPosition,
    signal: AbortSignal,
    onEvent: (event: WatcherEvent<T>) => void,
    onHealthy: () => void,
  ): Promise<'timeout' | 'inactivity' | 'closed-early'> {
    const inactivityMs = this.#options.inactivityTimeoutMs ?? 150_000;
    const [minTimeout, maxTimeout] = this.#options.timeoutSecondsRange ?? [300, 600];
    const timeoutSeconds = Math.round(minTimeout + Math.random() * (maxTimeout - minTimeout));
    const attempt = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => attempt.abort(new InactivityTimeout()), inactivityMs);
    };
    const onStop = () => attempt.abort(signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    arm();
    let sawEvent = false;
    const started = performance.now();
    try {
      const events = this.#client.watch<T>(this.#resource, {
        namespace: this.#options.namespace,
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        resourceVersion: position.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        signal: attempt.signal,
        onActivity: arm,
      });
      for await (const event of events) {
        this.#client.metrics.watchEvents.inc({ resource: this.#label, type: event.type });
        if (event.type === 'ERROR') {
          throw errorFromWatchStatus(event.object as unknown as Status);
        }
        if (!sawEvent) {
          sawEvent = true;
          onHealthy();
        }
        const version = event.object.metadata?.resourceVersion;
        if (version) position.resourceVersion = version;
        if (event.type === 'BOOKMARK') continue;
        // Watch events, unlike list items, carry apiVersion/kind; no fix-up needed.
        onEvent(
          event.type === 'DELETED'
            ? { type: 'deleted', object: event.object }
            : { type: 'applied', object: event.object },
        );
      }
    } catch (err) {
      if (attempt.signal.reason instanceof InactivityTimeout && !signal.aborted)
        return 'inactivity';
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    }
    if (attempt.signal.reason instanceof InactivityTimeout) return 'inactivity';
    const quick = performance.now() - started < MIN_HEALTHY_WATCH_MS;
    return quick && !sawEvent ? 'closed-early' : 'timeout';
  }
}

function errorFromWatchStatus(status: Status): ApiError {
  // A watch ERROR event carries a metav1.Status; 410 Expired means our resourceVersion was compacted.
  return apiErrorFrom(status.code ?? 500, { ...status, kind: 'Status' });
}
