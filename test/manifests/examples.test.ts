/**
 * The examples users copy: every SummarizerService in examples/ passes the same checks
 * and defaults as the API server, reproduces the old runbook's `helm install` lines
 * (issue 4), and turns into the expected children.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  parseSummarizerService,
  type SummarizerService,
} from '../../operator/api/summarizerservice.js';
import { desiredState } from '../../operator/desired/state.js';
import { DEFAULT_IMAGE } from '../support/fixtures/summarizer-service.js';

const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
} & Record<string, unknown>;

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(`${examplesDir}${file}`, 'utf8')).map(
    (d) => d.toJS() as Manifest,
  );
}

function example(env: string): { namespace: Manifest | undefined; cr: SummarizerService } {
  const docs = manifests(`${env}.yaml`);
  const raw = docs.find((d) => d.kind === 'SummarizerService');
  if (!raw) throw new Error(`${env}.yaml has no SummarizerService`);
  return { namespace: docs.find((d) => d.kind === 'Namespace'), cr: parseSummarizerService(raw) };
}

const kindsOf = (cr: SummarizerService) =>
  desiredState(
    { ...cr, metadata: { ...cr.metadata, uid: 'uid' } },
    { defaultImage: DEFAULT_IMAGE },
  ).objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe.each(['dev', 'staging', 'prod'])('examples/%s.yaml', (env) => {
  it('is a valid SummarizerService named llmplan in its own namespace, created by the same file', () => {
    const { namespace, cr } = example(env);
    expect(cr.metadata).toMatchObject({ name: 'llmplan', namespace: `llmplan-${env}` });
    expect(namespace?.metadata.name).toBe(`llmplan-${env}`);
  });

  it('has an Argo CD Application syncing exactly this file into that namespace', () => {
    const [app] = manifests(`argocd/application-${env}.yaml`);
    expect(app).toMatchObject({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: `llmplan-${env}`, namespace: 'argocd' },
      spec: {
        source: { path: 'examples', directory: { include: `${env}.yaml` } },
        destination: { namespace: `llmplan-${env}` },
        ignoreDifferences: [
          { group: 'llmplan.io', kind: 'SummarizerService', jsonPointers: ['/spec/replicas'] },
        ],
      },
    });
  });
});

describe('the runbook environments (issue 4)', () => {
  it('dev: tag main, small requests, debug logging', () => {
    const { spec } = example('dev').cr;
    expect(spec.image.tag).toBe('main');
    expect(spec.resources.requests).toEqual({ cpu: '250m', memory: '256Mi' });
    expect(spec.debug).toBe(true);
    expect(kindsOf(example('dev').cr)).toEqual([
      'ServiceAccount/llmplan',
      'ConfigMap/llmplan-config',
      'Service/llmplan',
      'Deployment/llmplan',
    ]);
  });

  it('staging: tag latest, two replicas (and so a PDB)', () => {
    const { cr } = example('staging');
    expect(cr.spec.image.tag).toBe('latest');
    expect(cr.spec.replicas).toBe(2);
    expect(kindsOf(cr)).toContain('PodDisruptionBudget/llmplan');
  });

  it('prod: v0.1.0, 3 replicas, autoscaling 3–20, 2Gi limit, ingress, external LM Studio', () => {
    const { cr } = example('prod');
    const { spec } = cr;
    expect(spec.image.tag).toBe('v0.1.0');
    expect(spec.replicas).toBe(3);
    expect(spec.autoscaling).toMatchObject({ enabled: true, minReplicas: 3, maxReplicas: 20 });
    expect(spec.resources.limits.memory).toBe('2Gi');
    expect(spec.ingress.enabled).toBe(true);
    expect(spec.ingress.hosts.map((h) => h.host)).toEqual(['llmplan.company.com']);
    expect(spec.lmstudio.externalName).toBe('lmstudio.internal.company.com');
    expect(kindsOf(cr)).toEqual([
      'ServiceAccount/llmplan',
      'ConfigMap/llmplan-config',
      'Service/lmstudio',
      'Service/llmplan',
      'Deployment/llmplan',
      'HorizontalPodAutoscaler/llmplan',
      'PodDisruptionBudget/llmplan',
      'Ingress/llmplan',
    ]);
  });
});
