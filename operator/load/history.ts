/**
 * A resource's recent scrape rounds, judged, and what they teach about LM Studio — pure
 * values, replaced (never mutated) by {@link addRound}. The monitor keeps one per resource
 * in memory; what must survive a restart (the baseline) is also written to status.load and
 * seeds a new history.
 */
import { judgeRound, type Round, type RoundVerdict } from './round.js';

/** Rounds older than this are forgotten (the longest window anything looks back over). */
export const HISTORY_WINDOW_MS = 15 * 60_000;
export const HISTORY_MAX_ROUNDS = 180;
/** Light-load chat latencies make the baseline for this long… */
export const BASELINE_WINDOW_MS = 60 * 60_000;
/** …the median of at most this many… */
export const BASELINE_MAX_ROUNDS = 30;
/** …and of at least this many (else the baseline is unknown, or the one seeded from status). */
export const BASELINE_MIN_ROUNDS = 3;
/**
 * A round is light (its chat latency is LM Studio's unloaded latency) when at most one call
 * was in flight at the scrape and at most this many on average (a sequential client's call
 * that straddles the previous scrape counts whole in this interval: a little over 1).
 */
export const LIGHT_BUSY_SLOTS = 1.25;

export interface LoadHistory {
  /** Oldest first. */
  readonly rounds: readonly Round[];
  /** One per round, same order. */
  readonly verdicts: readonly RoundVerdict[];
  /** Mean chat latency (seconds) of light rounds, oldest first. */
  readonly light: readonly { time: number; seconds: number }[];
  /** uids of pods that have served load metrics: only those can "stop answering". */
  readonly answered: ReadonlySet<string>;
  /** The baseline read back from status after a restart, until light rounds replace it. */
  readonly seededBaseline?: number;
}

export function emptyHistory(seededBaseline?: number): LoadHistory {
  return {
    rounds: [],
    verdicts: [],
    light: [],
    answered: new Set(),
    ...(seededBaseline !== undefined && seededBaseline > 0 ? { seededBaseline } : {}),
  };
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** LM Studio's usual chat latency, seconds: the median of recent light rounds. */
export function baselineOf(history: LoadHistory): number | undefined {
  if (history.light.length >= BASELINE_MIN_ROUNDS) {
    return median(history.light.map((l) => l.seconds));
  }
  return history.seededBaseline;
}

/** The history with `round` judged and added; old rounds and light samples dropped. */
export function addRound(history: LoadHistory, round: Round): LoadHistory {
  const verdict = judgeRound(round, baselineOf(history), history.verdicts.at(-1));
  const oldest = round.time - HISTORY_WINDOW_MS;
  let first = history.rounds.findIndex((r) => r.time >= oldest);
  if (first === -1) first = history.rounds.length;
  first = Math.max(first, history.rounds.length + 1 - HISTORY_MAX_ROUNDS);
  const rounds = [...history.rounds.slice(first), round];
  const verdicts = [...history.verdicts.slice(first), verdict];

  let light = history.light;
  const f = verdict.figures;
  if (
    f.podsReporting > 0 &&
    f.chatCalls > 0 &&
    f.chatMean !== undefined &&
    f.inFlight <= 1 &&
    f.busySlots <= LIGHT_BUSY_SLOTS
  ) {
    light = [...light, { time: round.time, seconds: f.chatMean }];
  }
  light = light
    .filter((l) => l.time >= round.time - BASELINE_WINDOW_MS)
    .slice(-BASELINE_MAX_ROUNDS);

  const present = new Set(round.pods.map((p) => p.uid));
  const answered = new Set([...history.answered].filter((uid) => present.has(uid)));
  for (const obs of round.pods) if (obs.kind === 'metrics') answered.add(obs.uid);

  return {
    rounds,
    verdicts,
    light,
    answered,
    ...(history.seededBaseline !== undefined ? { seededBaseline: history.seededBaseline } : {}),
  };
}

/**
 * The start of the newest run of verdicts matching `match`, tolerating misses: the earliest
 * start from which at least 3 in 4 rounds match, never across two misses in a row. A run
 * starts at the first round that saw it (not at the interval before, when it may not yet
 * have begun): a duration measured from it is never longer than the truth.
 * Undefined when the newest verdict does not match.
 */
export function runStart(
  history: LoadHistory,
  match: (v: RoundVerdict) => boolean,
): number | undefined {
  const { verdicts } = history;
  const newest = verdicts.at(-1);
  if (!newest || !match(newest)) return undefined;
  let start: number | undefined;
  let matched = 0;
  let total = 0;
  let missesInARow = 0;
  for (let i = verdicts.length - 1; i >= 0; i--) {
    const verdict = verdicts[i];
    if (!verdict) break;
    total += 1;
    if (match(verdict)) {
      matched += 1;
      missesInARow = 0;
      if (matched * 4 >= total * 3) start = verdict.time;
    } else {
      missesInARow += 1;
      if (missesInARow >= 2) break;
    }
  }
  return start;
}
