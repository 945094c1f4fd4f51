/**
 * The SummarizerService reconciler end to end: the real operator process (deploy/'s RBAC)
 * against the real API server, with a fake LM Studio on 127.0.0.1 for BackendReachable.
 * One operator for the whole file; each test works on resources of its own names.
 */
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATIONS, LABELS, MANAGER } from '../../operator/api/labels.js';
import { summarizerServices } from '../../operator/reconcile/resources.js';
import {
  builtin,
  canonicalJson,
  type KubeClient,
  type KubeObject,
} from '../../operator/runtime/index.js';
import type { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { eventually, kubectl } from '../support/kube.js';
import {
  type OperatorFixture,
  type OperatorProcess,
  operatorForNamespace,
} from '../support/operator-harness.js';
import {
  adminClient,
  condition,
  createSummarizerService,
  eventsAbout,
  expectNoForbidden,
  findChild,
  getChild,
  kinds,
  listAll,
  patchSpec,
  summarizerService,
  waitForChild,
  waitForEvent,
  waitForGone,
  waitForStatus,
} from '../support/sumsvc.js';

let client: KubeClient;
let fixture: OperatorFixture;
let ns: { name: string };
let operator: OperatorProcess;
let fake: FakeLmStudio;

beforeAll(async () => {
  client = adminClient();
  fixture = await operatorForNamespace('op-reconcile');
  ({ ns, operator, fake } = fixture);
});

afterAll(async () => {
  const code = await fixture?.close();
  await client?.close();
  expect(code).toBe(0);
});

/**
 * spec.lmstudio for the fake LM Studio, reachable from the operator's process. Each resource
 * names its own ExternalName Service: one namespace holds one `lmstudio` Service, and a
 * second resource wanting it would (rightly) report an ownership conflict.
 */
function fakeBackend(crName: string): Record<string, unknown> {
  return { externalName: '127.0.0.1', port: fake.port, serviceName: `${crName}-lmstudio` };
}

const ARGO_LABEL = LABELS.instance;
const ARGO_ANNOTATION = 'argocd.argoproj.io/tracking-id';

function ownedBy(obj: KubeObject, owner: KubeObject): boolean {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller === true);
  return (
    ref?.uid === owner.metadata.uid &&
    ref?.kind === 'SummarizerService' &&
    ref?.name === owner.metadata.name &&
    ref?.blockOwnerDeletion === true
  );
}

function expectStandardLabels(obj: KubeObject, crName: string): void {
  expect(obj.metadata.labels).toMatchObject({
    [LABELS.name]: 'llmplan',
    [LABELS.instance]: crName,
    [LABELS.managedBy]: MANAGER,
  });
  expect(obj.metadata.annotations?.[ARGO_ANNOTATION]).toBeUndefined();
}

