import { describe, expect, it } from 'vitest';
import { OLD_CHART_VALUES } from '../../../test/support/helm/old-chart.js';
import { RUNBOOK } from '../../../test/support/helm/runbook.js';
import { SpecSchema } from '../../api/spec.js';
import { withoutDefaults } from '../manifest.js';
import { coalesceValues, type Values } from './helm-release.js';
import { type Finding, mapValues } from './helm-values.js';

const CHART_VALUES = OLD_CHART_VALUES;
const CTX = { name: 'llmplan', appVersion: 'v0.1.0' };

const mapConfig = (config: Values) => mapValues(coalesceValues(CHART_VALUES, config), CTX);
const finding = (findings: Finding[], value: string) => findings.find((f) => f.value === value);
const kinds = (findings: Finding[], kind: Finding['kind']) =>
  findings.filter((f) => f.kind === kind).map((f) => f.value);

/** Every leaf of the chart's values: each must be accounted for by a finding. */
function leaves(values: Values, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) =>
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0
      ? leaves(value as Values, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

describe('mapValues: the runbook lines', () => {
  it('dev: the tag and requests; --set debug=true named as having had no effect', () => {
    const { spec, findings } = mapConfig(RUNBOOK.dev.config);
    expect(withoutDefaults(spec)).toEqual({
      image: { repository: 'ghcr.io/llmplan/summarizer', tag: 'main' },
      resources: { requests: { cpu: '250m', memory: '256Mi' } },
    });
    expect(kinds(findings, 'unmappable')).toEqual([]);
    expect(finding(findings, 'debug')).toMatchObject({
      kind: 'not-mapped',
      shown: 'true',
      why: expect.stringContaining('Helm ignored it'),
    });
    expect(finding(findings, 'debug')?.why).toContain('spec.debug: true');
  });

  it('staging: --set replicas=2 had no effect, the release runs replicaCount and so does the spec', () => {
    const { spec, findings } = mapConfig(RUNBOOK.staging.config);
    expect(spec.replicas).toBe(1);
    expect(withoutDefaults(spec)).toEqual({
      image: { repository: 'ghcr.io/llmplan/summarizer', tag: 'latest' },
    });
    expect(finding(findings, 'replicas')?.why).toMatch(
      /reads replicaCount: the release runs 1 replica.*set spec.replicas/,
    );
  });

  it('prod: autoscaling, the memory limit, the ingress host and the ExternalName backend', () => {
    const { spec, findings } = mapConfig(RUNBOOK.prod.config);
    expect(withoutDefaults(spec)).toEqual({
      image: { repository: 'ghcr.io/llmplan/summarizer', tag: 'v0.1.0' },
      autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 },
      resources: { limits: { memory: '2Gi' } },
      ingress: { enabled: true, hosts: [{ host: 'llmplan.company.com' }] },
      lmstudio: { externalName: 'lmstudio.internal.company.com' },
    });
    // The CRD defaults a host's paths as the chart's template did: / Prefix.
    expect(SpecSchema.parse(spec).ingress.hosts).toEqual([
      { host: 'llmplan.company.com', paths: [{ path: '/', pathType: 'Prefix' }] },
    ]);
    expect(finding(findings, 'replicaCount')?.why).toContain('ignored while autoscaling');
    expect(finding(findings, 'lmstudio.externalName')).toMatchObject({
      kind: 'mapped',
      to: 'spec.lmstudio.externalName',
    });
    expect(kinds(findings, 'unmappable')).toEqual([]);
  });

  it('accounts for every value of the chart, and only once', () => {
    for (const line of Object.values(RUNBOOK)) {
      const values = coalesceValues(CHART_VALUES, line.config);
      const { findings } = mapValues(values, CTX);
      const named = findings.map((f) => f.value);
      const missing = leaves(values).filter(
        (leaf) => !named.some((n) => leaf === n || leaf.startsWith(`${n}.`)),
      );
      expect(missing).toEqual([]);
      expect(new Set(named).size).toBe(named.length);
    }
  });

  it('gives a spec the CRD accepts', () => {
    for (const line of Object.values(RUNBOOK)) {
      expect(SpecSchema.safeParse(mapConfig(line.config).spec).success).toBe(true);
    }
  });
});

