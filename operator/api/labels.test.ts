import { describe, expect, it } from 'vitest';
import {
  childNames,
  labelSelectorString,
  selectorLabels,
  standardLabels,
  withoutArgoTracking,
} from './labels.js';

describe('labels', () => {
  it('selects pods by name and instance, and marks the manager', () => {
    expect(selectorLabels('llmplan')).toEqual({
      'app.kubernetes.io/name': 'llmplan',
      'app.kubernetes.io/instance': 'llmplan',
    });
    expect(standardLabels('prod')).toMatchObject({
      'app.kubernetes.io/instance': 'prod',
      'app.kubernetes.io/managed-by': 'llmplan-operator',
    });
    expect(labelSelectorString(selectorLabels('a'))).toBe(
      'app.kubernetes.io/name=llmplan,app.kubernetes.io/instance=a',
    );
  });

  it("drops Argo CD's tracking keys from user maps", () => {
    expect(
      withoutArgoTracking({
        'argocd.argoproj.io/tracking-id': 'app:apps/Deployment:ns/x',
        'argocd.argoproj.io/instance': 'app',
        team: 'ml',
      }),
    ).toEqual({ team: 'ml' });
    expect(withoutArgoTracking(undefined)).toEqual({});
  });

  it('names children as the runbook does', () => {
    expect(childNames.configMap('llmplan')).toBe('llmplan-config');
    expect(childNames.deployment('llmplan')).toBe('llmplan');
    expect(childNames.controllerRevision('llmplan', 'abc123')).toBe('llmplan-abc123');
  });
});
