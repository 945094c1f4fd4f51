/**
 * The runtime's Prometheus metrics, named as controller-runtime / client-go name them so
 * existing dashboards and alerts work unchanged. One `RuntimeMetrics` per registry; every
 * component takes it as an option (no global registry, so tests can run many side by side).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** controller-runtime's reconcile_time_seconds buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** controller-runtime's workqueue buckets: ExponentialBuckets(10e-9, 10, 12). */
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);
/** client-go's rest_client_request_duration_seconds buckets. */
const REST_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

/** What a work queue reports on scrape for the "stuck worker" gauges. */
export interface QueueProbe {
  readonly name: string;
  readonly controller: string;
  /** Seconds of all in-flight work, and of the longest-running item. */
  inFlightSeconds(): { total: number; longest: number };
}

export interface RuntimeMetricsOptions {
  /** Also export Node process metrics (CPU, RSS, heap, event loop lag). Default false; the Manager turns it on. */
  processMetrics?: boolean;
}

export class RuntimeMetrics {
  readonly registry: Registry;

  readonly restClientRequests: Counter<'code' | 'method'>;
  readonly restClientDuration: Histogram<'verb'>;
  readonly restClientRateLimiterDuration: Histogram<'verb'>;

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;

  readonly queueDepth: Gauge<'controller' | 'name'>;
  readonly queueAdds: Counter<'controller' | 'name'>;
  readonly queueDuration: Histogram<'controller' | 'name'>;
  readonly workDuration: Histogram<'controller' | 'name'>;
  readonly queueRetries: Counter<'controller' | 'name'>;

  readonly leaderStatus: Gauge<'name'>;

  readonly watchEvents: Counter<'resource' | 'type'>;
  readonly watchRestarts: Counter<'resource' | 'reason'>;

  readonly #queues = new Set<QueueProbe>();

  constructor(registry: Registry = new Registry(), options: RuntimeMetricsOptions = {}) {
    this.registry = registry;
    const registers = [registry];
    if (options.processMetrics ?? false) collectDefaultMetrics({ register: registry });

    this.restClientRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests to the Kubernetes API, partitioned by status code and method.',
      labelNames: ['code', 'method'],
      registers,
    });
    this.restClientDuration = new Histogram({
      name: 'rest_client_request_duration_seconds',
      help: 'Request latency to the Kubernetes API in seconds, by verb.',
      labelNames: ['verb'],
      buckets: REST_BUCKETS,
      registers,
    });
    this.restClientRateLimiterDuration = new Histogram({
      name: 'rest_client_rate_limiter_duration_seconds',
      help: 'Time spent waiting for the client-side rate limiter, by verb.',
      labelNames: ['verb'],
      buckets: REST_BUCKETS,
      registers,
    });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });

    const queueLabels = ['controller', 'name'] as const;
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queueLabels,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.queueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    const queues = this.#queues;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration.",
      labelNames: queueLabels,
      registers,
      collect() {
        for (const q of queues)
          this.set({ controller: q.controller, name: q.name }, q.inFlightSeconds().total);
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const q of queues)
          this.set({ controller: q.controller, name: q.name }, q.inFlightSeconds().longest);
      },
    });

    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
      labelNames: ['name'],
      registers,
    });

    this.watchEvents = new Counter({
      name: 'runtime_watch_events_total',
      help: 'Watch events received, by resource and event type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR).',
      labelNames: ['resource', 'type'],
      registers,
    });
    this.watchRestarts = new Counter({
      name: 'runtime_watch_restarts_total',
      help: 'Watch (re)starts by reason: relist (initial or after 410 Gone), timeout, inactivity, error.',
      labelNames: ['resource', 'reason'],
      registers,
    });
  }

  /** Lets a work queue report its in-flight gauges on scrape; returns the unregister function. */
  trackQueue(queue: QueueProbe): () => void {
    this.#queues.add(queue);
    return () => this.#queues.delete(queue);
  }
}
