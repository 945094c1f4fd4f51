/**
 * llmplan's generic controller runtime: the machinery of controller-runtime / kube-rs
 * `runtime`, knowing nothing of llmplan. See each module for the why of its design.
 *
 *   client, errors          REST access to any resource, typed errors, rate limit, metrics
 *   watcher → store → informer   list+watch that survives 410s, drops and restarts; cache; resync
 *   workqueue, controller   dedup + backoff queue; level-triggered reconcile workers
 *   leader-election         coordination.k8s.io/v1 Lease
 *   subset, apply           "write only when something changes"
 *   events                  events.k8s.io/v1 recorder with series aggregation
 *   server, metrics         /metrics, /healthz, /readyz; controller-runtime metric names
 *   manager                 wires it all together, handles SIGTERM
 */
export {
  type ApplyIfNeededOptions,
  type ApplyIfNeededResult,
  applyIfNeeded,
  canonicalJson,
  hashOf,
  withDesiredHash,
} from './apply.js';
export {
  Backoff,
  type BackoffPolicy,
  defaultWatchBackoff,
  jittered,
  nominalDelay,
  sleep,
} from './backoff.js';
export { KubeClient } from './client.js';
export type {
  ApplyOptions,
  CallOptions,
  ClientOptions,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  PatchType,
  RawRequest,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './client-options.js';
export { defaultConflictRetry, retryOnConflict } from './conflict.js';
export {
  accessFromKubeConfig,
  type ClusterAccess,
  isKubeConfig,
  type TlsMaterial,
} from './connection.js';
export {
  Controller,
  type ControllerOptions,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
  type Source,
  watchSource,
} from './controller.js';
export {
  AlreadyExistsError,
  ApiError,
  apiErrorFrom,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  isResourceVersionTooLarge,
  NotFoundError,
  ServerError,
  type Status,
  type StatusCause,
  TooManyRequestsError,
  TransportError,
  UnauthorizedError,
} from './errors.js';
export {
  clientEventSink,
  EventRecorder,
  type EventRecorderOptions,
  type EventSeries,
  type EventSink,
  type EventType,
  type KubeEvent,
  type ObjectReference,
  referenceTo,
} from './events.js';
export {
  enqueueRequestForObject,
  enqueueRequestForOwner,
  enqueueRequestsFromMapFunc,
  type MapFunc,
  type OwnerKind,
} from './handler.js';
export {
  type EventHandler,
  Informer,
  type InformerOptions,
  stripManagedFields,
} from './informer.js';
export {
  fromKubeconfigFile,
  inCluster,
  type LoadOptions,
  loadClusterAccess,
} from './kubeconfig.js';
export {
  defaultLeaderElectionTiming,
  type LeaderElectionTiming,
  LeaderElector,
  type LeaderElectorOptions,
  type Lease,
  type LeaseSpec,
} from './leader-election.js';
export { errorFields, type LogFn, type RuntimeLogger, silentLogger } from './logger.js';
export {
  CONTROLLER_MANAGERS,
  type FieldSet,
  type FoldOptions,
  foldManagedFields,
  takeOverFields,
  unionFieldSets,
} from './managed-fields.js';
export {
  type InformerDefaults,
  type InformerSelection,
  LeaderElectionLostError,
  type LeaderElectionOptions,
  Manager,
  type ManagerOptions,
  type Runnable,
} from './manager.js';
export { RuntimeMetrics, type RuntimeMetricsOptions } from './metrics.js';
export {
  formatMicroTime,
  microTimeFromDate,
  nowMicros,
  nowMicroTime,
  parseKubeTime,
} from './microtime.js';
export { runEvery } from './periodic.js';
export { parseNanoQuantity, quantitiesEqual } from './quantity.js';
export {
  BucketRateLimiter,
  type ControllerRateLimiterOptions,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from './queue-rate-limit.js';
export { type Clock, monotonicNow, TokenBucket } from './rate-limit.js';
export {
  type ApplyObject,
  apiVersionOf,
  builtin,
  controllerOf,
  groupOf,
  type KubeList,
  type KubeObject,
  keyOf,
  type ListMeta,
  type ObjectMeta,
  type OwnerReference,
  type Request,
  type ResourceDescriptor,
  requestFor,
  requestFromKey,
  resourcePath,
} from './resource.js';
export { type Check, parseBindAddress, RuntimeServer, type ServerOptions } from './server.js';
export {
  CONTROLLER_OWNER_UID_INDEX,
  type IndexFunc,
  indexByControllerOwnerUid,
  type ReadonlyStore,
  Store,
} from './store.js';
export {
  defaultIsQuantity,
  defaultMapLists,
  firstDifference,
  isSubset,
  needsApply,
  type SubsetOptions,
} from './subset.js';
export { KubeTransport, type TransportOptions } from './transport.js';
export { Watcher, type WatcherEvent, type WatcherOptions } from './watcher.js';
export { type ShutDownOptions, WorkQueue, type WorkQueueOptions } from './workqueue.js';
