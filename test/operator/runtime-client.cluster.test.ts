/**
 * operator/runtime's REST client and apply helpers against the real API server: typed errors
 * (including an RBAC denial), optimistic concurrency, delete preconditions, and the server-side
 * apply round trip that must leave needsApply false — the "no idle writes" guarantee.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  applyIfNeeded,
  builtin,
  ConflictError,
  ForbiddenError,
  firstDifference,
  InvalidError,
  inCluster,
  KubeClient,
  type KubeObject,
  loadClusterAccess,
  NotFoundError,
  needsApply,
  type ResourceDescriptor,
  withDesiredHash,
} from '../../operator/runtime/index.js';
import {
  createTestNamespace,
  eventually,
  kubeConfig,
  kubeconfigPath,
  serviceAccountToken,
} from '../support/kube.js';

const kc = kubeConfig();
const client = new KubeClient(kc, { fieldManager: 'runtime-test' });
let ns: { name: string; dispose: () => Promise<void> };

beforeAll(async () => {
  ns = await createTestNamespace(kc, 'rt-client');
});
afterAll(async () => {
  await ns?.dispose();
  await client.close();
});

const configMap = (
  name: string,
  data: Record<string, string>,
): KubeObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns.name },
  data,
});

describe('KubeClient', () => {
  it('creates, gets, lists with a selector, patches and deletes', async () => {
    const created = await client.create(builtin.configMaps, {
      ...configMap('a', { k: 'v' }),
      metadata: { name: 'a', namespace: ns.name, labels: { role: 'x' } },
    });
    expect(created.metadata.uid).toBeTruthy();
    const got = await client.get<KubeObject & { data: Record<string, string> }>(
      builtin.configMaps,
      'a',
      ns.name,
    );
    expect(got.data.k).toBe('v');
    await client.create(builtin.configMaps, configMap('b', {}));
    const selected = await client.list(builtin.configMaps, {
      namespace: ns.name,
      labelSelector: 'role=x',
    });
    expect(selected.items.map((o) => o.metadata.name)).toEqual(['a']);
    expect(selected.items[0]!.kind).toBe('ConfigMap');
    expect(selected.metadata.resourceVersion).toBeTruthy();
    const patched = await client.patch<KubeObject & { data: Record<string, string> }>(
      builtin.configMaps,
      'a',
      ns.name,
      { data: { k: 'w' } },
    );
    expect(patched.data.k).toBe('w');
    const jsonPatched = await client.patch<KubeObject & { data: Record<string, string> }>(
      builtin.configMaps,
      'a',
      ns.name,
      [{ op: 'add', path: '/data/j', value: '1' }],
      { type: 'json' },
    );
    expect(jsonPatched.data.j).toBe('1');
    expect(await client.delete(builtin.configMaps, 'a', ns.name)).toBe(true);
    expect(await client.delete(builtin.configMaps, 'a', ns.name, { ignoreNotFound: true })).toBe(
      false,
    );
    expect(await client.find(builtin.configMaps, 'a', ns.name)).toBeUndefined();
  });

  it('maps failures to typed errors carrying the API server message', async () => {
    await expect(client.get(builtin.configMaps, 'missing', ns.name)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await client.create(builtin.configMaps, configMap('dup', {}));
    await expect(client.create(builtin.configMaps, configMap('dup', {}))).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    const invalid = await client
      .create(builtin.configMaps, configMap('Not_A_Valid_Name', {}))
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InvalidError);
    expect((invalid as InvalidError).serverMessage).toContain('Not_A_Valid_Name');
    expect((invalid as InvalidError).causes[0]?.field).toBe('metadata.name');
  });

  it('refuses a stale resourceVersion (optimistic concurrency) with ConflictError', async () => {
    const first = await client.create(builtin.configMaps, configMap('occ', { v: '1' }));
    await client.replace(builtin.configMaps, { ...first, data: { v: '2' } } as KubeObject);
    const stale = await client
      .replace(builtin.configMaps, { ...first, data: { v: '3' } } as KubeObject)
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ConflictError);
  });

  it('honours delete preconditions', async () => {
    const obj = await client.create(builtin.configMaps, configMap('pre', {}));
    await expect(
      client.delete(builtin.configMaps, 'pre', ns.name, { preconditions: { uid: 'not-the-uid' } }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(
      await client.delete(builtin.configMaps, 'pre', ns.name, {
        preconditions: { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
        propagationPolicy: 'Background',
      }),
    ).toBe(true);
  });

  it('turns an RBAC denial into ForbiddenError with the reason', async () => {
    const sa = 'runtime-test-nobody';
    await client.create(builtin.serviceAccounts, { metadata: { name: sa, namespace: ns.name } });
    const token = await serviceAccountToken(client, ns.name, sa);
    const cluster = kc.getCurrentCluster()!;
    const limited = new KubeConfig();
    limited.loadFromOptions({
      clusters: [cluster],
      users: [{ name: sa, token }],
      contexts: [{ name: 'limited', cluster: cluster.name, user: sa }],
      currentContext: 'limited',
    });
    const denied = new KubeClient(limited);
    try {
      const err = await denied
        .list(builtin.secrets, { namespace: ns.name })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect((err as ForbiddenError).serverMessage).toContain(
        `system:serviceaccount:${ns.name}:${sa}`,
      );
      expect((err as ForbiddenError).serverMessage).toContain('cannot list resource "secrets"');
      const metrics = await denied.metrics.registry.getSingleMetricAsString(
        'rest_client_requests_total',
      );
      expect(metrics).toContain('rest_client_requests_total{code="403",method="GET"} 1');
    } finally {
      await denied.close();
    }
  });
});

describe('loading credentials without client-node', () => {
  it('reads the test kubeconfig (client certificates) with loadClusterAccess', async () => {
    const light = new KubeClient(loadClusterAccess({ kubeconfig: kubeconfigPath() }));
    try {
      const namespaces = await light.list(builtin.namespaces);
      expect(namespaces.items.map((n) => n.metadata.name)).toContain(ns.name);
    } finally {
      await light.close();
    }
  });

  it('authenticates in-cluster style with a ServiceAccount token and CA', async () => {
    const sa = 'runtime-test-incluster';
    await client.create(builtin.serviceAccounts, { metadata: { name: sa, namespace: ns.name } });
    const token = await serviceAccountToken(client, ns.name, sa);
    const dir = mkdtempSync(path.join(tmpdir(), 'rt-sa-'));
    const ca = (await loadClusterAccess({ kubeconfig: kubeconfigPath() }).tls()).ca;
    writeFileSync(path.join(dir, 'ca.crt'), ca ?? '');
    writeFileSync(path.join(dir, 'token'), token);
    const server = new URL(kc.getCurrentCluster()!.server);
    const podLike = new KubeClient(
      inCluster(
        { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
        dir,
      ),
    );
    try {
      const version = await podLike.request<{ gitVersion: string }>({
        method: 'GET',
        path: '/version',
      });
      expect(version.gitVersion).toMatch(/^v1\./);
      const denied = await podLike
        .list(builtin.secrets, { namespace: ns.name })
        .catch((e: unknown) => e);
      expect((denied as ForbiddenError).serverMessage).toContain(
        `system:serviceaccount:${ns.name}:${sa}`,
      );
    } finally {
      await podLike.close();
    }
  });
});

describe('server-side apply and needsApply on a real Deployment', () => {
  const desired = (image: string): KubeObject =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns.name, labels: { app: 'web' }, annotations: {} },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'app',
                image,
                ports: [{ name: 'http', containerPort: 8000 }],
                env: [
                  { name: 'B', value: '2' },
                  { name: 'A', value: '1' },
                ],
                // Deliberately non-canonical: the server stores "1", "512Mi", "1Gi".
                resources: {
                  requests: { cpu: '0.5', memory: '536870912' },
                  limits: { cpu: '1000m', memory: '1024Mi' },
                },
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '67108864' } }],
            nodeSelector: {},
            tolerations: [],
            securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          },
        },
      },
    }) as KubeObject;

  it('reads back as a superset of what was applied: no second write', async () => {
    const want = withDesiredHash(desired('web:1'), 'runtime-test/desired-hash');
    const first = await applyIfNeeded(client, builtin.deployments, want, undefined);
    expect(first.applied).toBe(true);
    const live = await client.get(builtin.deployments, 'web', ns.name);
    expect(firstDifference(want, live)).toBeUndefined();
    expect(needsApply(want, live)).toBe(false);

    const second = await applyIfNeeded(client, builtin.deployments, want, live);
    expect(second.applied).toBe(false);

    // Still true once the controllers have defaulted and updated it (status, revision annotation).
    const settled = await eventually(
      async () => {
        const d = await client.get<KubeObject & { status?: { observedGeneration?: number } }>(
          builtin.deployments,
          'web',
          ns.name,
        );
        return d.status?.observedGeneration ? d : undefined;
      },
      { what: 'deployment observed' },
    );
    expect(needsApply(want, settled)).toBe(false);

    // An apply that changes nothing is a no-op on the server too.
    const again = await client.apply(builtin.deployments, want);
    expect(again.metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
  });

  it('detects a real change and a hand edit', async () => {
    const want = withDesiredHash(desired('web:1'), 'runtime-test/desired-hash');
    const live = await client.get(builtin.deployments, 'web', ns.name);
    expect(needsApply(withDesiredHash(desired('web:2'), 'runtime-test/desired-hash'), live)).toBe(
      true,
    );

    const edited = await client.patch(builtin.deployments, 'web', ns.name, {
      spec: { replicas: 5 },
    });
    expect(firstDifference(want, edited)).toBe('spec.replicas');
    const fixed = await applyIfNeeded(client, builtin.deployments, want, edited);
    expect(fixed).toMatchObject({ applied: true, difference: 'spec.replicas' });
    expect((fixed.object as KubeObject & { spec: { replicas: number } }).spec.replicas).toBe(2);
  });

  it('applies to the status subresource of a custom resource', async () => {
    const widgets: ResourceDescriptor = {
      group: 'runtime-test.llmplan.io',
      version: 'v1',
      plural: 'widgets',
      kind: 'Widget',
      namespaced: true,
    };
    await client.apply(builtin.customResourceDefinitions, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.runtime-test.llmplan.io' },
      spec: {
        group: widgets.group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: {
                    type: 'object',
                    properties: {
                      observedGeneration: { type: 'integer' },
                      conditions: {
                        type: 'array',
                        'x-kubernetes-list-type': 'map',
                        'x-kubernetes-list-map-keys': ['type'],
                        items: {
                          type: 'object',
                          required: ['type', 'status'],
                          properties: {
                            type: { type: 'string' },
                            status: { type: 'string' },
                            reason: { type: 'string' },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    } as KubeObject);
    const widget = await eventually(
      () =>
        client
          .apply(widgets, {
            metadata: { name: 'w', namespace: ns.name },
            spec: { size: 1 },
          } as KubeObject)
          .catch(() => undefined),
      { what: 'CRD established' },
    );
    const status = {
      apiVersion: 'runtime-test.llmplan.io/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: ns.name },
      status: {
        observedGeneration: widget.metadata.generation,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ok' }],
      },
    };
    const written = await applyIfNeeded(client, widgets, status, widget, { status: true });
    expect(written.applied).toBe(true);
    const again = await applyIfNeeded(client, widgets, status, written.object, { status: true });
    expect(again.applied).toBe(false);
    await client.delete(
      builtin.customResourceDefinitions,
      'widgets.runtime-test.llmplan.io',
      undefined,
    );
  });
});
