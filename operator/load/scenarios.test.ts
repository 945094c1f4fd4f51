/**
 * load → verdict → decision on recorded series: real summarizer processes in front of the
 * fake LM Studio, scraped every 5 s (test/support/load/record.ts wrote test/support/fixtures/load/). Each
 * round goes through the same pure functions as in the operator (samples → track → judge),
 * then remediation decides on it round after round, status carried from one to the next.
 */
import { describe, expect, it } from 'vitest';
import type { Recording } from '../../test/support/load/record.js';
import type { SummarizerServiceSpecInput } from '../api/spec.js';
import type { SummarizerServiceStatus } from '../api/status.js';
import { effectiveReplicas } from '../desired/state.js';
import { decide } from '../remediation/decide.js';
import { summarizerService } from '../remediation/fixtures.test-helpers.js';
import { overridesFrom } from '../remediation/overrides.js';
import { problemPod } from './problem-pod.js';
import { type Replayed, recording, replay } from './replay.test-helpers.js';

interface Taken {
  at: number;
  action: string;
  reason: string;
  from?: string;
  to?: string;
  message: string;
}

/** Remediation deciding on every replayed round, as the reconciler would (healthy rollout). */
function decideOver(
  rec: Recording,
  spec: SummarizerServiceSpecInput,
  options: { podRestartAfterSeconds?: number } = {},
): { rounds: Replayed[]; actions: Taken[]; held: { at: number; held: string }[] } {
  const cr0 = summarizerService(spec, {});
  const specScale = effectiveReplicas(cr0);
  const rounds = replay(rec, {
    specReplicas: specScale.autoscaling ? specScale.minReplicas : specScale.replicas,
    ...options,
  });
  let status: SummarizerServiceStatus = { lastHealthyRevision: 'bbbb', currentRevision: 'bbbb' };
  const actions: Taken[] = [];
  const held: { at: number; held: string }[] = [];
  for (const round of rounds) {
    const cr = summarizerService(spec, status);
    const scale = effectiveReplicas(cr, overridesFrom(status.remediation, new Map()));
    const decision = decide({
      cr,
      verdict: { kind: 'healthy', message: 'rolled out' },
      specRevision: 'bbbb',
      servedRevision: 'bbbb',
      knownRevisions: new Set(['bbbb']),
      effectiveMemoryLimit: '1Gi',
      effectiveReplicas: scale.autoscaling ? scale.minReplicas : scale.replicas,
      load: round.judgement,
      livePods: new Set(rec.pods),
      now: new Date(round.time),
    });
    status = { ...status, ...decision.status };
    if (decision.action) actions.push({ at: round.at, ...decision.action });
    if (decision.held) held.push({ at: round.at, held: decision.held });
  }
  return { rounds, actions, held };
}

const statesOf = (rounds: Replayed[], fromSecond: number, toSecond: number) =>
  new Set(
    rounds.filter((r) => r.at >= fromSecond && r.at < toSecond).map((r) => r.judgement.state),
  );

describe('recorded: pods saturated, LM Studio with spare capacity', () => {
  const rec = recording('saturated');

  it('is calm at one client at a time, learns LM Studio’s usual latency, then saturated at that latency', () => {
    const rounds = replay(rec);
    expect(statesOf(rounds, 0, 33)).toEqual(new Set(['Calm']));
    const heavy = rounds.filter((r) => r.at >= 36 && r.at < 90);
    expect(heavy.length).toBeGreaterThan(8);
    for (const r of heavy) {
      expect(r.judgement.state).toBe('Saturated');
      expect(r.judgement.latest?.backend.state).toBe('normal');
    }
    // 400 ms per call whether one client or sixteen: the pods' own limit is the bottleneck.
    const baseline = heavy.at(-1)?.judgement.baseline ?? 0;
    expect(baseline).toBeGreaterThan(0.38);
    expect(baseline).toBeLessThan(0.45);
    expect(heavy.at(-1)?.judgement.message).toMatch(
      /2\/2 pod\(s\) saturated: .* shed\/min; LM Studio 0\.\d+ s per call \(baseline 0\.4\d s, ×1\.\d\)/,
    );
    expect(statesOf(rounds, 97, 200)).toEqual(new Set(['Calm']));
  });

  it('scales up once after afterSeconds, never above the maximum, and back after cooldownSeconds of calm', () => {
    const { actions } = decideOver(rec, {
      replicas: 2,
      remediation: { cooldownSeconds: 15, scaleUp: { replicas: 5, afterSeconds: 20 } },
    });
    expect(actions.map((a) => a.action)).toEqual(['ScaleUp', 'ScaleUpReverted']);
    const [up, back] = actions;
    expect(up).toMatchObject({ reason: 'Saturated', from: '2', to: '5' });
    // Saturation was first seen by the round at 35 s: 20 s later.
    expect(up?.at).toBeGreaterThanOrEqual(50);
    expect(up?.at).toBeLessThanOrEqual(56);
    // Load stopped at 90 s; calm from the round at 95 s; 15 s of it.
    expect(back?.at).toBeGreaterThanOrEqual(105);
    expect(back?.at).toBeLessThanOrEqual(116);

    const capped = decideOver(rec, {
      replicas: 2,
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 3 },
      remediation: { cooldownSeconds: 15, scaleUp: { replicas: 5, afterSeconds: 20 } },
    });
    expect(capped.actions[0]).toMatchObject({ action: 'ScaleUp', to: '3' });
  });

  it('does nothing for saturation shorter than afterSeconds', () => {
    const { actions, held } = decideOver(rec, {
      replicas: 2,
      remediation: { scaleUp: { replicas: 5, afterSeconds: 120 } },
    });
    expect(actions).toEqual([]);
    expect(held.at(-1)?.held ?? held.find((h) => h.at < 91)?.held).toBeDefined();
    expect(held.filter((h) => h.at < 91).at(-1)?.held).toMatch(/saturated for \d+ s of 120 s/);
  });
});

