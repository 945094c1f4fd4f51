import { describe, expect, it } from 'vitest';
import { judgement } from '../load/fixtures.test-helpers.js';
import type { Verdict } from './assess.js';
import { type DecisionInput, decide } from './decide.js';
import { summarizerService } from './fixtures.test-helpers.js';

const now = new Date('2026-01-01T01:00:00Z');
const crash: Verdict = {
  kind: 'failed',
  reason: 'CrashLoopBackOff',
  message: 'pod x: CrashLoopBackOff',
};
const oom: Verdict = { kind: 'failed', reason: 'OOMKilled', message: 'pod x: OOMKilled' };
const healthy: Verdict = { kind: 'healthy', message: 'ok' };

function input(
  overrides: Partial<DecisionInput> & Pick<DecisionInput, 'cr' | 'verdict'>,
): DecisionInput {
  return {
    specRevision: 'bbbb',
    servedRevision: 'bbbb',
    knownRevisions: new Set(['aaaa', 'bbbb']),
    effectiveMemoryLimit: '1Gi',
    effectiveReplicas: 1,
    livePods: new Set(['uid-a', 'uid-b']),
    now,
    ...overrides,
  };
}

const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

describe('decide: rollback', () => {
  const cr = summarizerService({}, { lastHealthyRevision: 'aaaa', currentRevision: 'bbbb' });

  it('rolls a failed revision back to the last healthy one, and says so', () => {
    const d = decide(input({ cr, verdict: crash }));
    expect(d.action).toMatchObject({
      action: 'Rollback',
      reason: 'CrashLoopBackOff',
      from: 'bbbb',
      to: 'aaaa',
    });
    expect(d.status.remediation?.rollback).toMatchObject({
      toRevision: 'aaaa',
      fromRevision: 'bbbb',
      specGeneration: 3,
    });
    expect(d.status.failedRevision).toBe('bbbb');
    expect(d.status.history).toHaveLength(1);
    expect(d.status.history?.[0]).toMatchObject({
      action: 'Rollback',
      revision: 'bbbb',
      time: now.toISOString(),
    });
    expect(d.conditions).toEqual([
      expect.objectContaining({ type: 'Degraded', status: 'True', reason: 'RolledBack' }),
    ]);
  });

  it('keeps the rollback, without acting again, while the spec still asks for the failed template', () => {
    const first = decide(input({ cr, verdict: crash }));
    const after = summarizerService({}, { ...first.status, currentRevision: 'bbbb' });
    // The Deployment now serves the rollback target, and it is healthy.
    const again = decide(
      input({
        cr: after,
        verdict: healthy,
        servedRevision: 'aaaa',
        now: new Date(now.getTime() + 600_000),
      }),
    );
    expect(again.action).toBeUndefined();
    expect(again.status.remediation?.rollback?.toRevision).toBe('aaaa');
    expect(again.status.lastHealthyRevision).toBe('aaaa');
    expect(again.status.history).toHaveLength(1);
    expect(again.conditions[0]?.reason).toBe('RolledBack');
  });

  it('ends the rollback when the spec changes, and tries the new template', () => {
    const first = decide(input({ cr, verdict: crash }));
    const changed = summarizerService({}, first.status, 4);
    const next = decide(
      input({ cr: changed, verdict: { kind: 'progressing', message: '' }, specRevision: 'cccc' }),
    );
    expect(next.status.remediation?.rollback).toBeUndefined();
    expect(next.status.failedRevision).toBeUndefined();
    expect(next.conditions).toEqual([]);
  });

  it('holds when there is no earlier healthy revision, and reports the failure', () => {
    const fresh = summarizerService({}, {});
    const d = decide(input({ cr: fresh, verdict: crash }));
    expect(d.action).toBeUndefined();
    expect(d.held).toContain('no earlier healthy revision');
    expect(d.status.failedRevision).toBe('bbbb');
    expect(d.conditions[0]).toMatchObject({
      type: 'Degraded',
      status: 'True',
      reason: 'RolloutFailed',
    });
  });

  it('respects the cooldown and the hourly cap', () => {
    const cooling = summarizerService(
      { remediation: { cooldownSeconds: 300 } },
      { lastHealthyRevision: 'aaaa', remediation: { lastActionTime: minutesAgo(2) } },
    );
    expect(decide(input({ cr: cooling, verdict: crash })).held).toMatch(
      /^cooldown: next action possible in 180 s/,
    );

    const history = [10, 20, 30].map((m) => ({
      time: minutesAgo(m),
      action: 'Rollback',
      reason: 'CrashLoopBackOff',
    }));
    const capped = summarizerService(
      { remediation: { cooldownSeconds: 0, maxActionsPerHour: 3 } },
      { lastHealthyRevision: 'aaaa', history },
    );
    const d = decide(input({ cr: capped, verdict: crash }));
    expect(d.action).toBeUndefined();
    expect(d.held).toContain('3 actions in the last hour');
    // an action older than an hour does not count
    const old = summarizerService(
      { remediation: { cooldownSeconds: 0, maxActionsPerHour: 3 } },
      {
        lastHealthyRevision: 'aaaa',
        history: [...history.slice(0, 2), { ...history[2]!, time: minutesAgo(61) }],
      },
    );
    expect(decide(input({ cr: old, verdict: crash })).action?.action).toBe('Rollback');
  });

  it('does nothing when switched off or paused', () => {
    const off = summarizerService(
      { remediation: { rollback: { enabled: false } } },
      { lastHealthyRevision: 'aaaa' },
    );
    expect(decide(input({ cr: off, verdict: crash })).held).toBe('rollback is switched off');
    const disabled = summarizerService(
      { remediation: { enabled: false } },
      {
        lastHealthyRevision: 'aaaa',
        remediation: {
          rollback: {
            toRevision: 'aaaa',
            fromRevision: 'bbbb',
            specGeneration: 3,
            since: minutesAgo(5),
          },
        },
      },
    );
    const d = decide(input({ cr: disabled, verdict: crash }));
    expect(d.action).toBeUndefined();
    expect(d.status.remediation).toBeUndefined();
    const paused = summarizerService({ paused: true }, { lastHealthyRevision: 'aaaa' });
    expect(decide(input({ cr: paused, verdict: crash })).action).toBeUndefined();
  });

  it('never acts on a backend outage', () => {
    const d = decide(input({ cr, verdict: { kind: 'backendDown', message: 'LM Studio down' } }));
    expect(d.action).toBeUndefined();
    expect(d.conditions).toEqual([]);
  });
});

