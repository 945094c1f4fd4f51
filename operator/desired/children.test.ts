import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IMAGE,
  summarizerService,
  TEST_UID,
} from '../../test/support/fixtures/summarizer-service.js';
import { childKey, MANAGED_CHILD_KINDS, ownershipConflicts, unwantedChildren } from './children.js';
import { desiredState } from './state.js';

const owned = (uid: string) => [
  {
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    name: 'llmplan',
    uid,
    controller: true,
  },
];

describe('children', () => {
  const desired = desiredState(summarizerService(), { defaultImage: DEFAULT_IMAGE }).objects;

  it('keys objects by group, kind and name, ignoring the version', () => {
    expect(
      childKey({
        apiVersion: 'autoscaling/v1',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'x' },
      }),
    ).toBe(
      childKey({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'x' },
      }),
    );
    expect(childKey({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } })).toBe(
      '/Service/x',
    );
  });

  it('lists every kind desiredState can produce', () => {
    const all = desiredState(
      summarizerService({
        replicas: 2,
        autoscaling: { enabled: true, maxReplicas: 3 },
        ingress: { enabled: true },
        lmstudio: { externalName: 'lm.example.com' },
      }),
      { defaultImage: DEFAULT_IMAGE },
    ).objects;
    const managed = new Set(MANAGED_CHILD_KINDS.map((k) => `${k.apiVersion}/${k.kind}`));
    for (const o of all) expect(managed.has(`${o.apiVersion}/${o.kind}`), o.kind).toBe(true);
  });

  it('finds children no longer wanted, only among those this resource controls', () => {
    const observed = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'llmplan', ownerReferences: owned(TEST_UID) },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'llmplan', ownerReferences: owned(TEST_UID) },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'lmstudio', ownerReferences: owned(TEST_UID) },
      },
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'llmplan', ownerReferences: owned('other') },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'llmplan' },
      },
    ];
    expect(unwantedChildren(observed, desired, TEST_UID).map(childKey)).toEqual([
      'networking.k8s.io/Ingress/llmplan',
      '/Service/lmstudio',
    ]);
  });

  it('reports desired names held by objects it does not control', () => {
    const observed = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'llmplan', ownerReferences: owned('helm-owner') },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'llmplan' } },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'llmplan-config', ownerReferences: owned(TEST_UID) },
      },
    ];
    expect(ownershipConflicts(observed, desired, TEST_UID)).toEqual([
      { kind: 'Service', name: 'llmplan' },
      { kind: 'Deployment', name: 'llmplan', controller: 'SummarizerService/llmplan' },
    ]);
  });
});