describe('recorded: LM Studio is the bottleneck (one prediction at a time)', () => {
  const rec = recording('backend-bottleneck');

  it('says so, with the figures, and never scales up', () => {
    const { rounds, actions, held } = decideOver(rec, {
      replicas: 2,
      remediation: { cooldownSeconds: 0, scaleUp: { replicas: 5, afterSeconds: 0 } },
    });
    const heavy = rounds.filter((r) => r.at >= 36 && r.at < 90);
    for (const r of heavy) expect(r.judgement.state).toBe('BackendSaturated');
    expect(heavy.at(-1)?.judgement.message).toMatch(
      /^LM Studio is the bottleneck: \d\.\d+ s per call, ×\d+\.\d its light-load baseline 0\.3\d s, with \d\.\d calls in flight on average; more pods would only deepen its queue/,
    );
    expect(actions.filter((a) => a.action === 'ScaleUp')).toEqual([]);
    expect(held.some((h) => h.held.startsWith('no scale-up: LM Studio is the bottleneck'))).toBe(
      true,
    );
  });
});

describe('recorded: LM Studio slowing down under a steady load', () => {
  const rec = recording('backend-slowing');

  it('is busy while LM Studio answers in 300 ms, and names LM Studio once it takes 1 s and 2 s', () => {
    const rounds = replay(rec, { specReplicas: 2 });
    expect(statesOf(rounds, 36, 62)).toEqual(new Set(['Busy']));
    expect(statesOf(rounds, 66, 200)).toEqual(new Set(['BackendSaturated']));
    const ratio = (r: Replayed | undefined) =>
      r?.judgement.latest?.backend.state === 'saturated' &&
      r.judgement.latest.backend.why === 'latency'
        ? r.judgement.latest.backend.ratio
        : 0;
    expect(ratio(rounds.find((r) => r.at > 70))).toBeGreaterThan(2.5);
    expect(ratio(rounds.at(-1))).toBeGreaterThan(5);
    const { actions } = decideOver(rec, {
      replicas: 2,
      remediation: { scaleUp: { replicas: 5, afterSeconds: 0 } },
    });
    expect(actions).toEqual([]);
  });
});

describe('recorded: flapping load (10 s bursts, 10 s pauses)', () => {
  const rec = recording('flapping');

  it('never scales up when afterSeconds is longer than the bursts have lasted', () => {
    expect(
      decideOver(rec, { replicas: 2, remediation: { scaleUp: { replicas: 5, afterSeconds: 150 } } })
        .actions,
    ).toEqual([]);
  });

  it('counts bursts that refuse most requests as sustained: one scale-up, kept while the bursts go on', () => {
    const { rounds, actions } = decideOver(rec, {
      replicas: 2,
      remediation: { cooldownSeconds: 15, scaleUp: { replicas: 5, afterSeconds: 30 } },
    });
    // Pauses between bursts do not reset the clock (3 rounds in 4 saturated), nor do they
    // count as calm: one scale-up, no revert until the bursts stop.
    expect(actions.map((a) => a.action)).toEqual(['ScaleUp']);
    const calmRounds = rounds.filter((r) => r.judgement.state === 'Calm' && r.at > 40);
    expect(calmRounds.length).toBeGreaterThan(3);
  });
});

