/**
 * Adoption on explicit opt-in (issue 11), against the real API server with the real operator
 * (deploy/'s RBAC): objects written the way Helm 3 writes them (imperative writes of field
 * manager `helm`, Helm's labels and annotations) are taken over in place only when they carry
 * `llmplan.io/adopt: <SummarizerService>` and have no controller; every other same-name object
 * stays an OwnershipConflict, untouched.
 */
import type {
  V1ConfigMap,
  V1Deployment,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATIONS, LABELS, MANAGER } from '../../operator/api/labels.js';
import { builtin, KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import type { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { kubeConfig } from '../support/kube.js';
import { type OperatorFixture, operatorForNamespace } from '../support/operator-harness.js';
import {
  adminClient,
  condition,
  createSummarizerService,
  getChild,
  summarizerService,
  waitForChild,
  waitForEvent,
  waitForStatus,
} from '../support/sumsvc.js';

let client: KubeClient;
/** Writes as Helm 3 does: imperative creates by field manager `helm`. */
let helm: KubeClient;
let fixture: OperatorFixture;
let ns: { name: string };
let fake: FakeLmStudio;

beforeAll(async () => {
  client = adminClient();
  helm = new KubeClient(kubeConfig(), { fieldManager: 'helm' });
  fixture = await operatorForNamespace('op-adopt');
  ({ ns, fake } = fixture);
});

afterAll(async () => {
  const code = await fixture?.close();
  await client?.close();
  await helm?.close();
  expect(code).toBe(0);
});

const HELM_LABELS = {
  'helm.sh/chart': 'llmplan-0.1.0',
  'app.kubernetes.io/version': 'v0.1.0',
  [LABELS.managedBy]: 'Helm',
};

/** Metadata of an object of Helm release `name`, optionally marked for adoption by `adoptBy`. */
function helmMetadata(name: string, objectName: string, adoptBy?: string) {
  return {
    name: objectName,
    namespace: ns.name,
    labels: { [LABELS.name]: 'llmplan', [LABELS.instance]: name, ...HELM_LABELS },
    annotations: {
      'meta.helm.sh/release-name': name,
      'meta.helm.sh/release-namespace': ns.name,
      ...(adoptBy ? { [ANNOTATIONS.adopt]: adoptBy } : {}),
    },
  };
}

/** The old chart's objects: ServiceAccount, ConfigMap (with a key the operator does not write), Service, Deployment. */
async function installLikeHelm(name: string, adoptBy: (kind: string) => string | undefined) {
  const selector = { [LABELS.name]: 'llmplan', [LABELS.instance]: name };
  const sa = await helm.create<V1ServiceAccount & KubeObject>(builtin.serviceAccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: helmMetadata(name, name, adoptBy('ServiceAccount')),
  });
  const config = await helm.create<V1ConfigMap & KubeObject>(builtin.configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: helmMetadata(name, `${name}-config`, adoptBy('ConfigMap')),
    data: { PORT: '8000', LMSTUDIO_API_KEY: '' },
  });
  const service = await helm.create<V1Service & KubeObject>(builtin.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: helmMetadata(name, name, adoptBy('Service')),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'http', port: 8000, targetPort: 8000, protocol: 'TCP' }],
    },
  });
  const deployment = await helm.create<V1Deployment & KubeObject>(builtin.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: helmMetadata(name, name, adoptBy('Deployment')),
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, ...HELM_LABELS } },
        spec: {
          serviceAccountName: name,
          containers: [
            {
              name: 'llmplan',
              image: 'ghcr.io/llmplan/summarizer:v0.1.0',
              ports: [{ name: 'http', containerPort: 8000 }],
              envFrom: [{ configMapRef: { name: `${name}-config` } }],
              readinessProbe: { httpGet: { path: '/api/v1/summary/health', port: 'http' } },
            },
          ],
        },
      },
    },
  });
  return { sa, config, service, deployment };
}

const spec = (name: string) => ({
  image: { repository: 'ghcr.io/llmplan/summarizer', tag: 'v0.1.0' },
  lmstudio: { externalName: '127.0.0.1', port: fake.port, serviceName: `${name}-lmstudio` },
});

const controller = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller);