describe('mapValues: one value at a time', () => {
  it("takes the chart's appVersion when image.tag is empty", () => {
    const { spec, findings } = mapConfig({});
    expect(spec.image).toMatchObject({ tag: 'v0.1.0' });
    expect(finding(findings, 'image.tag')?.why).toContain("the chart's appVersion");
  });

  it('keeps numbers as the chart rendered them: tag 1.5 and cpu 0.5', () => {
    const { spec } = mapConfig({ image: { tag: 1.5 }, resources: { requests: { cpu: 0.5 } } });
    expect(spec.image).toMatchObject({ tag: '1.5' });
    expect((spec.resources as { requests: { cpu: unknown } }).requests.cpu).toBe('0.5');
  });

  it('refuses a release without a memory limit, and resources besides cpu and memory', () => {
    const { findings } = mapConfig({
      resources: { limits: { memory: null, 'nvidia.com/gpu': 1 } },
    });
    expect(kinds(findings, 'unmappable')).toEqual([
      'resources.limits.memory',
      'resources.limits.nvidia.com/gpu',
    ]);
    expect(finding(findings, 'resources.limits.memory')?.why).toContain(
      'helm upgrade --reuse-values --set resources.limits.memory=',
    );
  });

  it('maps an in-namespace LM Studio Service by the URL, and says the chart Service stays', () => {
    const { spec, findings } = mapConfig({
      config: { lmstudio: { baseUrl: 'http://lmstudio:1234/v1' } },
    });
    expect(spec.lmstudio).toMatchObject({ serviceName: 'lmstudio', port: 1234 });
    expect(spec.lmstudio).not.toHaveProperty('externalName');
    expect(finding(findings, 'lmstudio.enabled')?.why).toContain('stays as it is');
  });

  it('maps a URL to a host elsewhere to an ExternalName backend', () => {
    const { spec, findings } = mapConfig({
      lmstudio: { enabled: false },
      config: { lmstudio: { baseUrl: 'http://gpu-box.lan:8080/v1/' } },
    });
    expect(spec.lmstudio).toMatchObject({ externalName: 'gpu-box.lan', port: 8080 });
    expect(finding(findings, 'config.lmstudio.baseUrl')?.why).toContain(
      'ExternalName Service lmstudio → gpu-box.lan',
    );
  });

  it('refuses LM Studio URLs a SummarizerService cannot call', () => {
    for (const baseUrl of [
      'https://lmstudio:1234/v1',
      'http://lmstudio:1234/api',
      'http://10.0.0.5:1234/v1',
    ]) {
      const { findings } = mapConfig({ config: { lmstudio: { baseUrl } } });
      expect(kinds(findings, 'unmappable')).toEqual(['config.lmstudio.baseUrl']);
    }
  });

  it('moves the API key into a Secret and never shows it', () => {
    const { spec, findings, apiKey } = mapConfig({ config: { lmstudio: { apiKey: 's3cret' } } });
    expect(apiKey).toBe('s3cret');
    expect(spec.lmstudio).toMatchObject({
      apiKeySecretRef: { name: 'llmplan-lmstudio-api-key', key: 'api-key' },
    });
    expect(finding(findings, 'config.lmstudio.apiKey')?.shown).toBe('<hidden>');
    expect(JSON.stringify(findings)).not.toContain('s3cret');
  });

  it('maps the summary defaults and LM Studio call settings', () => {
    const { spec } = mapConfig({
      config: {
        lmstudio: { timeout: 60, maxRetries: 5 },
        summary: { defaultModelName: 'qwen/qwen3-8b', defaultLanguage: 'english' },
      },
    });
    expect(spec.lmstudio).toMatchObject({ timeoutSeconds: 60, maxRetries: 5 });
    expect(spec.summary).toMatchObject({
      defaultModel: 'qwen/qwen3-8b',
      defaultLanguage: 'english',
    });
  });

  it('keeps env as it is and refuses PORT', () => {
    const env = [
      { name: 'DEBUG', value: 'true' },
      { name: 'EXTRA', value: '1' },
    ];
    expect(mapConfig({ env }).spec.env).toEqual(env);
    const { findings } = mapConfig({ env: [{ name: 'PORT', value: '9000' }] });
    expect(kinds(findings, 'unmappable')).toEqual(['env']);
  });

  it('does not need service.targetPort: the Service targets the port by name', () => {
    const { findings } = mapConfig({ service: { targetPort: 9000 } });
    expect(finding(findings, 'service.targetPort')).toMatchObject({
      kind: 'not-mapped',
      why: expect.stringContaining('targets the port by name (http)'),
    });
  });

  it('refuses a Service of type ExternalName', () => {
    expect(kinds(mapConfig({ service: { type: 'ExternalName' } }).findings, 'unmappable')).toEqual([
      'service.type',
    ]);
  });

  it('refuses pod labels the operator owns, maps the others with the scheduling fields', () => {
    expect(
      kinds(mapConfig({ podLabels: { 'app.kubernetes.io/name': 'x' } }).findings, 'unmappable'),
    ).toEqual(['podLabels']);
    const tolerations = [{ key: 'gpu', operator: 'Exists' }];
    const { spec } = mapConfig({
      podLabels: { team: 'nlp' },
      podAnnotations: { a: 'b' },
      nodeSelector: { pool: 'cpu' },
      tolerations,
    });
    expect(spec).toMatchObject({
      podLabels: { team: 'nlp' },
      podAnnotations: { a: 'b' },
      nodeSelector: { pool: 'cpu' },
      tolerations,
    });
  });

  it('accepts security contexts the operator already meets, refuses others', () => {
    const covered = mapConfig({
      podSecurityContext: { runAsNonRoot: true, runAsUser: 1000 },
      securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    });
    expect(kinds(covered.findings, 'unmappable')).toEqual([]);
    const other = mapConfig({
      podSecurityContext: { runAsUser: 2000 },
      securityContext: { privileged: true },
    });
    expect(kinds(other.findings, 'unmappable')).toEqual(['podSecurityContext', 'securityContext']);
  });

  it('refuses ServiceAccount annotations (a cloud identity would be lost)', () => {
    const { findings } = mapConfig({
      serviceAccount: { annotations: { 'iam.example/role': 'x' } },
    });
    expect(kinds(findings, 'unmappable')).toEqual(['serviceAccount.annotations']);
  });

  it('refuses an HPA without a CPU target', () => {
    const { findings } = mapConfig({
      autoscaling: {
        enabled: true,
        targetCPUUtilizationPercentage: null,
        targetMemoryUtilizationPercentage: 70,
      },
    });
    expect(kinds(findings, 'unmappable')).toEqual(['autoscaling.targetCPUUtilizationPercentage']);
  });

  it('names a value the chart does not have', () => {
    expect(finding(mapConfig({ nameOverride: 'x' }).findings, 'nameOverride')).toMatchObject({
      kind: 'not-mapped',
      why: 'chart llmplan 0.1.0 has no value "nameOverride": Helm ignored it, so the release never used it',
    });
  });
});
