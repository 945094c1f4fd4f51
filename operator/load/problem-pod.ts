/**
 * The runbook's partial failure — one pod failing while its siblings serve the same LM
 * Studio — found in a resource's recent rounds, pure. Only a pod out of line with its
 * siblings counts: when every pod fails alike the cause is shared (LM Studio, the build),
 * and restarting pods would not help. At most one pod is named.
 */
import type { LoadHistory } from './history.js';
import type { PodObservation, Round } from './round.js';

/** Out of line: this share of its summary requests answered 5xx… */
export const POD_ERROR_SHARE = 0.5;
/** …at least this many of them in the window… */
export const POD_MIN_ERRORS = 3;
/** …while its siblings' share stays at most this. */
export const SIBLINGS_ERROR_SHARE = 0.1;
/** Slow: its LM Studio calls take this many times its siblings'… */
export const POD_LATENCY_FACTOR = 3;
/** …and at least this much longer (seconds), each side with enough calls. */
export const POD_LATENCY_MARGIN_SECONDS = 1;
export const POD_MIN_CALLS = 3;

export type ProblemReason =
  | 'MetricsStopped'
  | 'BackendUnreachableFromPod'
  | 'ErrorsOutOfLine'
  | 'LatencyOutOfLine';

export interface ProblemPod {
  pod: string;
  uid: string;
  reason: ProblemReason;
  /** The figures, for the history entry and the Event. */
  message: string;
}

interface Totals {
  requests: number;
  errors: number;
  calls: number;
  chatSeconds: number;
}

function totals(observations: readonly PodObservation[]): Totals {
  const t: Totals = { requests: 0, errors: 0, calls: 0, chatSeconds: 0 };
  for (const obs of observations) {
    if (obs.kind !== 'metrics' || !obs.interval) continue;
    t.requests += obs.interval.requests;
    t.errors += obs.interval.serverErrors;
    t.calls += obs.interval.chatCalls;
    t.chatSeconds += (obs.interval.chatMean ?? 0) * obs.interval.chatCalls;
  }
  return t;
}

/** Its circuit breaker in front of LM Studio is not closed (open, or half-open trying again). */
const backendDownFor = (obs: PodObservation | undefined) =>
  obs?.kind === 'metrics' && obs.sample.circuit !== undefined && obs.sample.circuit !== 0;
/** Its breaker is closed and LM Studio answered it in the last interval. */
const backendUpFor = (obs: PodObservation | undefined) =>
  obs?.kind === 'metrics' && obs.sample.circuit === 0 && (obs.interval?.chatCalls ?? 0) > 0;

/** A pod's mean LM Studio latency out of line with its siblings' (seconds). */
const slower = (mean: number, siblingsMean: number) =>
  mean >= POD_LATENCY_FACTOR * siblingsMean && mean - siblingsMean >= POD_LATENCY_MARGIN_SECONDS;

const pct = (share: number) => `${Math.round(share * 100)} %`;

/**
 * The pod to restart, if one has been out of line for the whole of the last `afterMs`
 * (the rounds must reach back that far, with at least two of them in it).
 */
