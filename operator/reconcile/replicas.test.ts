import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../runtime/index.js';
import { handoverObject, replicasToHandOver } from './replicas.js';

const OWNER = 'llmplan.io/replicas-owner';

function deployment(replicas: number | undefined, owner?: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'llmplan',
      namespace: 'prod',
      annotations: { 'llmplan.io/revision': 'abc', ...(owner ? { [OWNER]: owner } : {}) },
    },
    ...(replicas === undefined ? {} : { spec: { replicas } }),
  } as KubeObject;
}

describe('replicasToHandOver', () => {
  it('creates a missing Deployment at the HPA minimum, not at 1', () => {
    expect(replicasToHandOver(undefined, 3)).toBe(3);
  });

  it('switches an existing Deployment to autoscaling at max(minReplicas, current)', () => {
    expect(replicasToHandOver(deployment(1, 'llmplan-operator'), 3)).toBe(3);
    expect(replicasToHandOver(deployment(7, 'llmplan-operator'), 3)).toBe(7);
    // Created by an older operator (no annotation), or a crash before the handover.
    expect(replicasToHandOver(deployment(5), 3)).toBe(5);
    expect(replicasToHandOver(deployment(undefined), 2)).toBe(2);
  });

  it('leaves a Deployment already handed over to the HPA alone, whatever its count', () => {
    expect(replicasToHandOver(deployment(5, 'HorizontalPodAutoscaler'), 3)).toBeUndefined();
    expect(replicasToHandOver(deployment(1, 'HorizontalPodAutoscaler'), 3)).toBeUndefined();
  });
});

describe('handoverObject', () => {
  it('holds the count and the annotation only, so the handover manager owns nothing else', () => {
    expect(handoverObject(deployment(undefined), 4)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'llmplan',
        namespace: 'prod',
        annotations: { [OWNER]: 'HorizontalPodAutoscaler' },
      },
      spec: { replicas: 4 },
    });
  });
});