describe('decide: memory bump', () => {
  const spec = {
    resources: { limits: { memory: '1Gi' } },
    remediation: { cooldownSeconds: 0, oomMemoryBump: { factor: 1.5, maxMemory: '2Gi' } },
  };

  it('raises the limit by the factor, then to the cap, never beyond', () => {
    const first = decide(input({ cr: summarizerService(spec, {}), verdict: oom }));
    expect(first.action).toMatchObject({ action: 'MemoryBump', from: '1Gi', to: '1536Mi' });
    expect(first.status.remediation?.memoryBump).toMatchObject({
      memoryLimit: '1536Mi',
      specMemoryLimit: '1Gi',
    });

    const second = decide(
      input({
        cr: summarizerService(spec, first.status),
        verdict: oom,
        effectiveMemoryLimit: '1536Mi',
      }),
    );
    expect(second.action).toMatchObject({ action: 'MemoryBump', from: '1536Mi', to: '2Gi' });

    const third = decide(
      input({
        cr: summarizerService(spec, second.status),
        verdict: oom,
        effectiveMemoryLimit: '2Gi',
      }),
    );
    expect(third.action).toBeUndefined();
    expect(third.status.remediation?.memoryBump?.memoryLimit).toBe('2Gi');
  });

  it('falls back to a rollback when the limit is already at the cap', () => {
    const cr = summarizerService(spec, { lastHealthyRevision: 'aaaa' });
    expect(decide(input({ cr, verdict: oom, effectiveMemoryLimit: '2Gi' })).action?.action).toBe(
      'Rollback',
    );
  });

  it('ends the bump when the user changes the memory limit', () => {
    const bumped = decide(input({ cr: summarizerService(spec, {}), verdict: oom }));
    const changed = summarizerService(
      { ...spec, resources: { limits: { memory: '3Gi' } } },
      bumped.status,
      4,
    );
    expect(
      decide(input({ cr: changed, verdict: healthy, specRevision: 'cccc' })).status.remediation
        ?.memoryBump,
    ).toBeUndefined();
  });
});

