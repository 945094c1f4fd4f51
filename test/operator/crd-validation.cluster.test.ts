/**
 * crds/summarizerservice.yaml on a real kube-apiserver: the CRD is accepted and
 * Established, the server applies the defaults parseSummarizerService applies, refuses bad
 * specs with a message naming the field (and parseSummarizerService refuses the same
 * ones), and the status and scale subresources and printer columns work.
 * No operator runs here: this is the API contract alone.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  GROUP,
  PLURAL,
  safeParseSummarizerService,
  VERSION,
} from '../../operator/api/summarizerservice.js';
import { computeStatus } from '../../operator/status/compute.js';
import {
  createTestNamespace,
  eventually,
  kubeConfig,
  kubectl,
  kubectlOk,
} from '../support/kube.js';
import { installCrd } from '../support/operator-harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const extensions = kc.makeApiClient(k8s.ApiextensionsV1Api);
let namespace: { name: string; dispose: () => Promise<void> };

function resource(name: string, spec: unknown): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'SummarizerService', metadata: { name }, spec };
}

/** Creates (or dry-runs) a SummarizerService; returns the server's object or its error message. */
async function create(
  body: Record<string, unknown>,
  dryRun = true,
): Promise<{ ok: true; object: Record<string, unknown> } | { ok: false; message: string }> {
  try {
    const object = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: namespace.name,
      body,
      ...(dryRun ? { dryRun: 'All' } : {}),
    })) as Record<string, unknown>;
    return { ok: true, object };
  } catch (error) {
    if (!(error instanceof k8s.ApiException)) throw error;
    const body = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { ok: false, message: String((body as { message?: string }).message ?? error.message) };
  }
}

beforeAll(async () => {
  await installCrd();
  namespace = await createTestNamespace(kc, 'crd');
});

afterAll(async () => {
  await namespace?.dispose();
});

describe('the CRD', () => {
  it('is Established with its names accepted', async () => {
    const crd = await extensions.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    const conditions = Object.fromEntries(
      (crd.status?.conditions ?? []).map((c) => [c.type, c.status]),
    );
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(crd.status?.acceptedNames).toMatchObject({
      shortNames: ['sumsvc'],
      categories: ['llmplan'],
    });
  });

  it('reads well in kubectl explain', async () => {
    // A CRD just created or changed is published in OpenAPI a moment after it is Established.
    const out = await eventually(() => kubectlOk(['explain', 'sumsvc.spec.autoscaling']), {
      what: 'kubectl explain to find the CRD',
    });
    expect(out).toContain('KIND:       SummarizerService');
    expect(out).toMatch(
      /minReplicas\s+<integer>\s+Fewest replicas the HPA keeps\. Defaults to 1\./,
    );
    const remediation = await kubectlOk([
      'explain',
      'sumsvc.spec.remediation.oomMemoryBump.factor',
    ]);
    expect(remediation).toContain('greater than 1');
  });
});

describe('defaults', () => {
  it.each([
    ['an empty spec', {}],
    [
      'a partial spec',
      {
        resources: { requests: { cpu: 1 } },
        ingress: { enabled: true, hosts: [{ host: 'a.example.com' }] },
      },
    ],
  ])('are those parseSummarizerService applies, for %s', async (_title, spec) => {
    const result = await create(resource('defaults', spec));
    if (!result.ok) throw new Error(result.message);
    const local = safeParseSummarizerService({
      ...resource('defaults', spec),
      metadata: { name: 'defaults' },
    });
    if (!local.success) throw local.error;
    expect(result.object.spec).toEqual(local.data.spec);
  });
});

