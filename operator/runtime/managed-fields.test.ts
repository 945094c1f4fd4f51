import { describe, expect, it } from 'vitest';
import { type FieldSet, foldManagedFields, unionFieldSets } from './managed-fields.js';
import type { ManagedFieldsEntry } from './resource.js';

const TIME = '2026-12-01T10:00:00Z';
const OPTIONS = { manager: 'llmplan-operator', apiVersion: 'apps/v1', time: TIME };

// Recorded from a Deployment installed by `helm install` (Helm 3.22) and rolled out once.
const helm: ManagedFieldsEntry = {
  manager: 'helm',
  operation: 'Update',
  apiVersion: 'apps/v1',
  time: '2026-12-01T09:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: {
    'f:metadata': {
      'f:annotations': { '.': {}, 'f:meta.helm.sh/release-name': {} },
      'f:labels': { '.': {}, 'f:helm.sh/chart': {} },
    },
    'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': {} } } },
  },
};
const controllerStatus: ManagedFieldsEntry = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  apiVersion: 'apps/v1',
  subresource: 'status',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:status': { 'f:replicas': {} } },
};
const controllerRevision: ManagedFieldsEntry = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  apiVersion: 'apps/v1',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:deployment.kubernetes.io/revision': {} } } },
};
const kubectlEdit: ManagedFieldsEntry = {
  manager: 'kubectl-edit',
  operation: 'Update',
  apiVersion: 'apps/v1',
  fieldsType: 'FieldsV1',
  fieldsV1: {
    'f:metadata': { 'f:annotations': { 'f:llmplan.io/adopt': {} } },
    'f:spec': { 'f:template': { 'f:spec': { 'f:nodeSelector': {} } } },
  },
};
const argoApply: ManagedFieldsEntry = {
  manager: 'argocd-controller',
  operation: 'Apply',
  apiVersion: 'apps/v1',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } } },
};

describe('unionFieldSets', () => {
  it('merges the tries key by key, keeping both sides', () => {
    const a: FieldSet = { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:a': {} } } };
    const b: FieldSet = { 'f:spec': { 'f:template': { 'f:b': {} } }, 'f:metadata': {} };
    expect(unionFieldSets(a, b)).toEqual({
      'f:spec': { 'f:replicas': {}, 'f:template': { 'f:a': {}, 'f:b': {} } },
      'f:metadata': {},
    });
    expect(a).toEqual({ 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:a': {} } } });
  });
});

describe('foldManagedFields', () => {
  it("moves every imperative writer's fields into one Apply entry of the manager", () => {
    const folded = foldManagedFields([helm, controllerStatus, kubectlEdit], OPTIONS);
    expect(folded).toEqual([
      controllerStatus,
      {
        manager: 'llmplan-operator',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: TIME,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': {
            'f:annotations': {
              '.': {},
              'f:meta.helm.sh/release-name': {},
              'f:llmplan.io/adopt': {},
            },
            'f:labels': { '.': {}, 'f:helm.sh/chart': {} },
          },
          'f:spec': {
            'f:replicas': {},
            'f:template': { 'f:spec': { 'f:containers': {}, 'f:nodeSelector': {} } },
          },
        },
      },
    ]);
  });

  it("keeps subresources, other appliers and the controllers' own writes", () => {
    const folded = foldManagedFields(
      [helm, controllerStatus, controllerRevision, argoApply],
      OPTIONS,
    );
    expect(folded?.slice(0, 3)).toEqual([controllerStatus, controllerRevision, argoApply]);
    expect(folded?.[3]?.fieldsV1).toEqual(helm.fieldsV1);
  });

  it('unites with an Apply entry the manager already has', () => {
    const ours: ManagedFieldsEntry = {
      manager: 'llmplan-operator',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:paused': {} } },
    };
    const folded = foldManagedFields([ours, helm], OPTIONS);
    expect(folded).toHaveLength(1);
    expect(folded?.[0]?.fieldsV1).toMatchObject({ 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
  });

  it('has nothing to do when no imperative writer is left', () => {
    const ours: ManagedFieldsEntry = { ...helm, manager: 'llmplan-operator', operation: 'Apply' };
    expect(foldManagedFields([ours, controllerStatus, argoApply], OPTIONS)).toBeUndefined();
    expect(foldManagedFields(undefined, OPTIONS)).toBeUndefined();
    expect(foldManagedFields([], OPTIONS)).toBeUndefined();
  });

  it('keeps the Update managers it is told to keep', () => {
    expect(
      foldManagedFields([kubectlEdit], { ...OPTIONS, keep: ['kubectl-edit'] }),
    ).toBeUndefined();
  });
});
