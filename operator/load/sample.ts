/**
 * One scrape of a summarizer pod's /metrics → the figures of the load contract
 * (docs/service.md "Load metrics"), pure. A /metrics without them (an image older than the
 * contract, or something else listening on the port) is said to be so, never guessed at.
 */
import { METRIC, SUMMARY_ROUTE } from '../../contract/metric-names.js';
import { type Exposition, parseExposition, type Series } from './exposition.js';

/** A cumulative histogram, as Prometheus exposes it: counts per upper bound (+Inf last). */
export interface Histogram {
  bounds: readonly number[];
  counts: readonly number[];
  sum: number;
  count: number;
}

export interface PodSample {
  /** When it was scraped (ms since the epoch). */
  time: number;
  /** process_start_time_seconds: a different value means the counters started again. */
  processStart?: number;
  queueDepth: number;
  queueCapacity: number;
  inFlight: number;
  concurrency: number;
  /** summary_requests_shed_total, both reasons. */
  shed: number;
  queueWait: Histogram;
  /** LM Studio chat attempts that succeeded. */
  chatOk: Histogram;
  /** Chat attempts that failed for LM Studio's (or the network's) reason. */
  chatFailed: number;
  /** Of those, the ones that say LM Studio cannot keep up: refused (429) or timed out. */
  chatRefused: number;
  /** Seconds spent in every LM Studio call (any operation, any outcome): busy slot-seconds. */
  callSeconds: number;
  /** Summary requests answered (any status). */
  requests: number;
  /** Summary requests answered 5xx. */
  serverErrors: number;
  /** lmstudio_up: the pod's own health probe of LM Studio (1 up, 0 down). */
  backendUp?: number;
  /** lmstudio_circuit_state: 0 closed, 1 half-open, 2 open. */
  circuit?: number;
}

export type SampleResult =
  | { ok: true; sample: PodSample }
  | { ok: false; missing: readonly string[] };

/** Metrics without which a pod's load cannot be judged. */
export const REQUIRED_METRICS = [
  METRIC.queueDepth,
  METRIC.callsInFlight,
  METRIC.concurrencyLimit,
  METRIC.shed,
  `${METRIC.queueWait}_count`,
] as const;

const histogramNames = (name: string) => [`${name}_bucket`, `${name}_sum`, `${name}_count`];

/** Every sample name the operator reads; the rest of a /metrics page is skipped unparsed. */
export const WANTED = new Set<string>([
  METRIC.queueDepth,
  METRIC.queueCapacity,
  METRIC.callsInFlight,
  METRIC.concurrencyLimit,
  METRIC.shed,
  METRIC.backendUp,
  METRIC.circuitState,
  METRIC.processStart,
  ...histogramNames(METRIC.queueWait),
  ...histogramNames(METRIC.llmDuration),
  `${METRIC.httpDuration}_count`,
]);

/** Outcomes (service/resilience.ts AttemptOutcome) that are LM Studio's or the network's fault. */
const FAILED = new Set([
  'timeout',
  'network_error',
  'rate_limited',
  'server_error',
  'bad_response',
  'model_unavailable',
]);
/** Failed outcomes that mean "LM Studio cannot keep up". */
const REFUSED = new Set(['rate_limited', 'timeout']);

function sum(series: readonly Series[] | undefined, keep: (s: Series) => boolean = () => true) {
  let total = 0;
  for (const s of series ?? []) if (keep(s)) total += s.value;
  return total;
}

function gauge(metrics: Exposition, name: string): number | undefined {
  const series = metrics.get(name);
  return series && series.length > 0 ? sum(series) : undefined;
}

/** The histogram `name`, summed over the label sets `keep` accepts (bounds are shared). */
export function histogramOf(
  metrics: Exposition,
  name: string,
  keep: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): Histogram {
  const byBound = new Map<number, number>();
  for (const s of metrics.get(`${name}_bucket`) ?? []) {
    if (!keep(s.labels)) continue;
    const bound = Number(s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : s.labels.le);
    if (Number.isNaN(bound)) continue;
    byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return {
    bounds,
    counts: bounds.map((b) => byBound.get(b) ?? 0),
    sum: sum(metrics.get(`${name}_sum`), (s) => keep(s.labels)),
    count: sum(metrics.get(`${name}_count`), (s) => keep(s.labels)),
  };
}

export function sampleOf(metrics: Exposition, time: number): SampleResult {
  const missing = REQUIRED_METRICS.filter((name) => !metrics.has(name));
  if (missing.length > 0) return { ok: false, missing };
  const chat = (labels: Readonly<Record<string, string>>) => labels.operation === 'chat';
  const outcomes = metrics.get(`${METRIC.llmDuration}_count`) ?? [];
  const summary = (s: Series) => s.labels.route === SUMMARY_ROUTE;
  const http = metrics.get(`${METRIC.httpDuration}_count`);
  const sample: PodSample = {
    time,
    queueDepth: gauge(metrics, METRIC.queueDepth) ?? 0,
    queueCapacity: gauge(metrics, METRIC.queueCapacity) ?? 0,
    inFlight: gauge(metrics, METRIC.callsInFlight) ?? 0,
    concurrency: gauge(metrics, METRIC.concurrencyLimit) ?? 0,
    shed: sum(metrics.get(METRIC.shed)),
    queueWait: histogramOf(metrics, METRIC.queueWait),
    chatOk: histogramOf(metrics, METRIC.llmDuration, (l) => chat(l) && l.outcome === 'ok'),
    chatFailed: sum(outcomes, (s) => chat(s.labels) && FAILED.has(s.labels.outcome ?? '')),
    chatRefused: sum(outcomes, (s) => chat(s.labels) && REFUSED.has(s.labels.outcome ?? '')),
    callSeconds: sum(metrics.get(`${METRIC.llmDuration}_sum`)),
    requests: sum(http, summary),
    serverErrors: sum(http, (s) => summary(s) && (s.labels.status_code ?? '').startsWith('5')),
  };
  const processStart = gauge(metrics, METRIC.processStart);
  const backendUp = gauge(metrics, METRIC.backendUp);
  const circuit = gauge(metrics, METRIC.circuitState);
  if (processStart !== undefined) sample.processStart = processStart;
  if (backendUp !== undefined) sample.backendUp = backendUp;
  if (circuit !== undefined) sample.circuit = circuit;
  return { ok: true, sample };
}

/** /metrics text → the pod's sample (or what it lacks). */
export function readSample(text: string, time: number): SampleResult {
  return sampleOf(parseExposition(text, WANTED), time);
}