describe('create', () => {
  it('creates every child with the fields docs/resource.md lists, and reports status', async () => {
    const name = 'llmplan';
    await client.create(builtin.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'lmstudio-key', namespace: ns.name },
      stringData: { token: 's3cret' },
    });
    // Argo CD's label tracking puts the Application's name into the CR's instance label,
    // and annotation tracking its tracking-id: neither may reach a child.
    const cr = await createSummarizerService(
      client,
      summarizerService(
        ns.name,
        name,
        {
          image: { repository: 'registry.local/summarizer', tag: 'v0.1.0' },
          lmstudio: {
            externalName: '127.0.0.1',
            port: fake.port,
            apiKeySecretRef: { name: 'lmstudio-key', key: 'token' },
          },
          env: [{ name: 'EXTRA', value: 'yes' }],
          // Copied by hand from an Argo CD-managed object: filtered out as well.
          podAnnotations: { 'example.com/team': 'nlp', [ARGO_ANNOTATION]: 'copied' },
          podLabels: { team: 'nlp' },
        },
        {
          labels: { [ARGO_LABEL]: 'argo-app-llmplan', 'argocd.argoproj.io/instance': 'argo' },
          annotations: { [ARGO_ANNOTATION]: 'argo-app-llmplan:llmplan.io/SummarizerService:x/y' },
        },
      ),
    );

    const deployment = await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      () => true,
      'created',
    );
    const configMap = await getChild(client, 'configMap', ns.name, `${name}-config`);
    const service = await waitForChild(client, 'service', ns.name, name, () => true, 'created');
    const serviceAccount = await waitForChild(
      client,
      'serviceAccount',
      ns.name,
      name,
      () => true,
      'created',
    );
    const backend = await waitForChild(
      client,
      'service',
      ns.name,
      'lmstudio',
      () => true,
      'created',
    );

    for (const child of [deployment, configMap, service, serviceAccount, backend]) {
      expect(ownedBy(child, cr), `${child.kind} ${child.metadata.name} owner`).toBe(true);
      expectStandardLabels(child, name);
      expect(child.metadata.labels?.[LABELS.instance]).toBe(name);
      expect(child.metadata.labels?.['argocd.argoproj.io/instance']).toBeUndefined();
    }

    // Deployment and pod template.
    const template = deployment.spec?.template;
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.selector.matchLabels).toEqual({
      [LABELS.name]: 'llmplan',
      [LABELS.instance]: name,
    });
    expect(template?.metadata?.labels).toMatchObject({
      [LABELS.name]: 'llmplan',
      [LABELS.instance]: name,
      [LABELS.managedBy]: MANAGER,
      team: 'nlp',
    });
    expect(template?.metadata?.annotations?.['example.com/team']).toBe('nlp');
    expect(template?.metadata?.annotations?.[ARGO_ANNOTATION]).toBeUndefined();
    const podSpec = template?.spec;
    expect(podSpec?.serviceAccountName).toBe(name);
    expect(podSpec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = podSpec?.containers.find((c) => c.name === 'summarizer');
    expect(container?.image).toBe('registry.local/summarizer:v0.1.0');
    expect(container?.ports).toEqual([
      expect.objectContaining({ name: 'http', containerPort: 8000 }),
    ]);
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container?.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/tmp' }));
    const tmp = container?.volumeMounts?.find((m) => m.mountPath === '/tmp')?.name;
    expect(podSpec?.volumes?.find((v) => v.name === tmp)?.emptyDir).toBeDefined();
    expect(container?.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container?.startupProbe?.httpGet).toBeDefined();
    expect(container?.envFrom).toEqual([{ configMapRef: { name: `${name}-config` } }]);
    expect(container?.env).toContainEqual({
      name: 'LMSTUDIO_API_KEY',
      valueFrom: { secretKeyRef: { name: 'lmstudio-key', key: 'token' } },
    });
    expect(container?.env).toContainEqual({ name: 'EXTRA', value: 'yes' });
    expect(container?.resources).toMatchObject({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    // The config hash on the pod template is a hash of what the ConfigMap holds now.
    expect(template?.metadata?.annotations?.[ANNOTATIONS.configHash]).toBe(
      sha10(configMap.data ?? {}),
    );

    // ConfigMap: the service's variables (docs/api.md) but the key, pointing at the lmstudio
    // Service.
    expect(configMap.data).toEqual({
      PORT: '8000',
      LMSTUDIO_BASE_URL: `http://lmstudio:${fake.port}/v1`,
      LMSTUDIO_TIMEOUT: '30',
      LMSTUDIO_MAX_RETRIES: '3',
      DEFAULT_MODEL_NAME: 'qwen/qwen3-4b',
      DEFAULT_MAX_TOKENS: '1000',
      DEFAULT_TEMPERATURE: '0.3',
      DEFAULT_SUMMARY_TYPE: 'concise',
      DEFAULT_LANGUAGE: 'korean',
      DEBUG: 'false',
    });

    // Service port 8000 named http, selecting the pods; ExternalName to the backend.
    expect(service.spec?.type).toBe('ClusterIP');
    expect(service.spec?.ports).toEqual([
      expect.objectContaining({ name: 'http', port: 8000, targetPort: 'http' }),
    ]);
    expect(service.spec?.selector).toEqual(deployment.spec?.selector.matchLabels);
    expect(backend.spec).toMatchObject({ type: 'ExternalName', externalName: '127.0.0.1' });

    // One replica: no PDB; autoscaling and ingress off: neither exists.
    expect(await findChild(client, 'pdb', ns.name, name)).toBeUndefined();
    expect(await findChild(client, 'hpa', ns.name, name)).toBeUndefined();
    expect(await findChild(client, 'ingress', ns.name, name)).toBeUndefined();

    // Status, once the fake node runs the pod: ready, rollout complete, backend reachable.
    const ready = await waitForStatus(
      client,
      ns.name,
      name,
      (o) =>
        condition(o, 'Ready')?.status === 'True' &&
        condition(o, 'BackendReachable')?.status === 'True' &&
        condition(o, 'Progressing')?.reason === 'RolloutComplete',
      'Ready and BackendReachable',
    );
    expect(ready.status).toMatchObject({
      observedGeneration: ready.metadata.generation,
      replicas: 1,
      readyReplicas: 1,
      selector: `${LABELS.name}=llmplan,${LABELS.instance}=${name}`,
      endpoint: `http://${name}.${ns.name}.svc:8000`,
    });
    expect(condition(ready, 'Ready')).toMatchObject({ reason: 'Available' });
    expect(condition(ready, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(condition(ready, 'BackendReachable')).toMatchObject({ reason: 'Reachable' });
    for (const c of ready.status?.conditions ?? []) {
      expect(c.observedGeneration, c.type).toBe(ready.metadata.generation);
    }
    expect(fake.stats.modelsCalls).toBeGreaterThan(0);

    // One Created Event per child, from the operator.
    const events = await eventually(
      async () => {
        const all = await eventsAbout(client, ns.name, 'SummarizerService', name);
        const created = all.filter((e) => e.reason === 'Created');
        return created.length >= 5 ? created : undefined;
      },
      { what: 'Created events for the five children' },
    );
    expect(events.map((e) => e.note).sort()).toEqual(
      [
        'Created ConfigMap llmplan-config',
        'Created Deployment llmplan',
        'Created Service llmplan',
        'Created Service lmstudio',
        'Created ServiceAccount llmplan',
      ].sort(),
    );
    for (const e of events) {
      expect(e.type).toBe('Normal');
      expect(e.reportingController).toBe('llmplan-operator');
    }
  });
});

/** Creates a resource pointing at the fake backend and waits until it is Ready. */
async function createReady(name: string, spec: Record<string, unknown> = {}) {
  const cr = await createSummarizerService(
    client,
    summarizerService(ns.name, name, { lmstudio: fakeBackend(name), ...spec }),
  );
  await waitForStatus(
    client,
    ns.name,
    name,
    (o) => condition(o, 'Ready')?.status === 'True',
    `${name} Ready`,
  );
  return cr;
}

function summarizer(d: V1Deployment) {
  return d.spec?.template.spec?.containers.find((c) => c.name === 'summarizer');
}

/** Fields of `llmplan-operator`'s managed-fields entry (what it applies). */
function operatorFields(obj: KubeObject): string {
  return JSON.stringify(
    obj.metadata.managedFields?.filter((m) => m.manager === MANAGER && m.operation === 'Apply'),
  );
}

describe('each spec area updated → children follow', () => {
  const name = 'upd';
  let cr: KubeObject;
  beforeAll(async () => {
    cr = await createReady(name);
  });

  const deploymentCases: {
    area: string;
    spec: Record<string, unknown>;
    check: (d: V1Deployment) => boolean;
  }[] = [
    {
      area: 'image tag',
      spec: { image: { tag: 'v0.2.0' } },
      check: (d) => summarizer(d)?.image === 'ghcr.io/llmplan/summarizer:v0.2.0',
    },
    {
      area: 'resources',
      spec: {
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '2Gi' } },
      },
      check: (d) =>
        summarizer(d)?.resources?.requests?.cpu === '250m' &&
        summarizer(d)?.resources?.requests?.memory === '256Mi' &&
        summarizer(d)?.resources?.limits?.memory === '2Gi',
    },
    {
      area: 'env',
      spec: { env: [{ name: 'SUMMARY_CHUNK_CHARS', value: '4000' }] },
      check: (d) =>
        summarizer(d)?.env?.some((e) => e.name === 'SUMMARY_CHUNK_CHARS' && e.value === '4000') ===
        true,
    },
    {
      area: 'podAnnotations and podLabels',
      spec: { podAnnotations: { 'example.com/a': 'b' }, podLabels: { tier: 'gold' } },
      check: (d) =>
        d.spec?.template.metadata?.annotations?.['example.com/a'] === 'b' &&
        d.spec?.template.metadata?.labels?.tier === 'gold',
    },
    {
      area: 'nodeSelector and tolerations',
      spec: {
        nodeSelector: { type: 'kwok' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'llm', effect: 'NoSchedule' }],
      },
      check: (d) =>
        d.spec?.template.spec?.nodeSelector?.type === 'kwok' &&
        d.spec?.template.spec?.tolerations?.[0]?.key === 'dedicated',
    },
    {
      area: 'replicas (kubectl scale sumsvc)',
      spec: {},
      check: (d) => d.spec?.replicas === 2,
    },
  ];

  it.each(deploymentCases)('$area → the Deployment follows', async ({ area, spec, check }) => {
    const before = await getChild(client, 'deployment', ns.name, name);
    if (area.startsWith('replicas')) {
      const scaled = await kubectl(['-n', ns.name, 'scale', 'sumsvc', name, '--replicas=2']);
      expect(scaled.stderr).toBe('');
    } else {
      await patchSpec(client, ns.name, name, spec);
    }
    const after = await waitForChild(client, 'deployment', ns.name, name, check, area);
    expect(after.metadata.uid).toBe(before.metadata.uid);
    const updated = await waitForStatus(
      client,
      ns.name,
      name,
      (o) =>
        condition(o, 'Ready')?.status === 'True' &&
        condition(o, 'Progressing')?.reason === 'RolloutComplete',
      `rolled out and Ready after the ${area} change`,
    );
    expect(updated.status?.replicas).toBe(after.spec?.replicas);
    await waitForEvent(client, ns.name, name, 'Updated', /^Updated Deployment upd/);
  });

  it('more than one replica → a PodDisruptionBudget; back to one → it is deleted', async () => {
    // The previous case scaled to 2.
    const pdb = await waitForChild(client, 'pdb', ns.name, name, () => true, 'created');
    expect(ownedBy(pdb, cr)).toBe(true);
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual({
      [LABELS.name]: 'llmplan',
      [LABELS.instance]: name,
    });
    await patchSpec(client, ns.name, name, { replicas: 1 });
    await waitForGone(client, 'pdb', ns.name, name);
    await waitForEvent(client, ns.name, name, 'Deleted', /PodDisruptionBudget upd/);
  });

  it('summary defaults → the ConfigMap, and a new config hash rolls the pods', async () => {
    const before = await getChild(client, 'deployment', ns.name, name);
    const hashBefore = before.spec?.template.metadata?.annotations?.[ANNOTATIONS.configHash];
    await patchSpec(client, ns.name, name, {
      summary: {
        defaultMaxTokens: 500,
        defaultTemperature: 0.7,
        defaultSummaryType: 'bullet_points',
        defaultLanguage: 'japanese',
      },
      debug: true,
      lmstudio: { timeoutSeconds: 60, maxRetries: 1 },
    });
    const configMap = await waitForChild(
      client,
      'configMap',
      ns.name,
      `${name}-config`,
      (c) => c.data?.DEFAULT_LANGUAGE === 'japanese',
      'new summary defaults',
    );
    expect(configMap.data).toMatchObject({
      DEFAULT_MAX_TOKENS: '500',
      DEFAULT_TEMPERATURE: '0.7',
      DEFAULT_SUMMARY_TYPE: 'bullet_points',
      DEFAULT_LANGUAGE: 'japanese',
      DEBUG: 'true',
      LMSTUDIO_TIMEOUT: '60',
      LMSTUDIO_MAX_RETRIES: '1',
    });
    const rolled = await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) =>
        d.spec?.template.metadata?.annotations?.[ANNOTATIONS.configHash] ===
        sha10(configMap.data ?? {}),
      'config hash of the new ConfigMap',
    );
    expect(rolled.spec?.template.metadata?.annotations?.[ANNOTATIONS.configHash]).not.toBe(
      hashBefore,
    );
    // The Deployment controller rolled a new ReplicaSet for the new template.
    await eventually(
      async () => {
        const sets = (await listAll(client, builtin.replicaSets, ns.name)).filter((rs) =>
          rs.metadata.ownerReferences?.some((r) => r.uid === rolled.metadata.uid),
        ) as V1ReplicaSet[];
        const current = sets.find(
          (rs) =>
            rs.spec?.template?.metadata?.annotations?.[ANNOTATIONS.configHash] ===
            sha10(configMap.data ?? {}),
        );
        return (current?.status?.readyReplicas ?? 0) >= 1;
      },
      { what: 'a ready ReplicaSet with the new config hash' },
    );
    await waitForEvent(client, ns.name, name, 'Updated', /^Updated ConfigMap upd-config/);
  });

  it('service port and type → the Service follows; the endpoint too', async () => {
    await patchSpec(client, ns.name, name, { service: { type: 'NodePort', port: 9000 } });
    const service = await waitForChild(
      client,
      'service',
      ns.name,
      name,
      (s) => s.spec?.type === 'NodePort' && s.spec.ports?.[0]?.port === 9000,
      'NodePort 9000',
    );
    expect(service.spec?.ports?.[0]).toMatchObject({ name: 'http', targetPort: 'http' });
    expect(service.spec?.ports?.[0]?.nodePort).toBeGreaterThan(0);
    await waitForStatus(
      client,
      ns.name,
      name,
      (o) => o.status?.endpoint === `http://${name}.${ns.name}.svc:9000`,
      'endpoint on port 9000',
    );
    await patchSpec(client, ns.name, name, { service: { type: 'ClusterIP', port: 8000 } });
    await waitForChild(
      client,
      'service',
      ns.name,
      name,
      (s) => s.spec?.type === 'ClusterIP' && s.spec.ports?.[0]?.port === 8000,
      'back to ClusterIP 8000',
    );
  });
});

