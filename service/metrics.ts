/**
 * Prometheus metrics. One registry per service instance (not prom-client's
 * global one), so tests can run several services in one process.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { METRIC } from '../contract/metric-names.js';
import type { Admission, ShedReason } from './admission.js';
import type { CircuitState, LmStudioObserver } from './lmstudio.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Queue waits: most are 0 (admitted at once), the rest up to QUEUE_TIMEOUT. */
const QUEUE_WAIT_BUCKETS = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];

/** Gauge values of lmstudio_circuit_state. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

export interface ServiceMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  inFlight: Gauge;
  shed: Counter<'reason'>;
  queueWait: Histogram;
  llmDuration: Histogram<'operation' | 'outcome'>;
  llmRetries: Counter<'reason'>;
  circuitState: Gauge;
  backendUp: Gauge;
  /** Connections closed on arrival because HTTP_MAX_CONNECTIONS were open. */
  connectionsDropped: Counter;
  /** The LM Studio client's hooks, bound to the metrics above. */
  observer: LmStudioObserver;
  /** Hooks for the Admission's options. */
  admissionHooks: { onWait(seconds: number): void; onShed(reason: ShedReason): void };
  /** The queue and in-flight gauges read this admission's counts at each scrape. */
  attachAdmission(admission: Admission): void;
}

export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpDuration = new Histogram({
    name: METRIC.httpDuration,
    help: 'HTTP request duration by route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const inFlight = new Gauge({
    name: 'summary_requests_in_flight',
    help: 'Summary requests being served right now.',
    registers,
  });
  const shed = new Counter({
    name: METRIC.shed,
    help: 'Summary requests refused with 429: the queue was full (queue_full) or the wait reached QUEUE_TIMEOUT (queue_timeout).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of ['queue_full', 'queue_timeout'] as const) shed.inc({ reason }, 0);
  const queueWait = new Histogram({
    name: METRIC.queueWait,
    help: 'Time summary requests waited for an LM Studio slot, observed for every admitted or shed request.',
    buckets: QUEUE_WAIT_BUCKETS,
    registers,
  });
  // Gauges read at scrape time: the hot path pays nothing for them.
  let admission: Admission | undefined;
  const gauge = (name: string, help: string, read: (a: Admission) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(admission === undefined ? 0 : read(admission));
      },
    });
  gauge(METRIC.queueDepth, 'Summary requests waiting for admission.', (a) => a.queued);
  gauge(
    METRIC.queueCapacity,
    'Summary requests that may wait for admission (MAX_QUEUED_REQUESTS).',
    (a) => a.capacity,
  );
  gauge(METRIC.callsInFlight, 'LM Studio calls in flight now.', (a) => a.inFlight);
  gauge(
    METRIC.concurrencyLimit,
    'LM Studio calls allowed in flight at once (LMSTUDIO_MAX_CONCURRENCY).',
    (a) => a.concurrency,
  );
  const llmDuration = new Histogram({
    name: METRIC.llmDuration,
    help: 'Duration of each attempt to call LM Studio, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const llmRetries = new Counter({
    name: 'lmstudio_retries_total',
    help: 'Retried LM Studio calls, by the reason of the failed attempt.',
    labelNames: ['reason'] as const,
    registers,
  });
  const circuitState = new Gauge({
    name: METRIC.circuitState,
    help: 'Circuit breaker in front of LM Studio: 0 closed, 1 half-open, 2 open.',
    registers,
  });
  const backendUp = new Gauge({
    name: METRIC.backendUp,
    help: 'Result of the last health probe: 1 if LM Studio serves the configured model.',
    registers,
  });
  circuitState.set(CIRCUIT_STATE_VALUE.closed);
  const connectionsDropped = new Counter({
    name: 'http_connections_dropped_total',
    help: 'Connections closed as they arrived because HTTP_MAX_CONNECTIONS were already open.',
    registers,
  });

  const observer: LmStudioObserver = {
    onAttempt: (operation, outcome, seconds) =>
      llmDuration.observe({ operation, outcome }, seconds),
    onRetry: (reason) => llmRetries.inc({ reason }),
    onCircuitChange: (state) => circuitState.set(CIRCUIT_STATE_VALUE[state]),
    onProbe: (healthy) => backendUp.set(healthy ? 1 : 0),
  };

  return {
    registry,
    httpDuration,
    inFlight,
    shed,
    queueWait,
    llmDuration,
    llmRetries,
    circuitState,
    backendUp,
    connectionsDropped,
    observer,
    admissionHooks: {
      onWait: (seconds) => queueWait.observe(seconds),
      onShed: (reason) => shed.inc({ reason }),
    },
    attachAdmission: (value) => {
      admission = value;
    },
  };
}
