/**
 * What happened in a pod between two scrapes — pure: two samples in, rates and percentiles
 * out. Counters only grow; a smaller value (or a new process start time) means the pod's
 * process started again, and that interval is not judged.
 */
import type { Histogram, PodSample } from './sample.js';

export interface PodInterval {
  seconds: number;
  /** Busy LM Studio slots on average (time-weighted), 0…concurrency. */
  busySlots: number;
  /** busySlots / concurrency, with the slots full at the scrape counted in: 0…1. */
  utilization: number;
  shed: number;
  /** Requests admitted or shed in the interval (queue waits observed). */
  waits: number;
  /** Seconds, from the histogram deltas; undefined without observations. */
  queueWaitP95?: number;
  /** Average number of requests waiting (wait seconds / interval seconds). */
  averageQueue: number;
  chatCalls: number;
  /** Mean and 95th percentile of successful chat calls, seconds. */
  chatMean?: number;
  chatP95?: number;
  chatFailed: number;
  chatRefused: number;
  requests: number;
  serverErrors: number;
}

/** Why two samples make no interval. */
export type IntervalResult = { ok: true; interval: PodInterval } | { ok: false; reason: string };

function delta(a: number, b: number): number {
  return b - a;
}

function histogramDelta(a: Histogram, b: Histogram): Histogram | undefined {
  if (b.count < a.count || b.sum < a.sum - 1e-9) return undefined;
  if (a.bounds.length !== b.bounds.length) {
    // The first observation of a labelled histogram adds its buckets: start from zero.
    return a.count === 0 ? b : undefined;
  }
  return {
    bounds: b.bounds,
    counts: b.counts.map((c, i) => c - (a.counts[i] ?? 0)),
    sum: b.sum - a.sum,
    count: b.count - a.count,
  };
}

/**
 * The q-quantile of a histogram's observations, interpolated linearly inside the bucket as
 * PromQL's histogram_quantile does; the highest finite bound when it falls in +Inf.
 */
export function quantile(h: Histogram, q: number): number | undefined {
  if (h.count <= 0 || h.bounds.length === 0) return undefined;
  const rank = q * h.count;
  for (let i = 0; i < h.bounds.length; i++) {
    const count = h.counts[i] ?? 0;
    if (count >= rank) {
      const upper = h.bounds[i] ?? 0;
      if (!Number.isFinite(upper)) return h.bounds[i - 1] ?? 0;
      const lower = i === 0 ? 0 : (h.bounds[i - 1] ?? 0);
      const below = i === 0 ? 0 : (h.counts[i - 1] ?? 0);
      const inBucket = count - below;
      if (inBucket <= 0) return upper;
      return lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return h.bounds.filter(Number.isFinite).at(-1);
}

export function podInterval(previous: PodSample, current: PodSample): IntervalResult {
  const seconds = (current.time - previous.time) / 1000;
  if (!(seconds > 0)) return { ok: false, reason: 'no time between the two scrapes' };
  if (
    previous.processStart !== undefined &&
    current.processStart !== undefined &&
    previous.processStart !== current.processStart
  ) {
    return { ok: false, reason: 'the process restarted between the two scrapes' };
  }
  const queueWait = histogramDelta(previous.queueWait, current.queueWait);
  const chatOk = histogramDelta(previous.chatOk, current.chatOk);
  const counters = [
    delta(previous.shed, current.shed),
    delta(previous.chatFailed, current.chatFailed),
    delta(previous.chatRefused, current.chatRefused),
    delta(previous.callSeconds, current.callSeconds),
    delta(previous.requests, current.requests),
    delta(previous.serverErrors, current.serverErrors),
  ];
  if (!queueWait || !chatOk || counters.some((d) => d < -1e-9)) {
    return { ok: false, reason: 'counters went down: the process restarted' };
  }
  const [shed = 0, chatFailed = 0, chatRefused = 0, callSeconds = 0, requests = 0, errors = 0] =
    counters;
  const concurrency = Math.max(1, current.concurrency);
  const busySlots = Math.min(concurrency, callSeconds / seconds);
  const full = current.inFlight >= concurrency ? 1 : 0;
  const queueWaitP95 = quantile(queueWait, 0.95);
  const chatMean = chatOk.count > 0 ? chatOk.sum / chatOk.count : undefined;
  const chatP95 = quantile(chatOk, 0.95);
  return {
    ok: true,
    interval: {
      seconds,
      busySlots,
      utilization: Math.max(busySlots / concurrency, full),
      shed,
      waits: queueWait.count,
      ...(queueWaitP95 !== undefined ? { queueWaitP95 } : {}),
      averageQueue: queueWait.sum / seconds,
      chatCalls: chatOk.count,
      ...(chatMean !== undefined ? { chatMean } : {}),
      ...(chatP95 !== undefined ? { chatP95 } : {}),
      chatFailed,
      chatRefused,
      requests,
      serverErrors: errors,
    },
  };
}