describe('recorded: a pod stops answering (SIGSTOP) while its siblings serve', () => {
  const rec = recording('pod-stops-answering');

  it('restarts that pod, and only it, once it has been silent for afterSeconds', () => {
    const { rounds, actions } = decideOver(
      rec,
      { replicas: 3, remediation: { cooldownSeconds: 60 } },
      { podRestartAfterSeconds: 20 },
    );
    const stoppedAt = rec.phases[1]?.fromMs ?? 0;
    const firstSilent = rounds.find((r) => r.at * 1000 > stoppedAt)?.at ?? 0;
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      action: 'PodRestart',
      reason: 'MetricsStopped',
      from: 'pod-1',
    });
    expect(actions[0]?.at).toBeGreaterThanOrEqual(firstSilent + 20);
    expect(actions[0]?.at).toBeLessThanOrEqual(firstSilent + 30);
    expect(actions[0]?.message).toMatch(
      /served its metrics, then stopped answering .* 2 sibling\(s\) answer/,
    );
    // Before it stopped, no pod was out of line.
    expect(
      rounds.filter((r) => r.at * 1000 < stoppedAt).every((r) => !r.judgement.problemPod),
    ).toBe(true);
  });
});

describe('recorded: one pod with its own (bad) LM Studio URL', () => {
  const rec = recording('bad-pod');

  it('names that pod and no other: its breaker is open while LM Studio answers its siblings', () => {
    const rounds = replay(rec, { podRestartAfterSeconds: 20 });
    const named = rounds.flatMap((r) => (r.judgement.problemPod ? [r.judgement.problemPod] : []));
    expect(new Set(named.map((p) => p.pod))).toEqual(new Set(['pod-2']));
    // From the first round it is named in, for its breaker: the 5xx it answers are the open
    // breaker's, and they count from the same moment (the breaker opened 0–5 s in, with
    // them): 20 s after that, not sooner.
    expect(new Set(named.map((p) => p.reason))).toEqual(new Set(['BackendUnreachableFromPod']));
    const opened = rounds.find((r) =>
      r.tracked.history.rounds.at(-1)?.pods.some((p) => p.kind === 'metrics' && p.sample.circuit),
    );
    const firstNamed = rounds.find((r) => r.judgement.problemPod);
    expect(opened?.at).toBe(5);
    expect(firstNamed?.at).toBeGreaterThanOrEqual(25);
    expect(firstNamed?.at).toBeLessThan(30);
    // The siblings see LM Studio at its normal latency, the resource is not saturated.
    expect(rounds.at(-1)?.judgement.state).not.toBe('Saturated');
  });

  it('with the breaker left aside, its 5xx answers alone single it out', () => {
    const replayed = replay(rec, { podRestartAfterSeconds: 20 });
    const history = replayed.at(-1)?.tracked.history;
    if (!history) throw new Error('no history');
    const withoutBreaker = {
      ...history,
      rounds: history.rounds.map((round) => ({
        ...round,
        pods: round.pods.map((p) =>
          p.kind === 'metrics' ? { ...p, sample: { ...p.sample, circuit: 0 } } : p,
        ),
      })),
    };
    const found = problemPod(withoutBreaker, replayed.at(-1)?.time ?? 0, 20_000);
    expect(found).toMatchObject({ pod: 'pod-2', reason: 'ErrorsOutOfLine' });
    expect(found?.message).toMatch(
      /pod pod-2 answered \d+ of \d+ summary requests with 5xx \(\d+ %\)/,
    );
  });

  it('5xx that start inside the window do not single a pod out yet', () => {
    const replayed = replay(rec, { podRestartAfterSeconds: 20 });
    const end = replayed.at(-1);
    if (!end) throw new Error('no rounds');
    const now = end.time;
    const windowStart = now - 20_000;
    // The breaker left aside, and the pod's interval that ends just before the window made
    // clean: the window's own intervals still pass the thresholds, but the pod has not been
    // failing for all of it.
    const lastBefore = end.tracked.history.rounds.findIndex((r) => r.time >= windowStart) - 1;
    const rewritten = (cleanBefore: boolean) => ({
      ...end.tracked.history,
      rounds: end.tracked.history.rounds.map((round, i) => ({
        ...round,
        pods: round.pods.map((p) => {
          if (p.kind !== 'metrics') return p;
          const sample = { ...p.sample, circuit: 0 };
          if (!(cleanBefore && i === lastBefore && p.pod === 'pod-2' && p.interval)) {
            return { ...p, sample };
          }
          return { ...p, sample, interval: { ...p.interval, serverErrors: 0 } };
        }),
      })),
    });
    expect(problemPod(rewritten(false), now, 20_000)?.reason).toBe('ErrorsOutOfLine');
    expect(problemPod(rewritten(true), now, 20_000)).toBeUndefined();
  });
});