describe('optional children toggled on and off', () => {
  const name = 'toggle';
  let cr: KubeObject;
  beforeAll(async () => {
    cr = await createReady(name);
  });

  it('autoscaling → an HPA (and a PDB), Deployment replicas left to it; off → deleted', async () => {
    await patchSpec(client, ns.name, name, {
      autoscaling: {
        enabled: true,
        minReplicas: 2,
        maxReplicas: 5,
        targetCPUUtilizationPercentage: 70,
        targetMemoryUtilizationPercentage: 80,
      },
    });
    const hpa = await waitForChild(client, 'hpa', ns.name, name, () => true, 'created');
    expect(ownedBy(hpa, cr)).toBe(true);
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 2,
      maxReplicas: 5,
    });
    expect(hpa.spec?.metrics?.map((m) => m.resource?.name).sort()).toEqual(['cpu', 'memory']);
    await waitForChild(client, 'pdb', ns.name, name, () => true, 'created (up to 5 replicas)');
    // The operator no longer applies replicas: handed over to the HPA (autoscaling.test.ts).
    const deployment = await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) => !operatorFields(d).includes('"f:replicas"'),
      'replicas not applied by the operator',
    );
    expect(operatorFields(deployment)).toContain('"f:template"');
    // Switched on at the HPA's minimum; the operator does not fight it back to 1.
    await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) => d.spec?.replicas === 2,
      'HPA min',
    );
    await new Promise((r) => setTimeout(r, 2500));
    expect((await getChild(client, 'deployment', ns.name, name)).spec?.replicas).toBe(2);

    await patchSpec(client, ns.name, name, { autoscaling: { enabled: false } });
    await waitForGone(client, 'hpa', ns.name, name);
    await waitForGone(client, 'pdb', ns.name, name);
    await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) => d.spec?.replicas === 1 && operatorFields(d).includes('"f:replicas"'),
      'replicas applied again (1)',
    );
    await waitForEvent(client, ns.name, name, 'Deleted', /HorizontalPodAutoscaler toggle/);
  });

  it('ingress → an Ingress to the http port, and the endpoint follows; off → deleted', async () => {
    await patchSpec(client, ns.name, name, {
      ingress: {
        enabled: true,
        className: 'nginx',
        annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '120' },
        hosts: [{ host: 'llmplan.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
        tls: [{ secretName: 'llmplan-tls', hosts: ['llmplan.example.com'] }],
      },
    });
    const ingress = await waitForChild(client, 'ingress', ns.name, name, () => true, 'created');
    expect(ownedBy(ingress, cr)).toBe(true);
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe(
      '120',
    );
    expect(ingress.spec?.ingressClassName).toBe('nginx');
    expect(ingress.spec?.rules?.[0]).toMatchObject({
      host: 'llmplan.example.com',
      http: {
        paths: [
          {
            path: '/',
            pathType: 'Prefix',
            backend: { service: { name, port: { name: 'http' } } },
          },
        ],
      },
    });
    expect(ingress.spec?.tls).toEqual([
      { secretName: 'llmplan-tls', hosts: ['llmplan.example.com'] },
    ]);
    await waitForStatus(
      client,
      ns.name,
      name,
      (o) => o.status?.endpoint === 'https://llmplan.example.com',
      'endpoint on the ingress host',
    );
    await patchSpec(client, ns.name, name, { ingress: { enabled: false } });
    await waitForGone(client, 'ingress', ns.name, name);
    await waitForStatus(
      client,
      ns.name,
      name,
      (o) => o.status?.endpoint === `http://${name}.${ns.name}.svc:8000`,
      'endpoint back on the Service',
    );
    await waitForEvent(client, ns.name, name, 'Deleted', /Ingress toggle/);
  });

  it('externalName cleared → the ExternalName Service is deleted; set → created again', async () => {
    const backendName = `${name}-lmstudio`;
    const before = await getChild(client, 'service', ns.name, backendName);
    expect(before.spec?.externalName).toBe('127.0.0.1');
    await patchSpec(client, ns.name, name, { lmstudio: { externalName: '' } });
    await waitForGone(client, 'service', ns.name, backendName);
    // Out of the cluster, a plain Service name cannot be probed: BackendReachable is Unknown.
    const unknown = await waitForStatus(
      client,
      ns.name,
      name,
      (o) => condition(o, 'BackendReachable')?.status === 'Unknown',
      'BackendReachable Unknown without an externalName',
    );
    expect(condition(unknown, 'BackendReachable')?.reason).toBe('NotProbed');
    await waitForEvent(client, ns.name, name, 'Deleted', /Service toggle-lmstudio/);

    await patchSpec(client, ns.name, name, { lmstudio: { externalName: 'localhost' } });
    const again = await waitForChild(client, 'service', ns.name, backendName, () => true, 'again');
    expect(again.spec).toMatchObject({ type: 'ExternalName', externalName: 'localhost' });
    expect(again.metadata.uid).not.toBe(before.metadata.uid);
    expect(ownedBy(again, cr)).toBe(true);
  });
});