describe('decide: emergency scale-up on load', () => {
  const spec = {
    replicas: 2,
    remediation: { cooldownSeconds: 60, scaleUp: { replicas: 5, afterSeconds: 30 } },
  };
  const saturated = (seconds: number) => judgement('Saturated', { saturatedForMs: seconds * 1000 });

  it('waits afterSeconds of saturation, then raises replicas, then goes back after cooldownSeconds of calm', () => {
    const cr = summarizerService(spec, { lastHealthyRevision: 'bbbb' });
    const early = decide(
      input({ cr, verdict: healthy, load: saturated(10), effectiveReplicas: 2 }),
    );
    expect(early.action).toBeUndefined();
    expect(early.held).toContain('saturated for 10 s of 30 s');

    const up = decide(input({ cr, verdict: healthy, load: saturated(40), effectiveReplicas: 2 }));
    expect(up.action).toMatchObject({ action: 'ScaleUp', reason: 'Saturated', from: '2', to: '5' });
    expect(up.conditions[0]?.reason).toBe('ScaledUp');

    const later = (seconds: number, status: typeof up.status, load = judgement('Calm')) =>
      decide(
        input({
          cr: summarizerService(spec, status),
          verdict: healthy,
          load,
          effectiveReplicas: 5,
          now: new Date(now.getTime() + seconds * 1000),
        }),
      );
    const calmStarts = later(10, up.status);
    expect(calmStarts.action).toBeUndefined();
    expect(calmStarts.status.remediation?.scaleUp?.healthySince).toBeDefined();
    // Still saturated at five pods: the calm clock starts again.
    const busyAgain = later(40, calmStarts.status, judgement('Busy', { calm: false }));
    expect(busyAgain.status.remediation?.scaleUp?.healthySince).toBeUndefined();
    const calmAgain = later(50, busyAgain.status);
    expect(later(100, calmAgain.status).action).toBeUndefined();
    const back = later(115, calmAgain.status);
    expect(back.action).toMatchObject({ action: 'ScaleUpReverted', reason: 'Calm', from: '5' });
    expect(back.status.remediation?.scaleUp).toBeUndefined();
  });

  it('never scales up while LM Studio is the bottleneck, nor before its usual latency is known', () => {
    const cr = summarizerService(spec, {});
    const backend = decide(
      input({
        cr,
        verdict: healthy,
        load: judgement('BackendSaturated', {
          backend: { state: 'saturated', why: 'latency', ratio: 4 },
        }),
        effectiveReplicas: 2,
      }),
    );
    expect(backend.action).toBeUndefined();
    expect(backend.held).toMatch(/^no scale-up: /);
    const unknown = decide(
      input({
        cr,
        verdict: healthy,
        load: judgement('Saturated', { saturatedForMs: 600_000, backend: { state: 'unknown' } }),
        effectiveReplicas: 2,
      }),
    );
    expect(unknown.action).toBeUndefined();
    expect(unknown.held).toMatch(/usual latency is not known yet/);
  });

  it('does not scale up on load during a rollout, nor without load figures', () => {
    const cr = summarizerService(spec, {});
    const progressing: Verdict = { kind: 'progressing', message: 'rolling' };
    expect(
      decide(input({ cr, verdict: progressing, load: saturated(600), effectiveReplicas: 2 }))
        .action,
    ).toBeUndefined();
    expect(decide(input({ cr, verdict: healthy, effectiveReplicas: 2 })).action).toBeUndefined();
  });

  it('never goes beyond the autoscaling maximum', () => {
    const cr = summarizerService(
      { ...spec, autoscaling: { enabled: true, minReplicas: 1, maxReplicas: 3 } },
      {},
    );
    expect(
      decide(input({ cr, verdict: healthy, load: saturated(40), effectiveReplicas: 1 })).action,
    ).toMatchObject({ to: '3' });
    expect(
      decide(input({ cr, verdict: healthy, load: saturated(40), effectiveReplicas: 3 })).held,
    ).toContain('already at 3');
  });

  it('goes back to the spec when load can no longer be read: an emergency measure is temporary', () => {
    const up = decide(
      input({
        cr: summarizerService(spec, {}),
        verdict: healthy,
        load: saturated(40),
        effectiveReplicas: 2,
      }),
    );
    const unread = (seconds: number, status: typeof up.status) =>
      decide(
        input({
          cr: summarizerService(spec, status),
          verdict: healthy,
          effectiveReplicas: 5,
          now: new Date(now.getTime() + seconds * 1000),
        }),
      );
    const first = unread(5, up.status);
    expect(unread(70, first.status).action).toMatchObject({ action: 'ScaleUpReverted' });
  });
});