describe('adoption', () => {
  it('takes over marked objects in place: owner reference, its fields only, Helm’s marks gone', async () => {
    const name = 'adopted';
    const before = await installLikeHelm(name, () => name);
    const cr = await createSummarizerService(client, summarizerService(ns.name, name, spec(name)));
    const status = await waitForStatus(
      client,
      ns.name,
      name,
      (o) => condition(o, 'Degraded')?.status === 'False',
      'reconciled without conflicts',
    );
    expect(condition(status, 'Degraded')?.reason).not.toBe('OwnershipConflict');

    const kinds = [
      ['serviceAccount', name, before.sa],
      ['configMap', `${name}-config`, before.config],
      ['service', name, before.service],
      ['deployment', name, before.deployment],
    ] as const;
    for (const [kind, objectName, old] of kinds) {
      const now = await getChild(client, kind, ns.name, objectName);
      expect(now.metadata?.uid, `${kind} updated in place`).toBe(old.metadata.uid);
      expect(controller(now as KubeObject)).toMatchObject({
        kind: 'SummarizerService',
        name,
        uid: cr.metadata.uid,
      });
      expect(now.metadata?.labels).toMatchObject({ [LABELS.managedBy]: MANAGER });
      for (const key of ['helm.sh/chart', 'app.kubernetes.io/version']) {
        expect(now.metadata?.labels?.[key], `${kind} label ${key}`).toBeUndefined();
      }
      expect(Object.keys(now.metadata?.annotations ?? {})).not.toEqual(
        expect.arrayContaining([
          'meta.helm.sh/release-name',
          'meta.helm.sh/release-namespace',
          ANNOTATIONS.adopt,
        ]),
      );
      // The operator alone owns what it set; Helm's imperative entry is gone.
      const managers = (now.metadata?.managedFields ?? [])
        .filter((m) => !m.subresource)
        .map((m) => `${m.manager}/${m.operation}`);
      expect(managers.filter((m) => m !== 'kube-controller-manager/Update')).toEqual([
        `${MANAGER}/Apply`,
      ]);
    }
    const service = await getChild(client, 'service', ns.name, name);
    expect(service.spec?.clusterIP).toBe(before.service.spec?.clusterIP);
    expect(service.spec?.ports).toEqual([
      { name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' },
    ]);
    const config = await getChild(client, 'configMap', ns.name, `${name}-config`);
    expect(config.data).not.toHaveProperty('LMSTUDIO_API_KEY');
    const deployment = await getChild(client, 'deployment', ns.name, name);
    expect(deployment.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['summarizer']);
    expect(deployment.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path).toBe(
      '/readyz',
    );
    expect(deployment.spec?.template.metadata?.labels?.['helm.sh/chart']).toBeUndefined();
    const event = await waitForEvent(
      client,
      ns.name,
      name,
      'Adopted',
      /Adopting Deployment adopted/,
    );
    expect(event.type).toBe('Normal');
  });

  it('refuses every other same-name object, and leaves it untouched', async () => {
    const name = 'refused';
    // ServiceAccount: no opt-in. ConfigMap: opted in for another resource. Deployment: opted
    // in, but someone else controls it. Service: opted in: adopted.
    const before = await installLikeHelm(name, (kind) =>
      kind === 'ServiceAccount' ? undefined : kind === 'ConfigMap' ? 'someone-else' : name,
    );
    await helm.patch(builtin.deployments, name, ns.name, {
      metadata: {
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: `${name}-config`,
            uid: before.config.metadata.uid,
            controller: true,
          },
        ],
      },
    });
    const deploymentBefore = await getChild(client, 'deployment', ns.name, name);
    await createSummarizerService(client, summarizerService(ns.name, name, spec(name)));
    const status = await waitForStatus(
      client,
      ns.name,
      name,
      (o) => condition(o, 'Degraded')?.reason === 'OwnershipConflict',
      'OwnershipConflict',
    );
    const message = condition(status, 'Degraded')?.message ?? '';
    expect(message).toMatch(/ServiceAccount refused/);
    expect(message).toMatch(/ConfigMap refused-config/);
    expect(message).toMatch(/Deployment refused/);
    expect(message).not.toMatch(/Service refused[^-]/);
    await waitForChild(
      client,
      'service',
      ns.name,
      name,
      (s) => controller(s as KubeObject)?.name === name,
      'the opted-in Service adopted',
    );
    // Several reconciles later (the probe requeues every second), nothing of theirs changed.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const sa = await getChild(client, 'serviceAccount', ns.name, name);
    const config = await getChild(client, 'configMap', ns.name, `${name}-config`);
    const deployment = await getChild(client, 'deployment', ns.name, name);
    expect(sa.metadata?.resourceVersion).toBe(before.sa.metadata.resourceVersion);
    expect(config.metadata?.resourceVersion).toBe(before.config.metadata.resourceVersion);
    expect(deployment.metadata?.generation).toBe(deploymentBefore.metadata?.generation);
    expect(deployment.spec).toEqual(deploymentBefore.spec);
    expect(deployment.metadata?.labels).toEqual(deploymentBefore.metadata?.labels);
    for (const object of [sa, config, deployment]) {
      expect(object.metadata?.managedFields?.some((m) => m.manager === MANAGER)).toBe(false);
    }
  });
});