describe('a hand edit of a child is put back', () => {
  const name = 'handedit';
  beforeAll(async () => {
    await createReady(name);
  });

  it('kubectl patch of the image, resources and a label on the Deployment', async () => {
    const before = await getChild(client, 'deployment', ns.name, name);
    const image = summarizer(before)?.image;
    const patched = await kubectl([
      '-n',
      ns.name,
      'patch',
      'deployment',
      name,
      '--type=strategic',
      '-p',
      JSON.stringify({
        metadata: { labels: { [LABELS.managedBy]: 'someone', 'hand-added': 'kept' } },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'summarizer',
                  image: 'evil:latest',
                  resources: { limits: { memory: '8Gi' } },
                },
              ],
            },
          },
        },
      }),
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    const restored = await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) =>
        summarizer(d)?.image === image &&
        summarizer(d)?.resources?.limits?.memory === '1Gi' &&
        d.metadata.labels?.[LABELS.managedBy] === MANAGER,
      'the operator’s image, memory limit and managed-by label back',
    );
    // A field the operator does not set stays: server-side apply shares the object.
    expect(restored.metadata.labels?.['hand-added']).toBe('kept');
  });

  it('kubectl edit of the ConfigMap and the Service, and a deleted ServiceAccount', async () => {
    const cmName = `${name}-config`;
    const cm = await getChild(client, 'configMap', ns.name, cmName);
    // A real `kubectl edit`, with sed as the editor.
    const edited = await kubectl(['-n', ns.name, 'edit', 'configmap', cmName], {
      env: {
        ...process.env,
        KUBE_EDITOR: `sed -i -e 's/DEFAULT_LANGUAGE: korean/DEFAULT_LANGUAGE: english/' -e 's/DEBUG: "false"/DEBUG: "true"/'`,
      },
    });
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toContain('edited');
    await kubectl([
      '-n',
      ns.name,
      'patch',
      'service',
      name,
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 8080 }]),
    ]);
    const sa = await getChild(client, 'serviceAccount', ns.name, name);
    const deleted = await kubectl([
      '-n',
      ns.name,
      'delete',
      'serviceaccount',
      name,
      '--wait=false',
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);

    await waitForChild(
      client,
      'configMap',
      ns.name,
      cmName,
      (c) => c.data?.DEFAULT_LANGUAGE === 'korean' && c.data.DEBUG === 'false',
      'data put back',
    );
    await waitForChild(
      client,
      'service',
      ns.name,
      name,
      (s) => s.spec?.ports?.length === 1 && s.spec.ports[0]?.port === 8000,
      'port 8000 put back',
    );
    const recreated = await waitForChild(
      client,
      'serviceAccount',
      ns.name,
      name,
      (s) => s.metadata.uid !== sa.metadata.uid,
      'recreated',
    );
    expect(recreated.metadata.labels?.[LABELS.managedBy]).toBe(MANAGER);
    const after = await getChild(client, 'configMap', ns.name, cmName);
    expect(after.data).toEqual(cm.data);
  });
});

