import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { summarizerService } from '../../test/support/fixtures/summarizer-service.js';
import { getCondition } from '../api/conditions.js';
import type { SummarizerServiceStatus } from '../api/status.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import {
  type BackendProbe,
  computeStatus,
  endpointOf,
  rolloutState,
  type StatusObservation,
  servedImageTag,
  stateOf,
  statusNeedsUpdate,
} from './compute.js';

const now = new Date('2025-06-01T12:00:00Z');
const later = new Date('2025-06-01T12:05:00Z');
const reachable: BackendProbe = {
  state: 'reachable',
  detail: 'GET http://lmstudio:1234/v1/models: 200',
};

interface DeploymentShape {
  replicas?: number;
  generation?: number;
  observedGeneration?: number;
  current?: number;
  updated?: number;
  ready?: number;
  available?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

/** A recorded Deployment: spec.replicas and the status the controller reported. */
function deployment(s: DeploymentShape = {}): V1Deployment {
  const replicas = s.replicas ?? 2;
  return {
    metadata: { name: 'llmplan', generation: s.generation ?? 1 },
    spec: { replicas, selector: {}, template: {} },
    status: {
      observedGeneration: s.observedGeneration ?? s.generation ?? 1,
      replicas: s.current ?? replicas,
      updatedReplicas: s.updated ?? replicas,
      readyReplicas: s.ready ?? replicas,
      availableReplicas: s.available ?? replicas,
      conditions: (s.conditions ?? [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ]) as NonNullable<V1Deployment['status']>['conditions'],
    },
  };
}

function observe(
  partial: Partial<StatusObservation> & { cr?: SummarizerService } = {},
): SummarizerServiceStatus {
  return computeStatus({
    cr: summarizerService({ replicas: 2 }, { generation: 4 }),
    deployment: deployment(),
    backend: reachable,
    conflicts: [],
    now,
    ...partial,
  });
}

const summary = (status: SummarizerServiceStatus) =>
  Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('rolloutState', () => {
  it.each<[string, V1Deployment | undefined, string]>([
    ['missing', undefined, 'missing'],
    ['spec not observed', deployment({ generation: 3, observedGeneration: 2 }), 'progressing'],
    ['new pods coming', deployment({ updated: 1 }), 'progressing'],
    ['old pods leaving', deployment({ current: 3 }), 'progressing'],
    ['new pods not yet available', deployment({ available: 1 }), 'progressing'],
    ['done', deployment(), 'complete'],
    [
      'past the deadline',
      deployment({
        updated: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "x" has timed out progressing.',
          },
        ],
      }),
      'failed',
    ],
  ])('%s', (_title, d, phase) => {
    expect(rolloutState(d).phase).toBe(phase);
  });
});