export function problemPod(
  history: LoadHistory,
  now: number,
  afterMs: number,
): ProblemPod | undefined {
  const latest = history.rounds.at(-1);
  const first = history.rounds[0];
  if (!latest || !first || now - first.time < afterMs) return undefined;
  const windowStart = now - afterMs;
  // The rounds covering the window: those inside it, and the one just before it.
  let from = history.rounds.findIndex((r) => r.time >= windowStart);
  if (from === -1) return undefined;
  from = Math.max(0, from - 1);
  const rounds: readonly Round[] = history.rounds.slice(from);
  if (rounds.length < 2) return undefined;

  const candidates = latest.pods.filter((p) => p.kind === 'metrics' || p.kind === 'unreachable');
  const found: ProblemPod[] = [];
  for (const pod of candidates) {
    const mine = rounds.map((r) => r.pods.find((p) => p.uid === pod.uid));
    if (mine.some((o) => o === undefined)) continue; // not there for the whole window
    const siblingsNow = latest.pods.filter((p) => p.uid !== pod.uid && p.kind === 'metrics');
    if (siblingsNow.length === 0) continue;
    const name = pod.pod;

    if (mine.every((o) => o?.kind === 'unreachable') && history.answered.has(pod.uid)) {
      const reason = pod.kind === 'unreachable' ? pod.reason : 'no answer';
      found.push({
        pod: name,
        uid: pod.uid,
        reason: 'MetricsStopped',
        message: `pod ${name} served its metrics, then stopped answering for ${Math.round(afterMs / 1000)} s while Running (${reason}); ${siblingsNow.length} sibling(s) answer`,
      });
      continue;
    }
    if (!mine.every((o) => o?.kind === 'metrics')) continue;
    const siblings = rounds.flatMap((r) => r.pods.filter((p) => p.uid !== pod.uid));
    // Each signal must already hold at the window's start, so that every reason means "for
    // at least afterSeconds": the breaker (a gauge) in the sample before the window, the 5xx
    // and the slow calls (counters) in the interval that ends with that sample, and in the
    // window. A pod whose breaker opened with its first 5xx is so named for the breaker,
    // never a round sooner for the 503s that the open breaker answers.
    const inWindow = mine.slice(1) as PodObservation[];
    const before = mine[0]?.kind === 'metrics' ? mine[0].interval : undefined;

    if (mine.every(backendDownFor) && siblingsNow.some(backendUpFor)) {
      found.push({
        pod: name,
        uid: pod.uid,
        reason: 'BackendUnreachableFromPod',
        message: `pod ${name} has not reached LM Studio for ${Math.round(afterMs / 1000)} s (its circuit breaker open) while ${siblingsNow.filter(backendUpFor).length} sibling(s) are answered by it`,
      });
      continue;
    }
    const own = totals(inWindow);
    const others = totals(siblings);
    const ownShare = own.requests > 0 ? own.errors / own.requests : 0;
    const othersShare = others.requests > 0 ? others.errors / others.requests : 1;
    if (
      (before?.serverErrors ?? 0) > 0 &&
      own.errors >= POD_MIN_ERRORS &&
      ownShare >= POD_ERROR_SHARE &&
      others.requests >= POD_MIN_ERRORS &&
      othersShare <= SIBLINGS_ERROR_SHARE
    ) {
      found.push({
        pod: name,
        uid: pod.uid,
        reason: 'ErrorsOutOfLine',
        message: `pod ${name} answered ${own.errors} of ${own.requests} summary requests with 5xx (${pct(ownShare)}) in ${Math.round(afterMs / 1000)} s; its siblings ${others.errors} of ${others.requests} (${pct(othersShare)})`,
      });
      continue;
    }
    if (own.calls >= POD_MIN_CALLS && others.calls >= POD_MIN_CALLS) {
      const ownMean = own.chatSeconds / own.calls;
      const othersMean = others.chatSeconds / others.calls;
      const beforeMean = before && before.chatCalls > 0 ? (before.chatMean ?? 0) : 0;
      if (slower(ownMean, othersMean) && slower(beforeMean, othersMean)) {
        found.push({
          pod: name,
          uid: pod.uid,
          reason: 'LatencyOutOfLine',
          message: `pod ${name}'s LM Studio calls took ${ownMean.toFixed(2)} s on average over ${own.calls} calls; its siblings' ${othersMean.toFixed(2)} s over ${others.calls} (same LM Studio)`,
        });
      }
    }
  }
  // One at a time: the strongest signal first, then by name (stable across rounds).
  const order: ProblemReason[] = [
    'MetricsStopped',
    'BackendUnreachableFromPod',
    'ErrorsOutOfLine',
    'LatencyOutOfLine',
  ];
  return found.sort(
    (a, b) => order.indexOf(a.reason) - order.indexOf(b.reason) || a.pod.localeCompare(b.pod),
  )[0];
}