describe('ownership', () => {
  it('a same-name object it does not own: condition and Warning Event, object untouched', async () => {
    const name = 'taken';
    await client.create(builtin.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns.name, labels: { app: 'someone-else' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'someone-else' } },
        template: {
          metadata: { labels: { app: 'someone-else' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
        },
      },
    });
    // Baseline once the Deployment controller has stamped it and rolled it out.
    const foreignDeployment = await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) =>
        d.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1' &&
        d.status?.availableReplicas === 1,
      'someone else’s Deployment available',
    );
    const foreignConfig = await client.create<V1ConfigMap & KubeObject>(builtin.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-config`, namespace: ns.name },
      data: { keep: 'me' },
    });
    await createSummarizerService(
      client,
      summarizerService(ns.name, name, { lmstudio: fakeBackend(name) }),
    );
    const status = await waitForStatus(
      client,
      ns.name,
      name,
      (o) => condition(o, 'Degraded')?.reason === 'OwnershipConflict',
      'Degraded OwnershipConflict',
    );
    expect(condition(status, 'Degraded')?.status).toBe('True');
    expect(condition(status, 'Degraded')?.message).toMatch(/Deployment taken/);
    expect(condition(status, 'Degraded')?.message).toMatch(/ConfigMap taken-config/);
    expect(condition(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'OwnershipConflict',
    });
    const warning = await waitForEvent(
      client,
      ns.name,
      name,
      'OwnershipConflict',
      /Deployment taken exists and is not controlled/,
    );
    expect(warning.type).toBe('Warning');
    // The children it may create, it creates.
    await waitForChild(client, 'service', ns.name, name, () => true, 'created beside the conflict');
    await waitForChild(client, 'serviceAccount', ns.name, name, () => true, 'created');
    // Several reconciles later (the probe requeues every second), nothing of theirs changed.
    await new Promise((r) => setTimeout(r, 3000));
    const deploymentAfter = await getChild(client, 'deployment', ns.name, name);
    const configAfter = await getChild(client, 'configMap', ns.name, `${name}-config`);
    // The Deployment controller writes its status (so its resourceVersion moves); its
    // spec and metadata are what the operator must not touch.
    expect(deploymentAfter.metadata.generation).toBe(foreignDeployment.metadata.generation);
    expect(deploymentAfter.spec).toEqual(foreignDeployment.spec);
    expect(deploymentAfter.metadata.labels).toEqual(foreignDeployment.metadata.labels);
    expect(deploymentAfter.metadata.annotations).toEqual(foreignDeployment.metadata.annotations);
    expect(deploymentAfter.metadata.ownerReferences).toBeUndefined();
    expect(deploymentAfter.metadata.managedFields?.some((m) => m.manager === MANAGER)).toBe(false);
    expect(configAfter.metadata.resourceVersion).toBe(foreignConfig.metadata.resourceVersion);
    expect(configAfter.data).toEqual({ keep: 'me' });
    expect(configAfter.metadata.managedFields?.some((m) => m.manager === MANAGER)).toBe(false);

    // Its owner removes the Deployment: the operator now creates its own.
    await client.delete(builtin.deployments, name, ns.name, { propagationPolicy: 'Background' });
    const ours = await waitForChild(
      client,
      'deployment',
      ns.name,
      name,
      (d) => summarizer(d) !== undefined,
      'the operator’s own Deployment',
    );
    expect(ours.metadata.ownerReferences?.[0]?.kind).toBe('SummarizerService');
    const still = await waitForStatus(
      client,
      ns.name,
      name,
      (o) => condition(o, 'Ready')?.reason !== 'OwnershipConflict',
      'Ready no longer blocked by the Deployment',
    );
    expect(condition(still, 'Degraded')?.message).not.toMatch(/Deployment taken/);
    expect(condition(still, 'Degraded')?.message).toMatch(/ConfigMap taken-config/);
  });
});

describe('backend', () => {
  it('BackendReachable follows LM Studio going down and coming back', async () => {
    const name = 'backend';
    await createReady(name);
    const reachable = await waitForStatus(
      client,
      ns.name,
      name,
      (o) => condition(o, 'BackendReachable')?.status === 'True',
      'BackendReachable True',
    );
    expect(condition(reachable, 'BackendReachable')?.message).toContain(`127.0.0.1:${fake.port}`);
    await fake.down();
    try {
      const down = await waitForStatus(
        client,
        ns.name,
        name,
        (o) => condition(o, 'BackendReachable')?.status === 'False',
        'BackendReachable False',
      );
      expect(condition(down, 'BackendReachable')).toMatchObject({
        reason: 'BackendUnreachable',
        message: expect.stringContaining('LM Studio'),
      });
      expect(condition(down, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'BackendUnreachable',
      });
      expect(condition(down, 'Degraded')).toMatchObject({
        status: 'True',
        reason: 'BackendUnreachable',
      });
      // A backend outage leaves the workload alone.
      const deployment = await getChild(client, 'deployment', ns.name, name);
      expect(deployment.metadata.generation).toBe(1);
    } finally {
      await fake.up();
    }
    await waitForStatus(
      client,
      ns.name,
      name,
      (o) =>
        condition(o, 'BackendReachable')?.status === 'True' &&
        condition(o, 'Ready')?.status === 'True',
      'BackendReachable and Ready again',
    );
  });
});

describe('delete', () => {
  it('deleting the resource garbage-collects every child', async () => {
    const name = 'gone';
    const cr = await createReady(name, {
      replicas: 2,
      ingress: {
        enabled: true,
        hosts: [{ host: 'gone.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
      },
    });
    await waitForChild(client, 'pdb', ns.name, name, () => true, 'created');
    await waitForChild(client, 'ingress', ns.name, name, () => true, 'created');
    const owned = async () => {
      const all: KubeObject[] = [];
      for (const resource of [...Object.values(kinds), builtin.replicaSets, builtin.pods]) {
        all.push(...(await listAll(client, resource, ns.name)));
      }
      return all.filter((o) => o.metadata.labels?.[LABELS.instance] === name);
    };
    // SA, ConfigMap, 2 Services, Deployment, PDB, Ingress, a ReplicaSet and 2 pods.
    expect((await owned()).length).toBeGreaterThanOrEqual(10);
    await client.delete(summarizerServices, name, ns.name);
    await eventually(async () => (await owned()).length === 0, {
      what: 'every child of the deleted resource garbage-collected',
      timeoutMs: 60_000,
    });
    // The operator noticed and did nothing more (no errors about the gone resource).
    expect(
      operator.logs.filter(
        (l) => l.level === 'error' && JSON.stringify(l).includes(cr.metadata.uid ?? '?'),
      ),
    ).toEqual([]);
  });
});

describe('rbac', () => {
  it('the operator was never refused by the API server under deploy/’s RBAC', () => {
    expectNoForbidden(operator);
    expect(operator.rawLines).toEqual([]);
  });
});

function sha10(data: Record<string, string>): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex').slice(0, 10);
}
