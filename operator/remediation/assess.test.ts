import { describe, expect, it } from 'vitest';
import { assess } from './assess.js';
import { deployment, pod, replicaSet } from './fixtures.test-helpers.js';

const reachable = { state: 'reachable' as const };
const unreachable = { state: 'unreachable' as const, reason: 'ECONNREFUSED' };
// Revision 1 (hash old) is the earlier template; revision 2 (hash new) is being rolled out.
const sets = [replicaSet('1', 'old'), replicaSet('2', 'new')];

describe('assess', () => {
  it('is healthy when the rollout is complete and the current pods are ready', () => {
    const verdict = assess({
      deployment: deployment({}),
      replicaSets: sets,
      pods: [pod('new')],
      backend: reachable,
    });
    expect(verdict.kind).toBe('healthy');
  });

  it('waits while the Deployment controller has not seen the new template', () => {
    const d = deployment({ generation: 3, observedGeneration: 2 });
    const verdict = assess({
      deployment: d,
      replicaSets: sets,
      pods: [pod('old', { waiting: 'CrashLoopBackOff' })],
      backend: reachable,
    });
    expect(verdict.kind).toBe('progressing');
  });

  it('names CrashLoopBackOff, ImagePullBackOff and ErrImagePull of the current pods as failures', () => {
    for (const reason of [
      'CrashLoopBackOff',
      'ImagePullBackOff',
      'ErrImagePull',
      'CreateContainerConfigError',
    ]) {
      const d = deployment({
        updated: 1,
        available: 0,
        ready: 0,
        total: 2,
        progressing: { status: 'True', reason: 'ReplicaSetUpdated' },
      });
      const verdict = assess({
        deployment: d,
        replicaSets: sets,
        pods: [pod('old'), pod('new', { ready: false, waiting: reason, restarts: 3 })],
        backend: reachable,
      });
      expect(verdict).toMatchObject({ kind: 'failed', reason });
      expect((verdict as { message: string }).message).toContain(reason);
    }
  });

  it('ignores failures of pods from an older ReplicaSet (after a rollback they linger)', () => {
    const d = deployment({ revision: '3' });
    const rolledBack = [replicaSet('3', 'old'), replicaSet('2', 'new')];
    const verdict = assess({
      deployment: d,
      replicaSets: rolledBack,
      pods: [pod('old'), pod('new', { ready: false, waiting: 'CrashLoopBackOff' })],
      backend: reachable,
    });
    expect(verdict.kind).toBe('healthy');
  });

  it('puts OOMKilled first, so the memory bump is chosen over a rollback', () => {
    const d = deployment({
      available: 0,
      ready: 0,
      progressing: { status: 'True', reason: 'ReplicaSetUpdated' },
    });
    const pods = [
      pod('new', { name: 'a', ready: false, waiting: 'CrashLoopBackOff' }),
      pod('new', {
        name: 'b',
        ready: false,
        waiting: 'CrashLoopBackOff',
        lastTerminated: 'OOMKilled',
      }),
    ];
    expect(assess({ deployment: d, replicaSets: sets, pods, backend: reachable })).toMatchObject({
      kind: 'failed',
      reason: 'OOMKilled',
    });
  });

  it('fails a rollout past its progress deadline, unless LM Studio is down (then: backendDown)', () => {
    const d = deployment({
      available: 0,
      ready: 0,
      progressing: { status: 'False', reason: 'ProgressDeadlineExceeded' },
    });
    const pods = [pod('new', { ready: false })];
    expect(assess({ deployment: d, replicaSets: sets, pods, backend: reachable })).toMatchObject({
      kind: 'failed',
      reason: 'ProgressDeadlineExceeded',
    });
    const down = assess({ deployment: d, replicaSets: sets, pods, backend: unreachable });
    expect(down.kind).toBe('backendDown');
    expect((down as { message: string }).message).toContain('ECONNREFUSED');
  });

  it('still fails a crashing rollout while LM Studio is down: the crash is the build, not the backend', () => {
    const d = deployment({
      available: 0,
      ready: 0,
      progressing: { status: 'False', reason: 'ProgressDeadlineExceeded' },
    });
    const verdict = assess({
      deployment: d,
      replicaSets: sets,
      pods: [pod('new', { ready: false, waiting: 'CrashLoopBackOff' })],
      backend: unreachable,
    });
    expect(verdict).toMatchObject({ kind: 'failed', reason: 'CrashLoopBackOff' });
  });

  it('does not take established pods that stop being ready for overload (readiness does not follow load)', () => {
    const d = deployment({ replicas: 2, ready: 1, available: 1 });
    const pods = [
      pod('new', { name: 'a' }),
      pod('new', { name: 'b', ready: false, readySince: '2026-01-01T00:08:00Z' }),
    ];
    const verdict = assess({ deployment: d, replicaSets: sets, pods, backend: reachable });
    expect(verdict).toMatchObject({ kind: 'progressing' });
    expect(verdict.message).toContain('1 of 2 running pod(s) not ready');
    expect(assess({ deployment: d, replicaSets: sets, pods, backend: unreachable }).kind).toBe(
      'backendDown',
    );
  });

  it('calls a rollout in progress progressing', () => {
    const d = deployment({
      replicas: 2,
      updated: 1,
      ready: 1,
      available: 1,
      total: 3,
      progressing: { status: 'True', reason: 'ReplicaSetUpdated' },
    });
    const pods = [pod('old'), pod('old', { name: 'o2' }), pod('new', { ready: false })];
    expect(assess({ deployment: d, replicaSets: sets, pods, backend: reachable }).kind).toBe(
      'progressing',
    );
  });
});
