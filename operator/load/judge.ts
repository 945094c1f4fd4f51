/**
 * A resource's load history → what remediation needs to know, pure: the state and since
 * when it holds, how long the pods have been saturated with LM Studio at its usual latency,
 * whether the load would fit the spec's replicas again, and the one problematic pod.
 */
import type { LoadState } from '../api/status.js';
import { baselineOf, type LoadHistory, runStart } from './history.js';
import { type ProblemPod, problemPod } from './problem-pod.js';
import type { PodObservation, RoundVerdict } from './round.js';

/** A scale-up may end once the demand would keep the spec's pods at most this busy. */
export const CALM_DEMAND_SHARE = 0.7;
/** Figures older than this many scrape intervals are not judged (the monitor stopped?). */
export const STALE_INTERVALS = 4;

export interface JudgeOptions {
  now: number;
  /** The scrape interval, ms (staleness). */
  intervalMs: number;
  /** Replicas the spec asks for (or the HPA minimum): what "fits" means for a scale-up to end. */
  specReplicas: number;
  /** spec.remediation.podRestart.afterSeconds, in ms. */
  podRestartAfterMs: number;
}

export interface LoadJudgement {
  state: LoadState;
  /** Start of the current state's run (as seen by this operator). */
  since?: number;
  /** How long the pods have been Saturated (LM Studio at its usual latency); 0 when not. */
  saturatedForMs: number;
  /** The load would fit the spec's replicas: a scale-up may end (true when load is unknown). */
  calm: boolean;
  /** LM Studio's light-load chat latency, seconds. */
  baseline?: number;
  latest?: RoundVerdict;
  pods: readonly PodObservation[];
  message: string;
  problemPod?: ProblemPod;
}

const s = (seconds: number | undefined) =>
  seconds === undefined
    ? '?'
    : seconds < 10
      ? `${seconds.toFixed(2)} s`
      : `${seconds.toFixed(0)} s`;

function unknownReason(pods: readonly PodObservation[]): string {
  if (pods.length === 0) return 'no running pod to read';
  const reasons = pods
    .slice(0, 3)
    .map((p) => (p.kind === 'metrics' ? `${p.pod}: ok` : `${p.pod}: ${p.reason}`));
  return `no pod's load metrics could be read (${reasons.join('; ')}${pods.length > 3 ? '; …' : ''})`;
}

export function describe(verdict: RoundVerdict, baseline: number | undefined): string {
  const f = verdict.figures;
  const slots = `${f.inFlight}/${f.concurrency} LM Studio slots in use (${Math.round(f.utilization * 100)} % over the interval)`;
  const queue = `${f.queued} queued${f.queueWaitP95 !== undefined ? `, wait p95 ${s(f.queueWaitP95)}` : ''}`;
  const shed = f.shedPerMinute > 0 ? `, ${f.shedPerMinute.toFixed(1)} shed/min` : '';
  const pods = `${f.podsSaturated}/${f.podsReporting} pod(s) saturated`;
  const backend =
    f.chatMean === undefined
      ? 'no LM Studio call completed'
      : `LM Studio ${s(f.chatMean)} per call${baseline !== undefined ? ` (baseline ${s(baseline)}, ×${(f.chatMean / baseline).toFixed(1)})` : ' (baseline not known yet)'}`;
  switch (verdict.state) {
    case 'BackendSaturated': {
      const why =
        verdict.backend.state === 'saturated' && verdict.backend.why === 'refusing'
          ? `LM Studio refuses or times out ${Math.round(verdict.backend.share * 100)} % of the calls`
          : `LM Studio is the bottleneck: ${s(f.chatMean)} per call, ×${verdict.backend.state === 'saturated' && verdict.backend.why === 'latency' ? verdict.backend.ratio.toFixed(1) : '?'} its light-load baseline ${s(baseline)}, with ${f.busySlots.toFixed(1)} calls in flight on average`;
      return `${why}; more pods would only deepen its queue (${pods}, ${queue}${shed})`;
    }
    case 'Saturated':
      return `${pods}: ${slots}, ${queue}${shed}; ${backend}`;
    default:
      return `${slots}, ${queue}${shed}; ${backend}`;
  }
}

/**
 * `previous`: the state last reported and since when; while the state holds, its start is
 * kept (the history forgets old rounds, and a start that crept forward would rewrite status).
 */
export function judge(
  history: LoadHistory,
  options: JudgeOptions,
  previous?: { state: LoadState; since?: number },
): LoadJudgement {
  const latest = history.verdicts.at(-1);
  const round = history.rounds.at(-1);
  const baseline = baselineOf(history);
  const base = { ...(baseline !== undefined ? { baseline } : {}) };
  if (!latest || !round) {
    return {
      state: 'Unknown',
      saturatedForMs: 0,
      calm: true,
      pods: [],
      message: 'not scraped yet',
      ...base,
    };
  }
  if (options.now - latest.time > STALE_INTERVALS * options.intervalMs) {
    return {
      state: 'Unknown',
      saturatedForMs: 0,
      calm: true,
      pods: round.pods,
      message: `the last load figures are ${Math.round((options.now - latest.time) / 1000)} s old`,
      ...base,
    };
  }
  const run = runStart(history, (v) => v.state === latest.state);
  const since =
    previous?.state === latest.state && previous.since !== undefined ? previous.since : run;
  const saturatedSince = latest.state === 'Saturated' ? run : undefined;
  const f = latest.figures;
  const perPod = f.podsReporting > 0 ? f.concurrency / f.podsReporting : 0;
  const fits = f.demand <= CALM_DEMAND_SHARE * options.specReplicas * Math.max(1, perPod);
  const calm =
    latest.state === 'Unknown' ||
    (latest.state !== 'Saturated' &&
      latest.state !== 'BackendSaturated' &&
      f.shedPerMinute === 0 &&
      fits);
  let message = latest.state === 'Unknown' ? unknownReason(round.pods) : describe(latest, baseline);
  if (latest.state === 'Saturated' && latest.backend.state === 'unknown') {
    message +=
      "; LM Studio's usual latency is not known yet (it is learnt while at most one call is in flight)";
  }
  const problem = problemPod(history, options.now, options.podRestartAfterMs);
  return {
    state: latest.state,
    ...(since !== undefined ? { since } : {}),
    saturatedForMs: saturatedSince !== undefined ? options.now - saturatedSince : 0,
    calm,
    latest,
    pods: round.pods,
    message,
    ...(problem ? { problemPod: problem } : {}),
    ...base,
  };
}
