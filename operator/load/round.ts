/**
 * One scrape round of a resource's pods → the figures and the state of that moment — pure.
 * The thresholds are the whole policy of "saturated", "busy" and "LM Studio is the
 * bottleneck"; docs/operator.md ("Load") says the same in words.
 */
import type { LoadState, PodLoadState } from '../api/status.js';
import type { PodInterval } from './interval.js';
import type { PodSample } from './sample.js';

/** A pod waits this long for a slot at the 95th percentile: its queue is not a blip. */
export const SATURATED_WAIT_P95_SECONDS = 0.5;
/** Busy: at least this share of the LM Studio slots in use. */
export const BUSY_UTILIZATION = 0.5;
/** LM Studio is the bottleneck when its calls take this many times its light-load baseline… */
export const BACKEND_LATENCY_FACTOR = 2;
/** …and it stays so until they are back under this factor (hysteresis). */
export const BACKEND_RECOVERED_FACTOR = 1.5;
/** …while the resource keeps at least this many calls in flight on average (load is there). */
export const BACKEND_MIN_BUSY_SLOTS = 1.5;
/** LM Studio refusing (429) or timing out this share of the calls is saturation too. */
export const BACKEND_REFUSED_SHARE = 0.2;

/** What one scrape of one pod gave. */
export type PodObservation =
  | {
      pod: string;
      uid: string;
      kind: 'metrics';
      sample: PodSample;
      /** Since the previous scrape of the same pod, when there is one (and no restart). */
      interval?: PodInterval;
    }
  | {
      pod: string;
      uid: string;
      kind: 'noLoadMetrics' | 'unreachable' | 'notRunning';
      reason: string;
    };

export interface Round {
  time: number;
  pods: readonly PodObservation[];
}

export interface RoundFigures {
  podsReporting: number;
  podsSaturated: number;
  inFlight: number;
  concurrency: number;
  queued: number;
  queueCapacity: number;
  /** 0…1: busy slot-seconds / slot-seconds (full slots at the scrape count as busy). */
  utilization: number;
  busySlots: number;
  /** Average concurrent demand: busy slots + requests waiting. */
  demand: number;
  queueWaitP95?: number;
  shedPerMinute: number;
  requestsPerMinute: number;
  errorsPerMinute: number;
  chatCalls: number;
  chatMean?: number;
  chatP95?: number;
  chatRefused: number;
  chatFailed: number;
}

export type BackendState =
  | { state: 'normal'; ratio: number }
  | { state: 'saturated'; why: 'latency'; ratio: number }
  | { state: 'saturated'; why: 'refusing'; share: number }
  /** No light-load baseline yet: LM Studio's usual latency is not known. */
  | { state: 'unknown' };

export interface RoundVerdict {
  time: number;
  state: LoadState;
  figures: RoundFigures;
  backend: BackendState;
}

const NOT_READ = {
  noLoadMetrics: 'NoLoadMetrics',
  unreachable: 'Unreachable',
  notRunning: 'NotRunning',
} as const satisfies Record<string, PodLoadState>;

export function podState(obs: PodObservation): PodLoadState {
  if (obs.kind !== 'metrics') return NOT_READ[obs.kind];
  if (isPodSaturated(obs.sample, obs.interval)) return 'Saturated';
  const utilization =
    obs.interval?.utilization ?? obs.sample.inFlight / Math.max(1, obs.sample.concurrency);
  return utilization >= BUSY_UTILIZATION ? 'Busy' : 'Calm';
}

/** Shedding, slots full with requests waiting, or a real wait for a slot. */
export function isPodSaturated(sample: PodSample, interval: PodInterval | undefined): boolean {
  if ((interval?.shed ?? 0) > 0) return true;
  if (sample.queueDepth > 0 && sample.inFlight >= Math.max(1, sample.concurrency)) return true;
  return (interval?.queueWaitP95 ?? 0) >= SATURATED_WAIT_P95_SECONDS;
}

/** Figures of a round in which no pod reported. */
export function noFigures(): RoundFigures {
  return {
    podsReporting: 0,
    podsSaturated: 0,
    inFlight: 0,
    concurrency: 0,
    queued: 0,
    queueCapacity: 0,
    utilization: 0,
    busySlots: 0,
    demand: 0,
    shedPerMinute: 0,
    requestsPerMinute: 0,
    errorsPerMinute: 0,
    chatCalls: 0,
    chatRefused: 0,
    chatFailed: 0,
  };
}

