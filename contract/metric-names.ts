/**
 * The names of the service's metrics that others read: the operator's load signal
 * (operator/load/), the Grafana dashboard and the alert rules (deploy/monitoring/). This
 * module is the only place they are spelled in code; docs/service.md "Load metrics" is the
 * contract in prose. Renaming one breaks the operator's load judgement: don't.
 */
export const METRIC = {
  queueDepth: 'summary_queue_depth',
  queueCapacity: 'summary_queue_capacity',
  queueWait: 'summary_queue_wait_seconds',
  callsInFlight: 'lmstudio_calls_in_flight',
  concurrencyLimit: 'lmstudio_concurrency_limit',
  shed: 'summary_requests_shed_total',
  llmDuration: 'lmstudio_request_duration_seconds',
  httpDuration: 'http_request_duration_seconds',
  backendUp: 'lmstudio_up',
  circuitState: 'lmstudio_circuit_state',
  /** prom-client's default process metric: a new value means the process restarted. */
  processStart: 'process_start_time_seconds',
} as const;

/** The summary endpoint's path: its http_request_duration_seconds{route} (api.ts serves it). */
export const SUMMARY_ROUTE = '/api/v1/summary/';