/** [what, spec (or whole object), field the message must name, words it must contain] */
const refused: [string, unknown, string, string][] = [
  [
    'autoscaling min above max',
    { autoscaling: { minReplicas: 5, maxReplicas: 2 } },
    'spec.autoscaling.minReplicas',
    'minReplicas must be less than or equal to maxReplicas',
  ],
  [
    'cpu request above limit',
    { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } },
    'spec.resources.requests.cpu',
    'requests.cpu must be less than or equal to limits.cpu',
  ],
  [
    'memory request above the default limit',
    { resources: { requests: { memory: '2Gi' } } },
    'spec.resources.requests.memory',
    'requests.memory must be less than or equal to limits.memory',
  ],
  [
    'a memory limit that is no quantity',
    { resources: { limits: { memory: 'lots' } } },
    'spec.resources.limits.memory',
    'must be a non-negative quantity',
  ],
  [
    'a negative cpu request',
    { resources: { requests: { cpu: '-1' } } },
    'spec.resources.requests.cpu',
    'must be a non-negative quantity',
  ],
  [
    'a fractional cpu number',
    { resources: { requests: { cpu: 0.5 } } },
    'spec.resources.requests.cpu',
    'integer',
  ],
  [
    'an ingress host that is no DNS name',
    { ingress: { hosts: [{ host: 'Not_A_Host' }] } },
    'spec.ingress.hosts[0].host',
    'host must be a DNS name',
  ],
  [
    'ingress enabled without hosts',
    { ingress: { enabled: true, hosts: [] } },
    'spec.ingress.hosts',
    'at least one host',
  ],
  [
    'an ingress path without /',
    { ingress: { hosts: [{ host: 'a.b', paths: [{ path: 'api' }] }] } },
    'spec.ingress.hosts[0].paths[0].path',
    'should match',
  ],
  [
    'a TLS secret name with capitals',
    { ingress: { tls: [{ secretName: 'My_Cert' }] } },
    'spec.ingress.tls[0].secretName',
    'secretName must be a valid object name',
  ],
  [
    'a memory bump factor of 1',
    { remediation: { oomMemoryBump: { factor: 1 } } },
    'spec.remediation.oomMemoryBump.factor',
    'greater than 1',
  ],
  [
    'a maxMemory that is no quantity',
    { remediation: { oomMemoryBump: { maxMemory: '4 GB' } } },
    'spec.remediation.oomMemoryBump.maxMemory',
    'maxMemory must be a non-negative quantity',
  ],
  ['service port 0', { service: { port: 0 } }, 'spec.service.port', 'greater than or equal to 1'],
  [
    'LM Studio port 70000',
    { lmstudio: { port: 70000 } },
    'spec.lmstudio.port',
    'less than or equal to 65535',
  ],
  [
    'scale-up to 0 replicas',
    { remediation: { scaleUp: { replicas: 0 } } },
    'spec.remediation.scaleUp.replicas',
    'greater than or equal to 1',
  ],
  [
    'an API key Secret name with capitals',
    { lmstudio: { apiKeySecretRef: { name: 'My_Secret' } } },
    'spec.lmstudio.apiKeySecretRef.name',
    'name must be a valid object name',
  ],
  [
    'an externalName with a scheme',
    { lmstudio: { externalName: 'http://lmstudio' } },
    'spec.lmstudio.externalName',
    'externalName must be a DNS name',
  ],
  [
    'a serviceName with dots',
    { lmstudio: { serviceName: 'lm.studio' } },
    'spec.lmstudio.serviceName',
    'serviceName must be a DNS-1035 label',
  ],
  [
    'a serviceName equal to the resource name',
    { lmstudio: { serviceName: 'bad' } },
    'spec.lmstudio.serviceName',
    'must differ from metadata.name',
  ],
  [
    'env setting PORT',
    { env: [{ name: 'PORT', value: '9000' }] },
    'spec.env',
    'env must not set PORT',
  ],
  [
    'env setting LMSTUDIO_API_KEY beside apiKeySecretRef (issue 20: a duplicate env entry)',
    {
      lmstudio: { apiKeySecretRef: { name: 'lmstudio' } },
      env: [{ name: 'LMSTUDIO_API_KEY', value: 'lm-studio' }],
    },
    'spec.env',
    'env must not set LMSTUDIO_API_KEY: the operator sets it from spec.lmstudio.apiKeySecretRef',
  ],
  [
    'env setting DEBUG',
    { env: [{ name: 'DEBUG', value: 'true' }] },
    'spec.env',
    'env must not set DEBUG: the operator sets it from spec.debug',
  ],
  [
    'podLabels taking over the selector',
    { podLabels: { 'app.kubernetes.io/instance': 'x' } },
    'spec.podLabels',
    'podLabels must not set',
  ],
  [
    'an unknown summary type',
    { summary: { defaultSummaryType: 'haiku' } },
    'spec.summary.defaultSummaryType',
    'Unsupported value',
  ],
  [
    'a temperature above 2',
    { summary: { defaultTemperature: 2.5 } },
    'spec.summary.defaultTemperature',
    'less than or equal to 2',
  ],
  [
    'max_tokens below 50',
    { summary: { defaultMaxTokens: 10 } },
    'spec.summary.defaultMaxTokens',
    'greater than or equal to 50',
  ],
  [
    'a tag inside the repository',
    { image: { repository: 'ghcr.io/acme/llmplan:v1' } },
    'spec.image.repository',
    'should match',
  ],
  [
    'an unknown pull policy',
    { image: { pullPolicy: 'Sometimes' } },
    'spec.image.pullPolicy',
    'Unsupported value',
  ],
  ['negative replicas', { replicas: -1 }, 'spec.replicas', 'greater than or equal to 0'],
  [
    'an LM Studio timeout of 0',
    { lmstudio: { timeoutSeconds: 0 } },
    'spec.lmstudio.timeoutSeconds',
    'greater than or equal to 1',
  ],
  [
    'a progress deadline of 1 s',
    { remediation: { progressDeadlineSeconds: 1 } },
    'spec.remediation.progressDeadlineSeconds',
    'greater than or equal to 5',
  ],
  [
    'more than 64 pod annotations',
    { podAnnotations: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`a${i}`, 'x'])) },
    'spec.podAnnotations',
    'must have at most 64 items',
  ],
  [
    'more actions per hour than history keeps',
    { remediation: { maxActionsPerHour: 50 } },
    'spec.remediation.maxActionsPerHour',
    'less than or equal to 20',
  ],
];