describe('computeStatus', () => {
  it('reports a healthy, complete rollout', () => {
    const status = observe();
    expect(summary(status)).toEqual({
      Ready: 'True/Available',
      Progressing: 'False/RolloutComplete',
      Degraded: 'False/AsExpected',
      BackendReachable: 'True/Reachable',
      // Not read in this test: said so, never guessed.
      BackendSaturated: 'Unknown/NoLoadMetrics',
    });
    expect(status).toMatchObject({
      observedGeneration: 4,
      replicas: 2,
      readyReplicas: 2,
      selector: 'app.kubernetes.io/name=llmplan,app.kubernetes.io/instance=llmplan',
      endpoint: 'http://llmplan.llmplan-dev.svc:8000',
    });
    for (const c of status.conditions ?? []) {
      expect(c).toMatchObject({
        observedGeneration: 4,
        lastTransitionTime: '2025-06-01T12:00:00Z',
      });
    }
    expect(getCondition(status.conditions, 'Ready')?.message).toBe('2/2 replicas ready');
  });

  it('reports a rollout in progress while old pods still serve', () => {
    const status = observe({ deployment: deployment({ updated: 1, ready: 2 }) });
    expect(summary(status)).toMatchObject({
      Ready: 'True/Available',
      Progressing: 'True/RolloutInProgress',
    });
    expect(getCondition(status.conditions, 'Progressing')?.message).toBe(
      '1 of 2 new replicas updated',
    );
  });

  it('reports a missing Deployment as pending', () => {
    const status = observe({ deployment: undefined });
    expect(summary(status)).toMatchObject({
      Ready: 'False/DeploymentPending',
      Progressing: 'True/RolloutInProgress',
    });
    expect(status).toMatchObject({ replicas: 0, readyReplicas: 0 });
  });

  it('reports pods that are not ready as unavailable', () => {
    const status = observe({
      deployment: deployment({
        ready: 0,
        available: 0,
        conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }],
      }),
    });
    expect(summary(status)).toMatchObject({
      Ready: 'False/Unavailable',
      Progressing: 'True/RolloutInProgress',
    });
  });

  it('reports a failed rollout as degraded', () => {
    const status = observe({
      deployment: deployment({
        updated: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'timed out',
          },
        ],
      }),
    });
    expect(summary(status)).toMatchObject({
      Progressing: 'False/ProgressDeadlineExceeded',
      Degraded: 'True/ProgressDeadlineExceeded',
    });
  });

  it('reports a ReplicaFailure (quota, missing ServiceAccount) as degraded', () => {
    const status = observe({
      deployment: deployment({
        conditions: [
          { type: 'Available', status: 'True' },
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'exceeded quota',
          },
        ],
      }),
    });
    expect(getCondition(status.conditions, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ReplicaFailure',
      message: 'exceeded quota',
    });
  });

  it('reports an unreachable backend without blaming the rollout', () => {
    const status = observe({
      backend: { state: 'unreachable', reason: 'connect ECONNREFUSED 10.0.0.5:1234' },
    });
    expect(summary(status)).toEqual({
      Ready: 'False/BackendUnreachable',
      Progressing: 'False/RolloutComplete',
      Degraded: 'True/BackendUnreachable',
      BackendReachable: 'False/BackendUnreachable',
      BackendSaturated: 'Unknown/NoLoadMetrics',
    });
    expect(getCondition(status.conditions, 'BackendReachable')?.message).toBe(
      'connect ECONNREFUSED 10.0.0.5:1234',
    );
  });

  it('reports an unprobed backend as Unknown without affecting readiness', () => {
    const status = observe({ backend: { state: 'unknown' } });
    expect(summary(status)).toMatchObject({
      Ready: 'True/Available',
      BackendReachable: 'Unknown/NotProbed',
    });
  });

  it('reports ownership conflicts, naming the objects', () => {
    const status = observe({
      deployment: undefined,
      conflicts: [
        { kind: 'Deployment', name: 'llmplan', controller: 'ReplicaSet/x' },
        { kind: 'Service', name: 'lmstudio' },
      ],
    });
    expect(summary(status)).toMatchObject({
      Ready: 'False/OwnershipConflict',
      Progressing: 'False/OwnershipConflict',
      Degraded: 'True/OwnershipConflict',
    });
    expect(getCondition(status.conditions, 'Degraded')?.message).toMatch(
      /^Deployment llmplan \(controlled by ReplicaSet\/x\), Service lmstudio already exist/,
    );
  });

  it('reports an apply error, and paused reconciliation', () => {
    expect(
      summary(observe({ reconcileError: 'Deployment.apps "llmplan" is invalid: affinity' })),
    ).toMatchObject({
      Degraded: 'True/ReconcileFailed',
    });
    const paused = observe({ cr: summarizerService({ replicas: 2, paused: true }) });
    expect(summary(paused)).toMatchObject({ Progressing: 'False/Paused', Ready: 'True/Available' });
  });

  it('treats zero desired replicas as ready', () => {
    const status = observe({ deployment: deployment({ replicas: 0 }) });
    expect(summary(status).Ready).toBe('True/ScaledToZero');
  });

  it('lets remediation override conditions and own its fields', () => {
    const status = observe({
      conditionOverrides: [
        { type: 'Degraded', status: 'True', reason: 'RolledBack', message: 'rolled back to abc' },
      ],
      remediation: { currentRevision: 'def', lastHealthyRevision: 'abc', failedRevision: 'def' },
    });
    expect(summary(status).Degraded).toBe('True/RolledBack');
    expect(status).toMatchObject({
      currentRevision: 'def',
      lastHealthyRevision: 'abc',
      failedRevision: 'def',
    });
  });

  it('carries remediation fields over from the current status by default', () => {
    const cr = summarizerService(
      {},
      {},
      {
        currentRevision: 'abc',
        history: [
          {
            time: '2025-06-01T11:00:00Z',
            action: 'ScaleUp',
            reason: 'Overloaded',
            from: '1',
            to: '5',
          },
        ],
        remediation: { scaleUp: { replicas: 5, since: '2025-06-01T11:00:00Z' } },
      },
    );
    const status = observe({ cr });
    expect(status.currentRevision).toBe('abc');
    expect(status.history).toHaveLength(1);
    expect(status.remediation?.scaleUp?.replicas).toBe(5);
    expect(status).not.toHaveProperty('failedRevision');
  });

  it('keeps transition times across reconciles and moves them only on change', () => {
    const first = observe();
    const cr = summarizerService({ replicas: 2 }, { generation: 4 }, first);
    const same = observe({ cr, now: later });
    expect(statusNeedsUpdate(first, same)).toBe(false);
    const changed = observe({
      cr,
      now: later,
      backend: { state: 'unreachable', reason: 'timeout' },
    });
    expect(statusNeedsUpdate(first, changed)).toBe(true);
    expect(getCondition(changed.conditions, 'Ready')?.lastTransitionTime).toBe(
      '2025-06-01T12:05:00Z',
    );
    expect(getCondition(changed.conditions, 'Progressing')?.lastTransitionTime).toBe(
      '2025-06-01T12:00:00Z',
    );
  });
});

