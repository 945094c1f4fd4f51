import { describe, expect, it } from 'vitest';
import { desiredConfigData } from '../desired/configmap.js';
import { OPERATOR_ENV } from './spec.js';
import {
  dropNulls,
  parseSummarizerService,
  SummarizerServiceValidationError,
  safeParseSummarizerService,
} from './summarizerservice.js';

const base = {
  apiVersion: 'llmplan.io/v1alpha1',
  kind: 'SummarizerService',
  metadata: { name: 'llmplan', namespace: 'ns' },
};
const withSpec = (spec: unknown) => ({ ...base, spec });

function issuesOf(spec: unknown, metadata: Record<string, unknown> = base.metadata): string[] {
  const result = safeParseSummarizerService({ ...base, metadata, spec });
  if (result.success) return [];
  return [...result.error.issues];
}

describe('parseSummarizerService defaults', () => {
  it('fills an empty spec with the defaults of docs/resource.md', () => {
    const { spec } = parseSummarizerService(withSpec({}));
    expect(spec).toEqual({
      image: { pullPolicy: 'IfNotPresent' },
      replicas: 1,
      resources: {
        requests: { cpu: '500m', memory: '512Mi' },
        limits: { cpu: '1000m', memory: '1Gi' },
      },
      autoscaling: {
        enabled: false,
        minReplicas: 1,
        maxReplicas: 100,
        targetCPUUtilizationPercentage: 80,
      },
      service: { type: 'ClusterIP', port: 8000 },
      ingress: {
        enabled: false,
        className: '',
        hosts: [{ host: 'llmplan.local', paths: [{ path: '/', pathType: 'Prefix' }] }],
      },
      lmstudio: {
        externalName: '',
        serviceName: 'lmstudio',
        port: 1234,
        timeoutSeconds: 30,
        maxRetries: 3,
        maxConcurrency: 4,
      },
      summary: {
        defaultModel: 'qwen/qwen3-4b',
        defaultMaxTokens: 1000,
        defaultTemperature: 0.3,
        defaultSummaryType: 'concise',
        defaultLanguage: 'korean',
      },
      debug: false,
      remediation: {
        enabled: true,
        progressDeadlineSeconds: 600,
        rollback: { enabled: true },
        scaleUp: { enabled: true, replicas: 5, afterSeconds: 60 },
        podRestart: { enabled: true, afterSeconds: 60 },
        oomMemoryBump: { enabled: true, factor: 1.5, maxMemory: '4Gi' },
        cooldownSeconds: 300,
        maxActionsPerHour: 6,
      },
      revisionHistoryLimit: 10,
      paused: false,
    });
  });

  it('merges partial objects with defaults field by field, as Helm values do', () => {
    const { spec } = parseSummarizerService(withSpec({ resources: { requests: { cpu: '250m' } } }));
    expect(spec.resources).toEqual({
      requests: { cpu: '250m', memory: '512Mi' },
      limits: { cpu: '1000m', memory: '1Gi' },
    });
  });

  it('treats null as absent, like the API server pruning nulls', () => {
    const { spec } = parseSummarizerService(
      withSpec({ replicas: null, autoscaling: { targetMemoryUtilizationPercentage: null } }),
    );
    expect(spec.replicas).toBe(1);
    expect(spec.autoscaling).not.toHaveProperty('targetMemoryUtilizationPercentage');
    expect(dropNulls({ a: [null, { b: null }] })).toEqual({ a: [null, {}] });
  });

  it('keeps metadata fields it does not model and accepts a status', () => {
    const cr = parseSummarizerService({
      ...withSpec({}),
      metadata: { ...base.metadata, uid: 'u', generation: 2, finalizers: ['x'] },
      status: { observedGeneration: 2, conditions: [] },
    });
    expect(cr.metadata).toMatchObject({ uid: 'u', generation: 2, finalizers: ['x'] });
    expect(cr.status?.observedGeneration).toBe(2);
  });

  it('accepts integer quantities, as corev1 does', () => {
    const { spec } = parseSummarizerService(
      withSpec({ resources: { requests: { cpu: 1 }, limits: { cpu: 2 } } }),
    );
    expect(spec.resources.requests.cpu).toBe(1);
  });
});

