/**
 * Options and shapes of {@link KubeClient} calls (kept apart so the client reads as behaviour).
 */

import type { RuntimeMetrics } from './metrics.js';
import type { KubeObject } from './resource.js';
import type { TransportOptions } from './transport.js';

export interface ClientOptions {
  /** Sustained client-side request rate. Default 300/s (a 1000-object create storm needs ~170/s for a minute). */
  qps?: number;
  /** Requests allowed at once above the sustained rate. Default 600. */
  burst?: number;
  /** Per-request timeout unless a call says otherwise. Default 30 s. */
  timeoutMs?: number;
  /** Default field manager for server-side apply and writes. */
  fieldManager?: string;
  userAgent?: string;
  /** Retries of 429 / 503 answers that carry Retry-After (the API server did not process them). Default 3. */
  maxRetries?: number;
  /** Longest Retry-After we honour per attempt. Default 10 s. */
  maxRetryAfterMs?: number;
  metrics?: RuntimeMetrics;
  transport?: TransportOptions;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ListOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  limit?: number;
  continue?: string;
}

export interface WriteOptions extends CallOptions {
  fieldManager?: string;
  dryRun?: boolean;
  subresource?: string;
}

export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields another manager set (the controller is the source of truth). Default true. */
  force?: boolean;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface PatchOptions extends WriteOptions {
  type?: PatchType;
}

export interface DeleteOptions extends CallOptions {
  /** Delete only if the object still has this uid / resourceVersion (else 409 Conflict). */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  /** Resolve false instead of throwing when the object is already gone. */
  ignoreNotFound?: boolean;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Server-side timeout: the API server ends the watch cleanly after this long. */
  timeoutSeconds?: number;
  signal: AbortSignal;
  /** Called on every received chunk (events, bookmarks, partial data): feeds inactivity watchdogs. */
  onActivity?: () => void;
}

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RawRequest extends CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /**
   * Retries of a 429 (or a 5xx with Retry-After) for this call; default the client's. 0 when
   * the 429 is an answer, not a throttle (an eviction the PodDisruptionBudget refuses).
   */
  maxRetries?: number;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}