describe('state: one word for kubectl get (STATUS)', () => {
  const degradedBy = (reason: string) => ({
    conditionOverrides: [{ type: 'Degraded', status: 'True' as const, reason, message: '…' }],
  });
  it.each<[string, Partial<StatusObservation>, string]>([
    ['healthy', {}, 'Ready'],
    ['a rollout under way', { deployment: deployment({ updated: 1 }) }, 'Progressing'],
    ['no Deployment yet', { deployment: undefined }, 'Progressing'],
    ['a rollback in effect, though Ready', degradedBy('RolledBack'), 'RolledBack'],
    ['a memory bump in effect', degradedBy('MemoryBumped'), 'MemoryBumped'],
    ['an emergency scale-up in effect', degradedBy('ScaledUp'), 'ScaledUp'],
    [
      'LM Studio unreachable',
      { backend: { state: 'unreachable', reason: 'x' } },
      'BackendUnreachable',
    ],
    ['an apply refused', { reconcileError: 'invalid' }, 'ReconcileFailed'],
    ['paused', { cr: summarizerService({ replicas: 2, paused: true }) }, 'Paused'],
  ])('%s', (_what, partial, state) => {
    expect(observe(partial).state).toBe(state);
  });

  it('falls back to the reason Ready is False', () => {
    const at = '2025-06-01T12:00:00Z';
    const condition = (type: string, status: 'True' | 'False', reason: string) => ({
      type,
      status,
      reason,
      message: '',
      lastTransitionTime: at,
    });
    const conditions = [
      condition('Ready', 'False', 'Unavailable'),
      condition('Progressing', 'False', 'RolloutComplete'),
      condition('Degraded', 'False', 'AsExpected'),
    ];
    expect(stateOf(conditions, false)).toBe('Unavailable');
    expect(stateOf([], false)).toBe('Progressing');
  });
});

describe('servedImageTag: the tag the Deployment serves (SERVING)', () => {
  const serving = (image: string): V1Deployment => {
    const d = deployment();
    d.spec = {
      ...d.spec!,
      template: {
        spec: {
          containers: [
            { name: 'istio-proxy', image: 'proxy:1.0' },
            { name: 'summarizer', image },
          ],
        },
      },
    };
    return d;
  };

  it('reads the summarizer container: tag, else digest, else latest', () => {
    expect(servedImageTag(serving('registry.local:5000/summarizer:v1'))).toBe('v1');
    expect(servedImageTag(serving('summarizer:v1@sha256:abc'))).toBe('v1');
    expect(servedImageTag(serving('summarizer@sha256:abc'))).toBe('sha256:abc');
    expect(servedImageTag(serving('registry.local:5000/summarizer'))).toBe('latest');
    expect(servedImageTag(undefined)).toBeUndefined();
  });

  it('is in status with the Deployment, and absent without it', () => {
    expect(observe({ deployment: serving('summarizer:v1') }).servedImageTag).toBe('v1');
    expect(observe({ deployment: undefined })).not.toHaveProperty('servedImageTag');
  });
});

describe('statusNeedsUpdate', () => {
  it('ignores the order of conditions and of keys, nothing else', () => {
    const status = observe();
    const reordered = { ...status, conditions: [...(status.conditions ?? [])].reverse() };
    expect(statusNeedsUpdate(status, JSON.parse(JSON.stringify(reordered)))).toBe(false);
    expect(statusNeedsUpdate(status, { ...status, readyReplicas: 1 })).toBe(true);
    expect(statusNeedsUpdate(undefined, status)).toBe(true);
    const message = (status.conditions ?? []).map((c) =>
      c.type === 'Ready' ? { ...c, message: 'x' } : c,
    );
    expect(statusNeedsUpdate(status, { ...status, conditions: message })).toBe(true);
  });
});

describe('endpointOf', () => {
  it('prefers the Ingress host, with https when TLS covers it', () => {
    const tls = summarizerService({
      ingress: {
        enabled: true,
        hosts: [{ host: 'llmplan.company.com' }],
        tls: [{ secretName: 't', hosts: ['llmplan.company.com'] }],
      },
    });
    expect(endpointOf(tls)).toBe('https://llmplan.company.com');
    const plain = summarizerService({
      ingress: { enabled: true, hosts: [{ host: 'a.b', paths: [{ path: '/api' }] }] },
    });
    expect(endpointOf(plain)).toBe('http://a.b/api');
    expect(endpointOf(plain, [{ kind: 'Ingress', name: 'llmplan' }])).toBe(
      'http://llmplan.llmplan-dev.svc:8000',
    );
    const wildcard = summarizerService({
      service: { port: 80 },
      ingress: { enabled: true, hosts: [{ host: '*.b.c' }] },
    });
    expect(endpointOf(wildcard)).toBe('http://llmplan.llmplan-dev.svc:80');
  });
});
