/**
 * Replays a recorded load series (test/support/fixtures/load/<name>.json.gz, made by
 * test/support/load/record.ts from real summarizer processes) through the operator's pure load
 * pipeline: each round's /metrics → samples → track → judge, as the monitor does live.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Recording } from '../../test/support/load/record.js';
import { judge, type LoadJudgement } from './judge.js';
import type { PodObservation } from './round.js';
import { readSample } from './sample.js';
import { startTracking, type Tracked, track } from './track.js';

export const RECORDING_START = Date.parse('2026-01-01T00:00:00Z');

export function recording(name: string): Recording {
  const file = path.resolve(
    import.meta.dirname,
    '../../test/support/fixtures/load',
    `${name}.json.gz`,
  );
  return JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Recording;
}

export interface Replayed {
  /** Seconds since the recording started. */
  at: number;
  time: number;
  tracked: Tracked;
  judgement: LoadJudgement;
}

export function observations(rec: Recording, index: number): PodObservation[] {
  const round = rec.rounds[index];
  if (!round) return [];
  const time = RECORDING_START + round.at;
  return rec.pods.map((pod): PodObservation => {
    const scraped = round.pods[pod];
    if (!scraped || 'error' in scraped) {
      return { pod, uid: pod, kind: 'unreachable', reason: scraped?.error ?? 'not scraped' };
    }
    const result = readSample(scraped.text, time);
    return result.ok
      ? { pod, uid: pod, kind: 'metrics', sample: result.sample }
      : { pod, uid: pod, kind: 'noLoadMetrics', reason: result.missing.join(', ') };
  });
}

export function replay(
  rec: Recording,
  options: { specReplicas?: number; podRestartAfterSeconds?: number } = {},
): Replayed[] {
  let tracked = startTracking();
  const out: Replayed[] = [];
  let previous: LoadJudgement | undefined;
  for (const [i, round] of rec.rounds.entries()) {
    const time = RECORDING_START + round.at;
    tracked = track(tracked, observations(rec, i), time);
    const judgement = judge(
      tracked.history,
      {
        now: time,
        intervalMs: rec.intervalMs,
        specReplicas: options.specReplicas ?? rec.pods.length,
        podRestartAfterMs: (options.podRestartAfterSeconds ?? 20) * 1000,
      },
      previous
        ? { state: previous.state, ...(previous.since ? { since: previous.since } : {}) }
        : undefined,
    );
    previous = judgement;
    out.push({ at: round.at / 1000, time, tracked, judgement });
  }
  return out;
}
