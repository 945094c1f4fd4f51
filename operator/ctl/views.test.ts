import { describe, expect, it } from 'vitest';
import { summarizerService } from '../../test/support/fixtures/summarizer-service.js';
import type { Revision, RevisionHealth } from '../remediation/revisions.js';
import { buildHistoryView, buildStatusView, revisionRef, servedHash, tagOf } from './views.js';

function revision(number: number, hash: string, health: RevisionHealth, tag: string): Revision {
  return {
    name: `llmplan-${hash}`,
    hash,
    number,
    health,
    createdAt: `2026-01-0${number}T00:00:00.000Z`,
    image: `ghcr.io/acme/s:${tag}`,
    data: {
      podTemplate: {},
      configData: {},
      spec: {} as Revision['data']['spec'],
      generation: number,
    },
  };
}

const revisions = [revision(2, 'bbbbb2', 'failed', 'v2'), revision(1, 'aaaaa1', 'healthy', 'v1')];

const rolledBack = summarizerService(
  { image: { repository: 'ghcr.io/acme/s', tag: 'v2' }, replicas: 3 },
  { generation: 4 },
  {
    observedGeneration: 4,
    replicas: 3,
    readyReplicas: 3,
    endpoint: 'http://llmplan.llmplan-dev.svc:8000',
    currentRevision: 'bbbbb2',
    lastHealthyRevision: 'aaaaa1',
    failedRevision: 'bbbbb2',
    remediation: {
      lastActionTime: '2026-01-03T00:00:00Z',
      rollback: {
        toRevision: 'aaaaa1',
        fromRevision: 'bbbbb2',
        specGeneration: 4,
        since: '2026-01-03T00:00:00Z',
      },
    },
    history: [
      {
        time: '2026-01-03T00:00:00Z',
        action: 'Rollback',
        reason: 'CrashLoopBackOff',
        from: 'bbbbb2',
        to: 'aaaaa1',
        revision: 'bbbbb2',
      },
      { time: '2026-01-02T12:00:00Z', action: 'ScaleUp', reason: 'Overloaded', from: '3', to: '5' },
    ],
  },
);

describe('servedHash', () => {
  it("prefers the Deployment's annotation, then the rollback in effect, then the current revision", () => {
    expect(servedHash(rolledBack, 'ccccc3')).toBe('ccccc3');
    expect(servedHash(rolledBack)).toBe('aaaaa1');
    expect(servedHash(summarizerService({}, {}, { currentRevision: 'ddddd4' }))).toBe('ddddd4');
    expect(servedHash(summarizerService())).toBeUndefined();
  });
});

describe('revisionRef', () => {
  it('adds the number and image of a known revision; a pruned one keeps its hash', () => {
    expect(revisionRef('aaaaa1', revisions)).toEqual({
      hash: 'aaaaa1',
      number: 1,
      image: 'ghcr.io/acme/s:v1',
    });
    expect(revisionRef('zzzzz9', revisions)).toEqual({ hash: 'zzzzz9' });
    expect(revisionRef(undefined, revisions)).toBeUndefined();
  });
});

describe('buildStatusView', () => {
  it('gathers image, replicas, revisions with numbers, remediation and endpoint', () => {
    const view = buildStatusView(rolledBack, revisions);
    expect(view).toMatchObject({
      name: 'llmplan',
      namespace: 'llmplan-dev',
      generation: 4,
      observedGeneration: 4,
      paused: false,
      image: {
        repository: 'ghcr.io/acme/s',
        tag: 'v2',
        served: 'ghcr.io/acme/s:v1',
        servedTag: 'v1',
      },
      replicas: { desired: 3, current: 3, ready: 3 },
      endpoint: 'http://llmplan.llmplan-dev.svc:8000',
      revisions: {
        current: { hash: 'bbbbb2', number: 2 },
        lastHealthy: { hash: 'aaaaa1', number: 1 },
        failed: { hash: 'bbbbb2', number: 2 },
        served: { hash: 'aaaaa1', number: 1 },
      },
      remediation: {
        rollback: {
          to: { hash: 'aaaaa1', number: 1 },
          from: { hash: 'bbbbb2', number: 2 },
          since: '2026-01-03T00:00:00Z',
        },
      },
    });
  });

  it('shows the autoscaling range, and the tag of the current image when the spec leaves it to the operator', () => {
    const cr = summarizerService(
      { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } },
      {},
      { currentRevision: 'aaaaa1' },
    );
    const view = buildStatusView(cr, revisions);
    expect(view.replicas).toEqual({ autoscaling: { minReplicas: 2, maxReplicas: 6 } });
    expect(view.image.tag).toBe('v1');
    expect(view.revisions.lastHealthy).toBeUndefined();
    expect(view.remediation).toEqual({});
  });

  it('keeps the hashes when the revisions could not be listed', () => {
    const view = buildStatusView(rolledBack, undefined);
    expect(view.revisionsListed).toBe(false);
    expect(view.revisions.current).toEqual({ hash: 'bbbbb2' });
    expect(view.revisions.served).toEqual({ hash: 'aaaaa1' });
    expect(view.image.tag).toBe('v2');
    // The served tag then comes from status alone, with the state kubectl get shows.
    expect(view.image.servedTag).toBeUndefined();
    const reported = summarizerService(rolledBack.spec, rolledBack.metadata, {
      ...rolledBack.status,
      state: 'RolledBack',
      servedImageTag: 'v1',
    });
    const fromStatus = buildStatusView(reported, undefined);
    expect(fromStatus.state).toBe('RolledBack');
    expect(fromStatus.image.servedTag).toBe('v1');
  });
});

describe('buildHistoryView', () => {
  it('lists revisions oldest first with their roles, and actions by time', () => {
    const view = buildHistoryView(rolledBack, revisions);
    expect(view.revisions.map((r) => [r.number, r.health, r.marks])).toEqual([
      [1, 'healthy', ['last-healthy', 'served']],
      [2, 'failed', ['current', 'failed']],
    ]);
    expect(view.actions.map((a) => a.action)).toEqual(['ScaleUp', 'Rollback']);
  });
});

describe('tagOf', () => {
  it('reads the tag of an image reference, not a registry port or a digest', () => {
    expect(tagOf('ghcr.io/acme/s:v1')).toBe('v1');
    expect(tagOf('registry:5000/acme/s:v1.2')).toBe('v1.2');
    expect(tagOf('registry:5000/acme/s')).toBeUndefined();
    expect(tagOf('acme/s:v1@sha256:abc')).toBe('v1');
    expect(tagOf('acme/s@sha256:abc')).toBeUndefined();
    expect(tagOf(undefined)).toBeUndefined();
  });
});