describe(`the API server refuses ${refused.length} kinds of bad spec, naming the field`, () => {
  it.each(refused)('%s', async (_title, spec, field, words) => {
    const result = await create(resource('bad', spec));
    expect(result.ok, 'the server accepted it').toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(`${field}:`);
    expect(result.message).toContain(words);
    // parseSummarizerService refuses it too, at the same field.
    const local = safeParseSummarizerService({
      ...resource('bad', spec),
      metadata: { name: 'bad' },
    });
    expect(local.success).toBe(false);
    if (!local.success)
      expect(
        local.error.issues.some((i) => i.startsWith(`${field}:`)),
        local.error.message,
      ).toBe(true);
  });

  it.each(['1llmplan', 'llm.plan'])('and a name that cannot name a Service: %s', async (name) => {
    const result = await create(resource(name, {}));
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.message).toContain('metadata.name must be a DNS-1035 label');
  });

  it('but accepts registry ports, wildcard hosts, integer quantities and trailing-dot names', async () => {
    const result = await create(
      resource('edge', {
        image: { repository: 'registry.local:5000/team/llmplan', tag: 'v0.1.0' },
        resources: { requests: { cpu: 1, memory: '1Gi' }, limits: { cpu: 2, memory: '1Gi' } },
        ingress: {
          enabled: true,
          hosts: [{ host: '*.company.com' }],
          tls: [{ secretName: 'wild.card' }],
        },
        lmstudio: {
          externalName: 'lmstudio.internal.company.com.',
          apiKeySecretRef: { name: 'lm.key' },
        },
        env: [{ name: 'EXTRA', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        affinity: { nodeAffinity: {} },
        tolerations: [{ operator: 'Exists' }],
      }),
    );
    expect(result.ok ? 'accepted' : result.message).toBe('accepted');
  });
});

describe('examples', () => {
  it.each(['dev', 'staging', 'prod'])('examples/%s.yaml is accepted', async (env) => {
    const docs = parseAllDocuments(readFileSync(`${root}examples/${env}.yaml`, 'utf8')).map((d) =>
      d.toJS(),
    );
    const cr = docs.find((d: { kind?: string }) => d.kind === 'SummarizerService');
    const result = await create({ ...cr, metadata: { name: cr.metadata.name } });
    expect(result.ok ? 'accepted' : result.message).toBe('accepted');
  });
});

describe('subresources and printer columns', () => {
  it('take a status written by computeStatus, and kubectl scale writes spec.replicas', async () => {
    const created = await create(
      resource('live', { replicas: 2, image: { tag: 'v0.1.0' } }),
      false,
    );
    if (!created.ok) throw new Error(created.message);
    const local = safeParseSummarizerService(created.object);
    if (!local.success) throw local.error;
    const status = computeStatus({
      cr: local.data,
      deployment: {
        metadata: { generation: 1 },
        spec: {
          replicas: 2,
          selector: {},
          template: { spec: { containers: [{ name: 'summarizer', image: 'summarizer:v0.1.0' }] } },
        },
        status: {
          observedGeneration: 1,
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
          conditions: [{ type: 'Available', status: 'True' }],
        },
      },
      backend: { state: 'reachable' },
      conflicts: [],
      remediation: {
        currentRevision: 'abc123def0',
        history: [
          {
            time: '2025-06-01T12:00:00Z',
            action: 'ScaleUp',
            reason: 'Overloaded',
            from: '2',
            to: '5',
          },
        ],
      },
      now: new Date(),
    });
    await kubectlOk([
      '-n',
      namespace.name,
      'patch',
      'sumsvc',
      'live',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
    const row = await eventually(
      async () => {
        const out = await kubectlOk([
          '-n',
          namespace.name,
          'get',
          'sumsvc',
          'live',
          '-o',
          'wide',
          '--no-headers',
        ]);
        return out.includes('abc123def0') ? out.trim().split(/\s+/) : undefined;
      },
      { what: 'the status to show' },
    );
    // NAME READY STATUS REPLICAS READYREPLICAS REVISION TAG SERVING LOAD SATURATION REASON
    // ENDPOINT AGE; LOAD and SATURATION are empty (no status.load here), so the split skips them.
    expect(row.slice(0, 10)).toEqual([
      'live',
      'True',
      'Ready',
      '2',
      '2',
      'abc123def0',
      'v0.1.0',
      'v0.1.0',
      'Available',
      `http://live.${namespace.name}.svc:8000`,
    ]);
    const headers = (await kubectlOk(['-n', namespace.name, 'get', 'sumsvc', '-o', 'wide']))
      .split('\n')[0]
      ?.trim()
      .split(/\s+/);
    expect(headers).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'REPLICAS',
      'READYREPLICAS',
      'REVISION',
      'TAG',
      'SERVING',
      'LOAD',
      'SATURATION',
      'REASON',
      'ENDPOINT',
      'AGE',
    ]);

    const scale = await kubectl(['-n', namespace.name, 'scale', 'sumsvc', 'live', '--replicas=5']);
    expect(scale.stderr).toBe('');
    const after = (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: namespace.name,
      name: 'live',
    })) as { spec: { replicas: number } };
    expect(after.spec.replicas).toBe(5);
    const scaleObj = (await custom.getNamespacedCustomObjectScale({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: namespace.name,
      name: 'live',
    })) as { status: { replicas: number; selector: string } };
    expect(scaleObj.status).toEqual({
      replicas: 2,
      selector: 'app.kubernetes.io/name=llmplan,app.kubernetes.io/instance=live',
    });
    // `kubectl get llmplan` finds it through the category.
    expect(await kubectlOk(['-n', namespace.name, 'get', 'llmplan', '-o', 'name'])).toContain(
      'summarizerservice.llmplan.io/live',
    );
  });
});
