/**
 * charts/llmplan-operator on the real cluster: `helm install`, `upgrade` and `uninstall` of the
 * operator with real pods of this checkout's operator image. The release watches one namespace
 * (its RoleBinding there is all the access it has): it becomes ready only once its caches have
 * synced under that RBAC, and holds its own Lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin, KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import { loadClusterAccess } from '../../operator/runtime/kubeconfig.js';
import { helm, helmOk, OPERATOR_CHART } from '../support/helm/helm.js';
import { kindImages, portForward } from '../support/kind.js';
import {
  createTestNamespace,
  eventually,
  kubeConfig,
  kubeconfigPath,
  kubectlOk,
} from '../support/kube.js';

const client = new KubeClient(loadClusterAccess({ kubeconfig: kubeconfigPath() }), {
  fieldManager: 'llmplan-tests',
});
const RELEASE = 'chart';
const FULLNAME = `${RELEASE}-llmplan-operator`;
let ns: { name: string; dispose: () => Promise<void> };

beforeAll(async () => {
  ns = await createTestNamespace(kubeConfig(), 'kind-op-chart');
});
afterAll(async () => {
  await helm(['uninstall', RELEASE, '-n', ns.name, '--wait']);
  await ns.dispose();
  await client.close();
});

type Deployment = KubeObject & { spec: { replicas: number }; status?: { readyReplicas?: number } };
type Lease = KubeObject & { spec?: { holderIdentity?: string } };

const pods = async () =>
  (
    await client.list(builtin.pods, {
      namespace: ns.name,
      labelSelector: `app.kubernetes.io/instance=${RELEASE}`,
    })
  ).items.filter((p) => !p.metadata.deletionTimestamp);

const rollout = () =>
  kubectlOk(['rollout', 'status', '-n', ns.name, `deployment/${FULLNAME}`, '--timeout=180s']);

async function expectLeader(): Promise<string> {
  const names = (await pods()).map((p) => p.metadata.name);
  const lease = await eventually(
    async () => {
      const l = await client.find<Lease>(builtin.leases, FULLNAME, ns.name);
      return l?.spec?.holderIdentity && names.includes(l.spec.holderIdentity) ? l : undefined;
    },
    { what: `Lease ${FULLNAME} held by one of the release's pods`, timeoutMs: 60_000 },
  );
  return lease.spec?.holderIdentity ?? '';
}

describe('the operator chart on real pods', () => {
  it('installs, upgrades and uninstalls cleanly', async () => {
    const image = kindImages().operator;
    const set = [
      `image.repository=${image.slice(0, image.lastIndexOf(':'))}`,
      `image.tag=${image.slice(image.lastIndexOf(':') + 1)}`,
      `watchNamespaces={${ns.name}}`,
      'replicas=1',
      // The one node has about 100m of CPU left.
      'resources.requests.cpu=5m',
    ];
    const installStart = Date.now();
    await helmOk([
      'install',
      RELEASE,
      OPERATOR_CHART,
      '-n',
      ns.name,
      ...set.flatMap((s) => ['--set', s]),
      '--wait',
      '--timeout',
      '180s',
    ]);
    // helm's --wait counts a Deployment ready at replicas - maxUnavailable (here 0): wait for the pod.
    await rollout();
    console.log(
      `helm install of the operator chart, pod ready: ${((Date.now() - installStart) / 1000).toFixed(1)} s`,
    );
    const installed = await client.get<Deployment>(builtin.deployments, FULLNAME, ns.name);
    expect(installed.status?.readyReplicas).toBe(1);
    await expectLeader();
    // Ready means its caches synced: list and watch of every kind it reads, under the RoleBinding alone.
    const logs = await kubectlOk(['logs', '-n', ns.name, `deployment/${FULLNAME}`]);
    expect(logs).not.toMatch(/forbidden/i);
    const metrics = await portForward(ns.name, `svc/${FULLNAME}-metrics`, 8080);
    try {
      const text = await (await fetch(`${metrics.url}/metrics`)).text();
      expect(text).toMatch(/^leader_election_master_status\{[^}]*\} 1$/m);
    } finally {
      metrics.stop();
    }

    await helmOk([
      'upgrade',
      RELEASE,
      OPERATOR_CHART,
      '-n',
      ns.name,
      '--reuse-values',
      '--set',
      'replicas=2',
      '--set',
      'logLevel=debug',
      '--wait',
      '--timeout',
      '180s',
    ]);
    await rollout();
    const upgraded = await client.get<Deployment>(builtin.deployments, FULLNAME, ns.name);
    expect(upgraded.metadata.uid).toBe(installed.metadata.uid);
    expect(upgraded.status?.readyReplicas).toBe(2);
    await expectLeader();
    expect(await helmOk(['history', RELEASE, '-n', ns.name])).toMatch(/^2\s.*deployed/m);

    await helmOk(['uninstall', RELEASE, '-n', ns.name, '--wait', '--timeout', '120s']);
    const everything = () =>
      kubectlOk([
        'get',
        'deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings',
        '-A',
        '-l',
        `app.kubernetes.io/instance=${RELEASE}`,
        '-o',
        'name',
      ]);
    // The objects are gone at once; the pods after their graceful stop (the operator drains).
    expect(await everything()).toMatch(/^(pod\/\S+\n)*$/);
    await eventually(async () => (await everything()).trim() === '', {
      what: 'the release’s pods gone',
      timeoutMs: 90_000,
      intervalMs: 1000,
    });
    expect(
      await client.find(builtin.customResourceDefinitions, 'summarizerservices.llmplan.io'),
    ).toBeDefined();
  });
});
