/**
 * Proves the local control plane is real Kubernetes: the Deployment and
 * garbage-collection controllers run, CRD CEL validation and RBAC are
 * enforced, server-side apply conflicts are reported, and kwok's fake nodes
 * give each image tag the pod state hack/cluster/README.md promises.
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.js';

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);

let ns: string;
let disposeNs: () => Promise<void>;

beforeAll(async () => {
  const created = await createTestNamespace(kc, 'cluster');
  ns = created.name;
  disposeNs = created.dispose;
});
afterAll(async () => {
  await disposeNs?.();
});

function deployment(
  name: string,
  image: string,
  extra: Partial<k8s.V1DeploymentSpec> = {},
  memoryLimit?: string,
): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'main',
              image,
              ...(memoryLimit ? { resources: { limits: { memory: memoryLimit } } } : {}),
            },
          ],
        },
      },
      ...extra,
    },
  };
}

async function podsOf(name: string): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` });
  return list.items;
}

async function onePodWhere(
  name: string,
  predicate: (pod: k8s.V1Pod) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<k8s.V1Pod> {
  return eventually(
    async () =>
      (await podsOf(name)).find((pod) => !pod.metadata?.deletionTimestamp && predicate(pod)),
    { timeoutMs, what },
  );
}

const ready = (pod: k8s.V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const container = (pod: k8s.V1Pod) => pod.status?.containerStatuses?.[0];

describe('the control plane', () => {
  it('reports the Kubernetes version it was built from', async () => {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    if (inject('localCluster')) {
      // The version ldflags of build-bins.sh: /version names the pinned module.
      const goMod = readFileSync(
        new URL('../../hack/cluster/bins/go.mod', import.meta.url),
        'utf8',
      );
      const pinned = /k8s\.io\/kubernetes (v\S+)/.exec(goMod)?.[1];
      expect(version.gitVersion).toBe(pinned);
    }
  });

  it('has Ready fake nodes', async () => {
    const nodes = await core.listNode();
    expect(nodes.items.length).toBeGreaterThanOrEqual(1);
    for (const node of nodes.items) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('rolls a Deployment out onto a fake node, then garbage-collects its ReplicaSet and pods', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 'registry.local/web:v1', { replicas: 2 }),
    });
    const available = await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
        return d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') &&
          d.status?.readyReplicas === 2
          ? d
          : undefined;
      },
      { what: 'Deployment web Available with 2 ready replicas' },
    );
    expect(available.status?.updatedReplicas).toBe(2);
    const pods = await podsOf('web');
    expect(pods).toHaveLength(2);
    const nodeNames = new Set((await core.listNode()).items.map((n) => n.metadata?.name));
    for (const pod of pods) {
      expect(nodeNames.has(pod.spec?.nodeName)).toBe(true);
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.podIP).toBeTruthy();
    }
    const replicaSets = await apps.listNamespacedReplicaSet({
      namespace: ns,
      labelSelector: 'app=web',
    });
    expect(replicaSets.items).toHaveLength(1);

    await apps.deleteNamespacedDeployment({
      name: 'web',
      namespace: ns,
      propagationPolicy: 'Background',
    });
    await eventually(
      async () => {
        const rs = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' });
        return rs.items.length === 0 && (await podsOf('web')).length === 0;
      },
      { what: 'ReplicaSet and pods of web garbage-collected' },
    );
  });

  it('refuses an object that breaks a CRD x-kubernetes-validations rule, with the rule message', async () => {
    const group = `${ns}.test.llmplan.io`;
    const crd: k8s.V1CustomResourceDefinition = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                    // client-node's typed models spell x-kubernetes-* as x_kubernetes_*.
                    x_kubernetes_validations: [
                      { rule: 'self.min <= self.max', message: 'min must not exceed max' },
                    ],
                  },
                },
              },
            },
          },
        ],
      },
    };
    await ext.createCustomResourceDefinition({ body: crd });
    try {
      await eventually(
        async () => {
          const got = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
          return got.status?.conditions?.some(
            (c) => c.type === 'Established' && c.status === 'True',
          );
        },
        { what: 'CRD Established' },
      );
      const widget = (min: number, max: number) => ({
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: `w-${min}-${max}`, namespace: ns },
        spec: { min, max },
      });
      // Discovery of a brand-new group can lag the Established condition.
      await eventually(async () => objects.create(widget(1, 2)), {
        what: 'a valid Widget accepted',
      });
      const refused = await objects.create(widget(5, 2)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(k8s.ApiException);
      const apiError = refused as k8s.ApiException<unknown>;
      expect(apiError.code).toBe(422);
      expect(String(apiError.body)).toContain('min must not exceed max');
      expect(String(apiError.body)).toContain('spec');
    } finally {
      await ext.deleteCustomResourceDefinition({ name: crd.metadata!.name! });
    }
  });

  it('denies a ServiceAccount that has no Role (RBAC is enforced)', async () => {
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'nobody' } },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name: 'nobody',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const cluster = kc.getCurrentCluster()!;
    const asNobody = new k8s.KubeConfig();
    asNobody.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'nobody', token: token.status?.token }],
      contexts: [{ name: 'nobody', cluster: cluster.name, user: 'nobody' }],
      currentContext: 'nobody',
    });
    const denied = await asNobody
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({ namespace: ns })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect((denied as k8s.ApiException<unknown>).code).toBe(403);
    expect(String((denied as k8s.ApiException<unknown>).body)).toContain(
      `system:serviceaccount:${ns}:nobody`,
    );
    // and the token itself is valid: the same identity may ask who it is.
    const review = await asNobody
      .makeApiClient(k8s.AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:nobody`);
  });

  it('reports a server-side apply conflict between two field managers, and lets --force take the field', async () => {
    const cm = (value: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared', namespace: ns },
      data: { key: value },
    });
    await objects.patch(
      cm('a'),
      undefined,
      undefined,
      'manager-a',
      false,
      k8s.PatchStrategy.ServerSideApply,
    );
    const conflict = await objects
      .patch(cm('b'), undefined, undefined, 'manager-b', false, k8s.PatchStrategy.ServerSideApply)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect((conflict as k8s.ApiException<unknown>).code).toBe(409);
    const status = JSON.parse(String((conflict as k8s.ApiException<unknown>).body)) as k8s.V1Status;
    expect(status.reason).toBe('Conflict');
    expect(status.details?.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "manager-a"', field: '.data.key' },
    ]);
    // Applying the same value is not a conflict: both managers share the field.
    await objects.patch(
      cm('a'),
      undefined,
      undefined,
      'manager-b',
      false,
      k8s.PatchStrategy.ServerSideApply,
    );
    const forced = await objects.patch(
      cm('c'),
      undefined,
      undefined,
      'manager-b',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    const forcedMap = forced as k8s.V1ConfigMap;
    expect(forcedMap.data?.key).toBe('c');
    const managers = (forcedMap.metadata?.managedFields ?? []).map((f) => f.manager);
    expect(managers).toContain('manager-b');
  });
});

// kwok's Stages give these states; a substituted cluster (kind) runs real kubelets.
describe.skipIf(!inject('localCluster'))('fake-node behaviour by image tag', () => {
  it('plain tag: Running and Ready', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('plain', 'registry.local/app:v2'),
    });
    const pod = await onePodWhere('plain', ready, 'a Ready pod');
    expect(pod.status?.phase).toBe('Running');
    expect(container(pod)?.state?.running).toBeDefined();
  });

  it('crashloop: CrashLoopBackOff, restart count rising, never Ready', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('crash', 'registry.local/app:v2-crashloop'),
    });
    const first = await onePodWhere(
      'crash',
      (p) => container(p)?.state?.waiting?.reason === 'CrashLoopBackOff',
      'CrashLoopBackOff',
    );
    const firstCount = container(first)?.restartCount ?? 0;
    const later = await onePodWhere(
      'crash',
      (p) => (container(p)?.restartCount ?? 0) > firstCount,
      'restart count rising',
    );
    expect(container(later)?.lastState?.terminated?.reason).toBe('Error');
    expect(ready(later)).toBe(false);
  });

  it('imagepull: ErrImagePull then ImagePullBackOff, never started', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('pull', 'registry.local/app:v2-imagepull'),
    });
    const backoff = await onePodWhere(
      'pull',
      (p) => container(p)?.state?.waiting?.reason === 'ImagePullBackOff',
      'ImagePullBackOff',
    );
    expect(container(backoff)?.started).toBe(false);
    expect(container(backoff)?.state?.running).toBeUndefined();
    expect(ready(backoff)).toBe(false);
  });

  it('notready: Running, never Ready', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('idle', 'registry.local/app:v2-notready'),
    });
    const pod = await onePodWhere('idle', (p) => p.status?.phase === 'Running', 'Running');
    expect(container(pod)?.state?.running).toBeDefined();
    // It stays unready: look again after the ready stage would have fired.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const again = await onePodWhere('idle', (p) => p.status?.phase === 'Running', 'Running');
    expect(ready(again)).toBe(false);
  });

  it('oomkilled under 2Gi: OOMKilled and restarting; raised to 2Gi it recovers', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('oom', 'registry.local/app:v2-oomkilled', {}, '1Gi'),
    });
    const killed = await onePodWhere(
      'oom',
      (p) => container(p)?.lastState?.terminated?.reason === 'OOMKilled',
      'OOMKilled',
    );
    expect(container(killed)?.lastState?.terminated?.exitCode).toBe(137);
    expect(ready(killed)).toBe(false);

    await apps.patchNamespacedDeployment(
      {
        name: 'oom',
        namespace: ns,
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/resources/limits/memory',
            value: '2Gi',
          },
        ],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'oom', namespace: ns });
        return (
          d.status?.updatedReplicas === 1 &&
          d.status?.readyReplicas === 1 &&
          d.status?.replicas === 1
        );
      },
      { what: 'oom Deployment recovered at 2Gi', timeoutMs: 60_000 },
    );
    const pod = await onePodWhere('oom', ready, 'a Ready pod at 2Gi');
    expect(pod.spec?.containers[0]?.resources?.limits?.memory).toBe('2Gi');
  });

  it('crashloop with progressDeadlineSeconds 10: Progressing=False, ProgressDeadlineExceeded', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('deadline', 'registry.local/app:v3-crashloop', {
        progressDeadlineSeconds: 10,
      }),
    });
    const condition = await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'deadline', namespace: ns });
        return d.status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
      },
      { what: 'Progressing=False', timeoutMs: 60_000 },
    );
    expect(condition.reason).toBe('ProgressDeadlineExceeded');
  });
});