describe('decide: restart of the problematic pod', () => {
  const spec = { replicas: 2, remediation: { cooldownSeconds: 60 } };
  const problem = {
    pod: 'llmplan-a',
    uid: 'uid-a',
    reason: 'ErrorsOutOfLine' as const,
    message: 'pod llmplan-a answered 9 of 10 with 5xx',
  };

  it('decides one restart, records it, keeps it until the pod is gone, and waits out the cooldown', () => {
    const cr = summarizerService(spec, {});
    const d = decide(
      input({ cr, verdict: healthy, load: judgement('Calm', { problemPod: problem }) }),
    );
    expect(d.action).toMatchObject({
      action: 'PodRestart',
      reason: 'ErrorsOutOfLine',
      from: 'llmplan-a',
    });
    expect(d.status.remediation?.podRestart).toMatchObject({ pod: 'llmplan-a', uid: 'uid-a' });
    expect(d.status.history).toHaveLength(1);

    // Still there: the decision stays (the reconciler evicts it again), nothing new.
    const pending = decide(
      input({
        cr: summarizerService(spec, d.status),
        verdict: healthy,
        load: judgement('Calm', { problemPod: problem }),
        now: new Date(now.getTime() + 5_000),
      }),
    );
    expect(pending.action).toBeUndefined();
    expect(pending.status.remediation?.podRestart?.uid).toBe('uid-a');

    // Evicted (terminating, so no longer live) while the judgement, a round old, still
    // names it: done, and never decided again.
    const evicted = decide(
      input({
        cr: summarizerService({ ...spec, remediation: { cooldownSeconds: 0 } }, pending.status),
        verdict: healthy,
        load: judgement('Calm', { problemPod: problem }),
        livePods: new Set(['uid-b', 'uid-c']),
        now: new Date(now.getTime() + 6_000),
      }),
    );
    expect(evicted.status.remediation?.podRestart).toBeUndefined();
    expect(evicted.action).toBeUndefined();

    // Gone: the decision is done; another pod out of line waits for the cooldown.
    const next = decide(
      input({
        cr: summarizerService(spec, pending.status),
        verdict: healthy,
        load: judgement('Calm', { problemPod: { ...problem, pod: 'llmplan-b', uid: 'uid-b' } }),
        livePods: new Set(['uid-b', 'uid-c']),
        now: new Date(now.getTime() + 10_000),
      }),
    );
    expect(next.status.remediation?.podRestart).toBeUndefined();
    expect(next.action).toBeUndefined();
    expect(next.held).toMatch(/restart of pod llmplan-b .*cooldown/);
  });

  it('restarts nothing while a new template rolls out, when switched off, or when paused', () => {
    const load = judgement('Calm', { problemPod: problem });
    const progressing: Verdict = { kind: 'progressing', message: 'rolling' };
    expect(
      decide(input({ cr: summarizerService(spec, {}), verdict: progressing, load })).action,
    ).toBeUndefined();
    // An established rollout with a sibling not ready: allowed (the PDB has the last word).
    const settled = summarizerService(spec, { lastHealthyRevision: 'bbbb' });
    expect(decide(input({ cr: settled, verdict: progressing, load })).action).toMatchObject({
      action: 'PodRestart',
    });
    const off = summarizerService({ ...spec, remediation: { podRestart: { enabled: false } } }, {});
    expect(decide(input({ cr: off, verdict: healthy, load })).action).toBeUndefined();
    const paused = summarizerService({ ...spec, paused: true }, {});
    expect(decide(input({ cr: paused, verdict: healthy, load })).action).toBeUndefined();
  });
});

describe('decide: health bookkeeping', () => {
  it('judges the revision the Deployment serves, not a spec it has not rolled out yet', () => {
    // The spec moved to bbbb; the Deployment still serves a complete, healthy aaaa.
    const d = decide(
      input({ cr: summarizerService({}, {}), verdict: healthy, servedRevision: 'aaaa' }),
    );
    expect(d.status.lastHealthyRevision).toBe('aaaa');
    // A failure seen before the new template is served is not the new template's.
    const f = decide(
      input({
        cr: summarizerService({}, { lastHealthyRevision: 'aaaa' }),
        verdict: crash,
        servedRevision: 'aaaa',
      }),
    );
    expect(f.action).toBeUndefined();
    expect(f.status.failedRevision).toBeUndefined();
  });

  it('marks the spec revision healthy when its rollout completes', () => {
    const d = decide(
      input({ cr: summarizerService({}, { failedRevision: 'bbbb' }), verdict: healthy }),
    );
    expect(d.status.lastHealthyRevision).toBe('bbbb');
    expect(d.status.failedRevision).toBeUndefined();
  });
});