describe('parseSummarizerService refuses what the CRD refuses, naming the field', () => {
  it.each([
    [
      'autoscaling min > max',
      { autoscaling: { minReplicas: 5, maxReplicas: 2 } },
      'spec.autoscaling.minReplicas',
    ],
    [
      'requests.cpu > limits.cpu',
      { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } },
      'spec.resources.requests.cpu',
    ],
    [
      'requests.memory > limits.memory',
      { resources: { requests: { memory: '2Gi' } } },
      'spec.resources.requests.memory',
    ],
    [
      'a quantity that does not parse',
      { resources: { limits: { memory: 'lots' } } },
      'spec.resources.limits.memory',
    ],
    [
      'a negative quantity',
      { resources: { requests: { cpu: '-1' } } },
      'spec.resources.requests.cpu',
    ],
    [
      'an ingress host that is no DNS name',
      { ingress: { hosts: [{ host: 'Not_A_Host' }] } },
      'spec.ingress.hosts[0].host',
    ],
    [
      'ingress enabled without hosts',
      { ingress: { enabled: true, hosts: [] } },
      'spec.ingress.hosts',
    ],
    [
      'factor of 1',
      { remediation: { oomMemoryBump: { factor: 1 } } },
      'spec.remediation.oomMemoryBump.factor',
    ],
    [
      'maxMemory not a quantity',
      { remediation: { oomMemoryBump: { maxMemory: '4 GB' } } },
      'spec.remediation.oomMemoryBump.maxMemory',
    ],
    ['port 0', { service: { port: 0 } }, 'spec.service.port'],
    ['port 70000', { lmstudio: { port: 70000 } }, 'spec.lmstudio.port'],
    [
      'scale-up to 0 replicas',
      { remediation: { scaleUp: { replicas: 0 } } },
      'spec.remediation.scaleUp.replicas',
    ],
    [
      'a secret name with capitals',
      { lmstudio: { apiKeySecretRef: { name: 'My_Secret' } } },
      'spec.lmstudio.apiKeySecretRef.name',
    ],
    [
      'an externalName with a scheme',
      { lmstudio: { externalName: 'http://lmstudio' } },
      'spec.lmstudio.externalName',
    ],
    [
      'a serviceName with dots',
      { lmstudio: { serviceName: 'lm.studio' } },
      'spec.lmstudio.serviceName',
    ],
    ['env setting PORT', { env: [{ name: 'PORT', value: '1' }] }, 'spec.env'],
    [
      'podLabels taking over the selector',
      { podLabels: { 'app.kubernetes.io/instance': 'x' } },
      'spec.podLabels',
    ],
    [
      'an unknown summary type',
      { summary: { defaultSummaryType: 'haiku' } },
      'spec.summary.defaultSummaryType',
    ],
    [
      'temperature above 2',
      { summary: { defaultTemperature: 2.5 } },
      'spec.summary.defaultTemperature',
    ],
    [
      'a tag inside the repository',
      { image: { repository: 'ghcr.io/acme/llmplan:v1' } },
      'spec.image.repository',
    ],
    [
      'more than 64 pod annotations',
      { podAnnotations: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`a${i}`, 'x'])) },
      'spec.podAnnotations',
    ],
    ['an unknown pull policy', { image: { pullPolicy: 'Sometimes' } }, 'spec.image.pullPolicy'],
  ])('%s', (_title, spec, field) => {
    const issues = issuesOf(spec);
    expect(
      issues.some((i) => i.startsWith(`${field}:`)),
      issues.join('\n'),
    ).toBe(true);
  });

  it('refuses a name that cannot name a Service', () => {
    expect(issuesOf({}, { name: '1llmplan' })[0]).toMatch(
      /^metadata\.name: metadata\.name must be a DNS-1035 label/,
    );
  });

  it('refuses in spec.env every variable the operator sets from the spec, naming it and the field', () => {
    expect(
      issuesOf({
        lmstudio: { apiKeySecretRef: { name: 'lmstudio' } },
        env: [
          { name: 'LMSTUDIO_API_KEY', value: 'lm-studio' },
          { name: 'DEBUG', value: 'true' },
        ],
      }),
    ).toEqual([
      'spec.env: env must not set LMSTUDIO_API_KEY: the operator sets it from spec.lmstudio.apiKeySecretRef',
      'spec.env: env must not set DEBUG: the operator sets it from spec.debug',
    ]);
    for (const { name } of OPERATOR_ENV) {
      expect(issuesOf({ env: [{ name, value: '1' }] }), name).toEqual([
        expect.stringMatching(new RegExp(`^spec\\.env: env must not set ${name}: `)),
      ]);
    }
    // Every variable the operator writes into the ConfigMap or the env is among them.
    const written = [
      ...Object.keys(
        desiredConfigData(parseSummarizerService(withSpec({ lmstudio: { maxConcurrency: 8 } }))),
      ),
      'LMSTUDIO_API_KEY',
    ];
    expect(OPERATOR_ENV.map((v) => v.name).sort()).toEqual(written.sort());
    // The service's other settings stay open to spec.env.
    expect(
      issuesOf({
        env: [
          { name: 'MAX_QUEUED_REQUESTS', value: '4' },
          { name: 'LMSTUDIO_CONTEXT_LENGTH', value: '8192' },
        ],
      }),
    ).toEqual([]);
  });

  it('refuses an LM Studio Service named like the summarizer Service', () => {
    expect(issuesOf({ lmstudio: { serviceName: 'llmplan' } })).toContain(
      'spec.lmstudio.serviceName: spec.lmstudio.serviceName must differ from metadata.name: the Service <name> serves the summarizer',
    );
  });

  it('accepts registry ports, wildcard hosts and trailing-dot external names', () => {
    expect(
      issuesOf({
        image: { repository: 'localhost:5000/team/llmplan', tag: 'v0.1.0' },
        ingress: { enabled: true, hosts: [{ host: '*.company.com' }] },
        lmstudio: { externalName: 'lmstudio.internal.company.com.' },
      }),
    ).toEqual([]);
  });

  it('throws an error that lists every issue', () => {
    try {
      parseSummarizerService(withSpec({ replicas: -1, service: { port: 0 } }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SummarizerServiceValidationError);
      const e = error as SummarizerServiceValidationError;
      expect(e.issues).toHaveLength(2);
      expect(e.message).toMatch(/^SummarizerService ns\/llmplan is invalid: spec\.replicas: /);
    }
  });
});
