/**
 * charts/llmplan-operator with a real helm: `helm lint`, `helm template` (the default values
 * render exactly what `kubectl apply -k deploy/` installs; each value does what values.yaml
 * says) and `helm install` / `upgrade` / `uninstall` against the real API server. The same
 * lifecycle with real pods is hack/kind/operator-chart.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { builtin, type KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import { helm, helmOk, OPERATOR_CHART } from '../support/helm/helm.js';
import { createTestNamespace, kubeConfig, kubectlOk } from '../support/kube.js';
import { adminClient } from '../support/sumsvc.js';

const root = path.resolve(import.meta.dirname, '../..');
type Doc = KubeObject & Record<string, unknown>;

const docs = (yaml: string): Doc[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);

const template = async (...args: string[]) =>
  docs(
    await helmOk(
      ['template', 'llmplan-operator', OPERATOR_CHART, '-n', 'llmplan-system', ...args],
      {
        cluster: false,
      },
    ),
  );
const find = (objects: Doc[], kind: string, name?: string) =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const container = (objects: Doc[]) =>
  (
    find(objects, 'Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            containers: {
              env: { name: string; value?: string }[];
              image: string;
              resources: unknown;
            }[];
          };
        };
      };
    }
  ).spec.template.spec.containers[0]!;
const env = (objects: Doc[], name: string) =>
  container(objects).env.find((e) => e.name === name)?.value;

/** Helm's standard labels, which deploy/ does not set; everything else must be equal. */
const HELM_ONLY_LABELS = [
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
  'helm.sh/chart',
];
const NAMESPACED = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Service']);