export function roundFigures(round: Round): RoundFigures {
  const figures = noFigures();
  let weightedUse = 0;
  let chatSeconds = 0;
  for (const obs of round.pods) {
    if (obs.kind !== 'metrics') continue;
    const { sample, interval } = obs;
    const slots = Math.max(1, sample.concurrency);
    figures.podsReporting += 1;
    if (isPodSaturated(sample, interval)) figures.podsSaturated += 1;
    figures.inFlight += sample.inFlight;
    figures.concurrency += sample.concurrency;
    figures.queued += sample.queueDepth;
    figures.queueCapacity += sample.queueCapacity;
    const utilization = interval?.utilization ?? sample.inFlight / slots;
    weightedUse += utilization * slots;
    const busy = interval?.busySlots ?? sample.inFlight;
    figures.busySlots += busy;
    figures.demand += busy + (interval?.averageQueue ?? sample.queueDepth);
    if (!interval) continue;
    const perMinute = 60 / interval.seconds;
    figures.shedPerMinute += interval.shed * perMinute;
    figures.requestsPerMinute += interval.requests * perMinute;
    figures.errorsPerMinute += interval.serverErrors * perMinute;
    figures.chatCalls += interval.chatCalls;
    figures.chatRefused += interval.chatRefused;
    figures.chatFailed += interval.chatFailed;
    if (interval.chatMean !== undefined) chatSeconds += interval.chatMean * interval.chatCalls;
    figures.queueWaitP95 = maxOf(figures.queueWaitP95, interval.queueWaitP95);
    figures.chatP95 = maxOf(figures.chatP95, interval.chatP95);
  }
  const slots = round.pods.reduce(
    (n, o) => n + (o.kind === 'metrics' ? Math.max(1, o.sample.concurrency) : 0),
    0,
  );
  figures.utilization = slots > 0 ? Math.min(1, weightedUse / slots) : 0;
  if (figures.chatCalls > 0) figures.chatMean = chatSeconds / figures.chatCalls;
  return figures;
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/**
 * LM Studio's state in this round, against its light-load baseline (seconds per chat call).
 * `previous`: its state in the previous round — kept when no call completed in this one
 * (nothing new is known), and the bar to leave saturation is lower (hysteresis).
 */
export function backendState(
  figures: RoundFigures,
  baseline: number | undefined,
  previous: BackendState | undefined,
): BackendState {
  const attempts = figures.chatCalls + figures.chatFailed;
  if (attempts > 0 && figures.chatRefused >= 2) {
    const share = figures.chatRefused / attempts;
    if (share >= BACKEND_REFUSED_SHARE) return { state: 'saturated', why: 'refusing', share };
  }
  if (baseline === undefined || !(baseline > 0)) return { state: 'unknown' };
  if (figures.chatMean === undefined) return previous ?? { state: 'unknown' };
  const ratio = figures.chatMean / baseline;
  const threshold =
    previous?.state === 'saturated' ? BACKEND_RECOVERED_FACTOR : BACKEND_LATENCY_FACTOR;
  if (ratio >= threshold && figures.busySlots >= BACKEND_MIN_BUSY_SLOTS) {
    return { state: 'saturated', why: 'latency', ratio };
  }
  return { state: 'normal', ratio };
}

export function judgeRound(
  round: Round,
  baseline: number | undefined,
  previous: RoundVerdict | undefined,
): RoundVerdict {
  const figures = roundFigures(round);
  const backend = backendState(figures, baseline, previous?.backend);
  let state: LoadState;
  if (figures.podsReporting === 0) state = 'Unknown';
  else if (backend.state === 'saturated' && (figures.podsSaturated > 0 || figures.busySlots >= 1))
    state = 'BackendSaturated';
  else if (figures.podsSaturated > 0 && figures.podsSaturated * 2 >= figures.podsReporting)
    state = 'Saturated';
  else if (figures.utilization >= BUSY_UTILIZATION) state = 'Busy';
  else state = 'Calm';
  return { time: round.time, state, figures, backend };
}
