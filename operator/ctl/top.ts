/**
 * `llmplanctl top NAME`: the load the operator read from each pod's /metrics (status.load),
 * as a table — in-flight/capacity, queued, p95 wait, shed/min, LLM p95, errors/min per pod.
 * Pure view and rendering, then the command (one GET).
 */
import type { LoadStatus, PodLoad } from '../api/status.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import { age, renderTable } from './format.js';

export interface TopView {
  name: string;
  namespace: string;
  /** undefined: the operator has not reported load (older operator, or not scraped yet). */
  load?: LoadStatus;
}

export function buildTopView(cr: SummarizerService): TopView {
  return {
    name: cr.metadata.name,
    namespace: cr.metadata.namespace ?? '',
    ...(cr.status?.load ? { load: cr.status.load } : {}),
  };
}

const NONE = '-';
const ms = (value: number | undefined) =>
  value === undefined ? NONE : value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${value}ms`;
const rate = (value: number | undefined) => (value === undefined ? NONE : String(value));

function podRow(pod: PodLoad): string[] {
  const read =
    pod.state !== 'NoLoadMetrics' && pod.state !== 'Unreachable' && pod.state !== 'NotRunning';
  if (!read) return [pod.name, pod.state, NONE, NONE, NONE, NONE, NONE, NONE, pod.message ?? ''];
  return [
    pod.name,
    pod.state,
    `${pod.inFlight}/${pod.concurrency}`,
    String(pod.queued),
    ms(pod.queueWaitP95Ms),
    rate(pod.shedPerMinute),
    ms(pod.backendP95Ms),
    rate(pod.errorsPerMinute),
    '',
  ];
}

export function formatTop(view: TopView, now: Date): string {
  const ref = `${view.name} (namespace ${view.namespace})`;
  const load = view.load;
  if (!load) {
    return `${ref}: no load reported yet (the operator reads each pod's /metrics every 15 s by default; an operator older than this llmplanctl does not)\n`;
  }
  const since = load.since ? ` for ${age(load.since, now)}` : '';
  const observed = load.observedTime ? `, read ${age(load.observedTime, now)} ago` : '';
  const lines = [`${ref}: ${load.state}${since}${observed}`, `  ${load.message}`, ''];
  const pods = load.pods ?? [];
  if (pods.length > 0) {
    const total = [
      'TOTAL',
      '',
      `${load.inFlight}/${load.concurrency}`,
      String(load.queued),
      ms(load.queueWaitP95Ms),
      rate(load.shedPerMinute),
      ms(load.backendP95Ms),
      rate(load.errorsPerMinute),
      '',
    ];
    lines.push(
      renderTable(
        [
          'POD',
          'STATE',
          'IN-FLIGHT',
          'QUEUED',
          'WAIT-P95',
          'SHED/MIN',
          'LLM-P95',
          'ERRORS/MIN',
          'NOTE',
        ],
        [...pods.map(podRow), total],
      ),
      '',
    );
  }
  const baseline =
    load.backendBaselineMs !== undefined
      ? `LM Studio's usual latency (light load): ${ms(load.backendBaselineMs)}; now ${ms(load.backendLatencyMs)} per call`
      : "LM Studio's usual latency: not known yet (learnt while at most one call is in flight)";
  lines.push(baseline, '');
  return lines.join('\n');
}