/** Drops Helm's labels wherever labels or selectors are, and puts the release namespace on namespaced objects. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (HELM_ONLY_LABELS.includes(key)) continue;
    out[key] = normalize(inner);
  }
  return out;
}

describe('helm lint', () => {
  it('passes --strict with the default values and with every option switched on', async () => {
    await helmOk(['lint', '--strict', OPERATOR_CHART], { cluster: false });
    await helmOk(
      [
        'lint',
        '--strict',
        OPERATOR_CHART,
        '--set',
        'watchNamespaces={prod,staging}',
        '--set',
        'serviceMonitor.enabled=true',
        '--set',
        'replicas=1',
        '--set',
        'leaderElection.enabled=false',
      ],
      { cluster: false },
    );
  });
});

describe('helm template', () => {
  it('renders with the default values exactly what kubectl apply -k deploy/ installs', async () => {
    const kustomized = docs(await kubectlOk(['kustomize', path.join(root, 'deploy')])).filter(
      (o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition',
    );
    const chart = (await template()).map((o) =>
      NAMESPACED.has(o.kind ?? '')
        ? { ...o, metadata: { ...o.metadata, namespace: 'llmplan-system' } }
        : o,
    );
    const key = (o: Doc) => `${o.kind}/${o.metadata.name}`;
    expect(chart.map(key).sort()).toEqual(kustomized.map(key).sort());
    for (const object of kustomized) {
      expect(normalize(chart.find((c) => key(c) === key(object))), key(object)).toEqual(object);
    }
  });

  it('ships the CRD of crds/ (installed by helm before the templates)', async () => {
    const crds = (await template('--include-crds')).filter(
      (o) => o.kind === 'CustomResourceDefinition',
    );
    expect(crds).toEqual(
      docs(readFileSync(path.join(root, 'crds/summarizerservice.yaml'), 'utf8')),
    );
  });

  it('image, replicas, resources and log level', async () => {
    const objects = await template(
      '--set',
      'image.repository=registry.local/operator',
      '--set',
      'image.tag=v9',
      '--set',
      'replicas=3',
      '--set',
      'resources.limits.memory=512Mi',
      '--set',
      'logLevel=debug',
      '--set',
      'defaultSummarizerImage=registry.local/summarizer',
    );
    expect(container(objects).image).toBe('registry.local/operator:v9');
    expect((find(objects, 'Deployment') as { spec?: { replicas?: number } }).spec?.replicas).toBe(
      3,
    );
    expect(container(objects).resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '512Mi' },
    });
    expect(env(objects, 'LLMPLAN_LOG_LEVEL')).toBe('debug');
    expect(env(objects, 'LLMPLAN_DEFAULT_IMAGE')).toBe('registry.local/summarizer');
  });

  it('leader election: off with one replica, refused off with two', async () => {
    const single = await template('--set', 'replicas=1', '--set', 'leaderElection.enabled=false');
    expect(env(single, 'LLMPLAN_LEADER_ELECT')).toBe('false');
    expect(find(single, 'Role')).toBeUndefined();
    const refused = await helm(
      ['template', 'x', OPERATOR_CHART, '--set', 'leaderElection.enabled=false'],
      { cluster: false },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('replicas > 1 needs leaderElection.enabled: true');
  });

  it('watched namespaces: the variable, and a RoleBinding in each instead of the ClusterRoleBinding', async () => {
    const objects = await template('--set', 'watchNamespaces={prod,staging}');
    expect(env(objects, 'LLMPLAN_NAMESPACES')).toBe('prod,staging');
    expect(find(objects, 'ClusterRoleBinding')).toBeUndefined();
    const bindings = objects.filter(
      (o) => o.kind === 'RoleBinding' && o.metadata.name === 'llmplan-operator',
    );
    expect(bindings.map((b) => b.metadata.namespace)).toEqual(['prod', 'staging']);
    expect(bindings[0]).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'llmplan-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'llmplan-operator', namespace: 'llmplan-system' }],
    });
  });

  it('a ServiceMonitor for /metrics when asked for', async () => {
    expect(find(await template(), 'ServiceMonitor')).toBeUndefined();
    const monitor = find(
      await template(
        '--set',
        'serviceMonitor.enabled=true',
        '--set',
        'serviceMonitor.labels.release=prom',
      ),
      'ServiceMonitor',
    );
    expect(monitor).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { labels: { release: 'prom' } },
      spec: {
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': 'llmplan-operator',
            'app.kubernetes.io/instance': 'llmplan-operator',
          },
        },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
      },
    });
  });

  it('a release of another name names everything, the Lease included, after itself', async () => {
    const objects = docs(await helmOk(['template', 'ops', OPERATOR_CHART], { cluster: false }));
    expect(find(objects, 'ClusterRole')?.metadata.name).toBe('ops-llmplan-operator');
    expect(env(objects, 'LLMPLAN_LEASE_NAME')).toBe('ops-llmplan-operator');
  });
});

describe('helm install, upgrade, uninstall (the real API server)', () => {
  let client: KubeClient;
  let ns: { name: string; dispose: () => Promise<void> };
  const release = 'chart-test';
  const fullname = `${release}-llmplan-operator`;

  beforeAll(async () => {
    client = adminClient();
    ns = await createTestNamespace(kubeConfig(), 'helm-chart');
  });
  afterAll(async () => {
    await helm(['uninstall', release, '-n', ns.name]);
    await ns?.dispose();
    await client?.close();
  });

  const deployment = () =>
    client.get<
      KubeObject & {
        spec: {
          replicas: number;
          template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
        };
      }
    >(builtin.deployments, fullname, ns.name);

  it('installs cleanly, upgrades in place, and uninstalls without a trace (the CRD stays)', async () => {
    const watch = `watchNamespaces={${ns.name}}`;
    await helmOk([
      'install',
      release,
      OPERATOR_CHART,
      '-n',
      ns.name,
      '--set',
      watch,
      '--set',
      'replicas=1',
    ]);
    const installed = await deployment();
    expect(installed.spec.replicas).toBe(1);
    const binding = await client.get(builtin.roleBindings, fullname, ns.name);
    expect(binding.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'Helm' });
    expect((await helmOk(['status', release, '-n', ns.name])).toString()).toMatch(
      /STATUS: deployed/,
    );

    await helmOk([
      'upgrade',
      release,
      OPERATOR_CHART,
      '-n',
      ns.name,
      '--reuse-values',
      '--set',
      'replicas=2',
      '--set',
      'logLevel=debug',
    ]);
    const upgraded = await deployment();
    expect(upgraded.metadata.uid).toBe(installed.metadata.uid);
    expect(upgraded.spec.replicas).toBe(2);
    expect(upgraded.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'LLMPLAN_LOG_LEVEL',
      value: 'debug',
    });
    expect(await helmOk(['history', release, '-n', ns.name])).toMatch(/2\s.*deployed/);

    await helmOk(['uninstall', release, '-n', ns.name, '--wait']);
    const left = await kubectlOk([
      'get',
      'all,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings',
      '-A',
      '-l',
      `app.kubernetes.io/instance=${release}`,
      '-o',
      'name',
    ]);
    expect(left.trim()).toBe('');
    expect(
      await client.find(builtin.customResourceDefinitions, 'summarizerservices.llmplan.io'),
    ).toBeDefined();
  });
});
