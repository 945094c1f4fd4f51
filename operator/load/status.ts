/**
 * A load judgement → status.load, pure: bounded (at most LOAD_PODS_MAX_ITEMS pods), and
 * rounded (two significant digits) so that small wobbles of a steady load do not rewrite
 * status; `worthReporting` says when a new figure is worth a status write at all.
 */
import { toRfc3339 } from '../api/conditions.js';
import {
  LOAD_PODS_MAX_ITEMS,
  type LoadStatus,
  type PodLoad,
  type PodLoadState,
} from '../api/status.js';
import { canonicalJson } from '../runtime/index.js';
import type { LoadJudgement } from './judge.js';
import { type PodObservation, podState } from './round.js';

/** Figures that move but keep the state are written at most this often (by default). */
export const MIN_REPORT_INTERVAL_MS = 30_000;

/** Two significant digits (one decimal under 10), so a steady load reads the same twice. */
export function rounded(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  if (value < 10) return Math.round(value * 10) / 10;
  const magnitude = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Math.round(value / magnitude) * magnitude;
}

const ms = (seconds: number | undefined) =>
  seconds === undefined ? undefined : Math.round(rounded(seconds * 1000));

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const POD_ORDER: readonly PodLoadState[] = [
  'Saturated',
  'Unreachable',
  'NoLoadMetrics',
  'NotRunning',
  'Busy',
  'Calm',
];

function podLoad(obs: PodObservation): PodLoad {
  const state = podState(obs);
  if (obs.kind !== 'metrics') {
    return {
      name: obs.pod,
      state,
      inFlight: 0,
      concurrency: 0,
      queued: 0,
      saturationPercent: 0,
      message: obs.reason.slice(0, 512),
    };
  }
  const { sample, interval } = obs;
  const perMinute = interval ? 60 / interval.seconds : 0;
  const utilization = interval?.utilization ?? sample.inFlight / Math.max(1, sample.concurrency);
  return defined({
    name: obs.pod,
    state,
    inFlight: sample.inFlight,
    concurrency: sample.concurrency,
    queued: sample.queueDepth,
    saturationPercent: Math.round(utilization * 100),
    queueWaitP95Ms: ms(interval?.queueWaitP95),
    shedPerMinute: interval ? rounded(interval.shed * perMinute) : undefined,
    requestsPerMinute: interval ? rounded(interval.requests * perMinute) : undefined,
    errorsPerMinute: interval ? rounded(interval.serverErrors * perMinute) : undefined,
    backendLatencyMs: ms(interval?.chatMean),
    backendP95Ms: ms(interval?.chatP95),
  });
}

export function loadStatus(judgement: LoadJudgement, now: number): LoadStatus {
  const latest = judgement.latest;
  const f = latest?.figures;
  const pods = judgement.pods
    .map(podLoad)
    .sort(
      (a, b) =>
        POD_ORDER.indexOf(a.state) - POD_ORDER.indexOf(b.state) || a.name.localeCompare(b.name),
    )
    .slice(0, LOAD_PODS_MAX_ITEMS);
  return defined({
    state: judgement.state,
    message: judgement.message.slice(0, 1024),
    observedTime: toRfc3339(new Date(latest?.time ?? now)),
    since: judgement.since !== undefined ? toRfc3339(new Date(judgement.since)) : undefined,
    podsReporting: f?.podsReporting ?? 0,
    inFlight: f?.inFlight ?? 0,
    concurrency: f?.concurrency ?? 0,
    queued: f?.queued ?? 0,
    saturationPercent: Math.round((f?.utilization ?? 0) * 100),
    queueWaitP95Ms: ms(f?.queueWaitP95),
    shedPerMinute: f ? rounded(f.shedPerMinute) : undefined,
    requestsPerMinute: f ? rounded(f.requestsPerMinute) : undefined,
    errorsPerMinute: f ? rounded(f.errorsPerMinute) : undefined,
    backendLatencyMs: ms(f?.chatMean),
    backendP95Ms: ms(f?.chatP95),
    backendBaselineMs: ms(judgement.baseline),
    pods: pods.length > 0 ? pods : undefined,
  });
}

/** status.load without its clock: equal when nothing worth saying changed. */
function content(status: LoadStatus | undefined): string {
  if (!status) return '';
  const { observedTime: _observed, ...rest } = status;
  return canonicalJson(rest);
}

function shape(status: LoadStatus | undefined): string {
  if (!status) return '';
  return canonicalJson({
    state: status.state,
    since: status.since,
    pods: status.pods?.map((p) => [p.name, p.state]),
  });
}

/**
 * Whether `next` should replace `reported` in status: always when the state, its start or
 * a pod's state changed; when only figures moved, once `minIntervalMs` has passed.
 */
export function worthReporting(
  reported: LoadStatus | undefined,
  next: LoadStatus,
  now: number,
  minIntervalMs = MIN_REPORT_INTERVAL_MS,
): boolean {
  if (content(reported) === content(next)) return false;
  if (shape(reported) !== shape(next)) return true;
  const at = reported?.observedTime ? Date.parse(reported.observedTime) : Number.NaN;
  return !Number.isFinite(at) || now - at >= minIntervalMs;
}

/** status.load when the operator does not read load at all (say so, with zeros). */
export function unreadLoad(message: string): LoadStatus {
  return {
    state: 'Unknown',
    message,
    podsReporting: 0,
    inFlight: 0,
    concurrency: 0,
    queued: 0,
    saturationPercent: 0,
  };
}
