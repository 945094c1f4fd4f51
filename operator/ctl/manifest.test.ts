import { describe, expect, it } from 'vitest';
import { gitManifest, specDefaults, withoutDefaults } from './manifest.js';

describe('withoutDefaults', () => {
  it('keeps only what differs from the CRD defaults', () => {
    const spec = {
      ...specDefaults(),
      replicas: 3,
      image: { repository: 'ghcr.io/acme/summarizer', tag: 'v2', pullPolicy: 'IfNotPresent' },
    };
    expect(withoutDefaults(spec)).toEqual({
      replicas: 3,
      image: { repository: 'ghcr.io/acme/summarizer', tag: 'v2' },
    });
  });

  it('compares lists whole: a changed list is kept as it is', () => {
    const hosts = [{ host: 'llmplan.company.com', paths: [{ path: '/', pathType: 'Prefix' }] }];
    expect(withoutDefaults({ ingress: { ...(specDefaults().ingress as object), hosts } })).toEqual({
      ingress: { hosts },
    });
  });

  it('is empty for a spec of defaults only', () => {
    expect(withoutDefaults(specDefaults())).toEqual({});
  });
});

describe('gitManifest', () => {
  const live = {
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: {
      name: 'llmplan',
      namespace: 'prod',
      uid: 'u1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-12-01T10:00:00Z',
      managedFields: [{ manager: 'kubectl' }],
      labels: { team: 'nlp' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'argocd.argoproj.io/tracking-id': 'app:llmplan.io/SummarizerService:prod/llmplan',
        'llmplan.io/helm-release': 'llmplan',
      },
    },
    spec: { ...specDefaults(), replicas: 2 },
    status: { observedGeneration: 3 },
  };

  it('has no status, no server fields, no tool annotations, no defaults', () => {
    expect(gitManifest(live)).toEqual({
      apiVersion: 'llmplan.io/v1alpha1',
      kind: 'SummarizerService',
      metadata: {
        name: 'llmplan',
        namespace: 'prod',
        labels: { team: 'nlp' },
        annotations: { 'llmplan.io/helm-release': 'llmplan' },
      },
      spec: { replicas: 2 },
    });
  });

  it('keeps the defaults when asked', () => {
    expect(gitManifest(live, { keepDefaults: true }).spec).toEqual(live.spec);
  });
});
