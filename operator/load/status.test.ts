import { describe, expect, it } from 'vitest';
import { LOAD_PODS_MAX_ITEMS } from '../api/status.js';
import { judgement } from './fixtures.test-helpers.js';
import { recording, replay } from './replay.test-helpers.js';
import type { PodObservation } from './round.js';
import {
  loadStatus,
  MIN_REPORT_INTERVAL_MS,
  rounded,
  unreadLoad,
  worthReporting,
} from './status.js';

describe('rounded', () => {
  it('keeps two significant digits (one decimal under 10)', () => {
    expect([0, 0.04, 3.16, 9.96, 12.4, 123.4, 1234, 0.000_1, -3].map(rounded)).toEqual([
      0, 0, 3.2, 10, 12, 120, 1200, 0, 0,
    ]);
  });
});

describe('status.load', () => {
  it('reports a recorded saturation with its figures, rounded', () => {
    const rounds = replay(recording('saturated'));
    const heavy = rounds.find((r) => r.at > 60);
    if (!heavy) throw new Error('no round');
    const status = loadStatus(heavy.judgement, heavy.time);
    expect(status).toMatchObject({
      state: 'Saturated',
      podsReporting: 2,
      concurrency: 4,
      saturationPercent: 100,
    });
    expect(status.shedPerMinute).toBeGreaterThan(100);
    expect(status.backendBaselineMs).toBeGreaterThan(380);
    expect(status.pods?.map((p) => p.state)).toEqual(['Saturated', 'Saturated']);
    for (const value of [status.shedPerMinute, status.backendLatencyMs, status.requestsPerMinute]) {
      expect(rounded(value ?? 0)).toBe(value);
    }
  });

  it('lists at most LOAD_PODS_MAX_ITEMS pods, worst first', () => {
    const pods: PodObservation[] = Array.from({ length: 30 }, (_, i) => ({
      pod: `p-${String(i).padStart(2, '0')}`,
      uid: `u${i}`,
      kind: i === 17 ? 'unreachable' : 'notRunning',
      reason: i === 17 ? 'no answer within 3000 ms' : 'phase Pending',
    }));
    const status = loadStatus({ ...judgement('Unknown'), pods }, 0);
    expect(status.pods).toHaveLength(LOAD_PODS_MAX_ITEMS);
    expect(status.pods?.[0]).toMatchObject({ name: 'p-17', state: 'Unreachable' });
  });

  it('is rewritten when the state changes, and at most every 30 s while only figures move', () => {
    const rounds = replay(recording('saturated'));
    const at = (second: number) => rounds.find((r) => r.at >= second);
    const calm = at(20);
    const calmLater = at(25);
    const saturated = at(40);
    const saturatedLater = at(45);
    if (!calm || !calmLater || !saturated || !saturatedLater) throw new Error('rounds missing');
    const reported = loadStatus(calm.judgement, calm.time);
    expect(
      worthReporting(reported, loadStatus(calmLater.judgement, calmLater.time), calmLater.time),
    ).toBe(
      loadStatus(calmLater.judgement, calmLater.time).message !== reported.message &&
        calmLater.time - calm.time >= MIN_REPORT_INTERVAL_MS,
    );
    expect(
      worthReporting(reported, loadStatus(saturated.judgement, saturated.time), saturated.time),
    ).toBe(true);
    const s1 = loadStatus(saturated.judgement, saturated.time);
    const s2 = loadStatus(saturatedLater.judgement, saturatedLater.time);
    expect(s2.message).not.toBe(s1.message);
    expect(worthReporting(s1, s2, saturatedLater.time)).toBe(false);
    expect(worthReporting(s1, s2, saturated.time + MIN_REPORT_INTERVAL_MS)).toBe(true);
  });

  it('is never rewritten while nothing changes: idle rounds give the same status.load', () => {
    const rounds = replay(recording('saturated')).filter((r) => r.at > 100);
    expect(rounds.length).toBeGreaterThan(2);
    const first = loadStatus(rounds[0]!.judgement, rounds[0]!.time);
    for (const r of rounds.slice(1)) {
      expect(worthReporting(first, loadStatus(r.judgement, r.time), r.time + 3_600_000)).toBe(
        false,
      );
    }
  });

  it('says plainly when load is not read at all', () => {
    expect(unreadLoad('load metrics are not read: LLMPLAN_LOAD_SCRAPE=off')).toEqual({
      state: 'Unknown',
      message: 'load metrics are not read: LLMPLAN_LOAD_SCRAPE=off',
      podsReporting: 0,
      inFlight: 0,
      concurrency: 0,
      queued: 0,
      saturationPercent: 0,
    });
  });
});
