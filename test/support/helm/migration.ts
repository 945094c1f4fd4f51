/**
 * Helpers of the `llmplanctl migrate helm` tests (the local control plane's and kind's): the
 * users' chart installed with a real `helm install` under a guide line's release name, the
 * real llmplanctl as a child process, and what a migration must have left behind.
 */
import path from 'node:path';
import { expect } from 'vitest';
import { LABELS, MANAGER } from '../../../operator/api/labels.js';
import { summarizerServices } from '../../../operator/api/summarizerservice.js';
import { decodeRelease, manifestObjects } from '../../../operator/ctl/migrate/helm-release.js';
import {
  builtin,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
} from '../../../operator/runtime/index.js';
import { type KubectlResult, kubeconfigPath, runProgram } from '../kube.js';
import { helm, helmOk, OLD_CHART } from './helm.js';
import { lineArgs, type RunbookLine } from './runbook.js';
import type { Extra } from './test-settings.js';

const root = path.resolve(import.meta.dirname, '../../..');

/** The real llmplanctl (bin/llmplanctl), bounded in time; never throws on a non-zero exit. */
export function llmplanctl(args: string[], timeoutMs = 300_000): Promise<KubectlResult> {
  return runProgram(path.join(root, 'bin/llmplanctl'), args, {
    env: { ...process.env, KUBECONFIG: kubeconfigPath() },
    timeoutMs,
  });
}

/**
 * `helm install <line.release> <users' chart> -n ns` with a guide line and the test's own
 * settings after it (test-settings.ts). The SummarizerService migrate creates has the
 * release's name (the chart's fullname: every guide release name contains "llmplan").
 */
export async function installOldChart(
  namespace: string,
  line: RunbookLine,
  extra: Partial<Extra>,
  options: { wait?: boolean } = {},
): Promise<void> {
  await helmOk([
    'install',
    line.release,
    OLD_CHART,
    '-n',
    namespace,
    ...lineArgs(line, extra),
    ...(options.wait === false ? [] : ['--wait', '--timeout', '300s']),
  ]);
}

/** The release's current record, decoded from its Secret as llmplanctl reads it. */
export async function releaseRecord(client: KubeClient, namespace: string, release: string) {
  const { items } = await client.list<KubeObject & { data?: { release?: string } }>(
    builtin.secrets,
    { namespace, labelSelector: `owner=helm,name=${release}` },
  );
  const latest = items.sort(
    (a, b) => Number(b.metadata.labels?.version) - Number(a.metadata.labels?.version),
  )[0];
  return decodeRelease(latest?.data?.release ?? '');
}

const KINDS: Record<string, ResourceDescriptor> = {
  ServiceAccount: builtin.serviceAccounts,
  ConfigMap: builtin.configMaps,
  Service: builtin.services,
  Deployment: builtin.deployments,
  HorizontalPodAutoscaler: builtin.horizontalPodAutoscalers,
  Ingress: builtin.ingresses,
  PodDisruptionBudget: builtin.podDisruptionBudgets,
};

/** The release's objects, live. */
export async function releaseObjects(
  client: KubeClient,
  namespace: string,
  manifest: string,
): Promise<KubeObject[]> {
  return Promise.all(
    manifestObjects(manifest).map((o) =>
      client.get(KINDS[o.kind] as ResourceDescriptor, o.metadata.name, namespace),
    ),
  );
}

/** Identity and version of every object a migration could touch in `namespace`. */
export async function snapshot(
  client: KubeClient,
  namespace: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const kinds = [
    ...Object.values(KINDS),
    builtin.replicaSets,
    builtin.pods,
    builtin.secrets,
    summarizerServices,
  ];
  for (const kind of kinds) {
    const { items } = await client.list(kind, { namespace });
    for (const item of items) {
      out[`${kind.kind}/${item.metadata.name}`] =
        `${item.metadata.uid}@${item.metadata.resourceVersion}`;
    }
  }
  return out;
}

/**
 * What a migration leaves: every release object controlled by the SummarizerService, the
 * same object as before (uid; the Service's ClusterIP), without Helm's marks; the release
 * gone from `helm list`, its records kept.
 */
export async function expectMigrated(
  client: KubeClient,
  namespace: string,
  release: string,
  before: readonly KubeObject[],
): Promise<KubeObject> {
  const cr = await client.get(summarizerServices, release, namespace);
  for (const old of before) {
    const kind = KINDS[old.kind ?? ''] as ResourceDescriptor;
    const now = await client.get<KubeObject & { spec?: { clusterIP?: string } }>(
      kind,
      old.metadata.name ?? '',
      namespace,
    );
    const what = `${old.kind} ${old.metadata.name}`;
    expect(now.metadata.uid, `${what}: the same object`).toBe(old.metadata.uid);
    expect(
      now.metadata.ownerReferences?.find((r) => r.controller),
      what,
    ).toMatchObject({
      kind: 'SummarizerService',
      name: release,
      uid: cr.metadata.uid,
    });
    expect(now.metadata.labels?.[LABELS.managedBy], what).toBe(MANAGER);
    expect(now.metadata.labels?.['helm.sh/chart'], what).toBeUndefined();
    expect(now.metadata.annotations?.['meta.helm.sh/release-name'], what).toBeUndefined();
    if (old.kind === 'Service') {
      expect(now.spec?.clusterIP, `${what}: ClusterIP`).toBe(
        (old as { spec?: { clusterIP?: string } }).spec?.clusterIP,
      );
    }
  }
  expect((await helmOk(['list', '-n', namespace, '-q'])).trim()).toBe('');
  // Every revision's record kept, none of them Helm's any more.
  const { items } = await client.list(builtin.secrets, {
    namespace,
    labelSelector: `name=${release}`,
  });
  expect(items.length).toBeGreaterThan(0);
  for (const secret of items) {
    expect(secret.metadata.labels, secret.metadata.name).toMatchObject({
      'llmplan.io/migrated-to': release,
    });
    expect(secret.metadata.labels?.owner, secret.metadata.name).toBeUndefined();
  }
  return cr;
}

/** `helm install` of the same name afterwards is refused: Helm cannot take the objects back by accident. */
export async function expectHelmInstallRefused(namespace: string, release: string): Promise<void> {
  const again = await helm(['install', release, OLD_CHART, '-n', namespace]);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toMatch(
    /cannot re-use a name that is still in use|exists and cannot be imported/,
  );
}
