/**
 * `llmplanctl migrate helm` against the real API server: the old chart installed with a real
 * `helm install` (the runbook's prod line), the real operator (deploy/'s RBAC) adopting, the
 * real llmplanctl. Pods are kwok's here; test/helm/migrate-helm.kind.test.ts does the same with
 * real pods serving traffic.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { summarizerServices } from '../../operator/api/summarizerservice.js';
import { coalesceValues } from '../../operator/ctl/migrate/helm-release.js';
import { builtin, type KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { helm, helmOk, OLD_CHART } from '../support/helm/helm.js';
import {
  expectHelmInstallRefused,
  expectMigrated,
  installOldChart,
  llmplanctl,
  RELEASE,
  releaseObjects,
  releaseRecord,
  snapshot,
} from '../support/helm/migration.js';
import { RUNBOOK } from '../support/helm/runbook.js';
import { createTestNamespace, kubeConfig, kubeconfigWithRules } from '../support/kube.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  startOperator,
} from '../support/operator-harness.js';
import { adminClient, condition, waitForStatus } from '../support/sumsvc.js';

const kc = kubeConfig();
let client: KubeClient;
let fake: FakeLmStudio;
let prod: { name: string; dispose: () => Promise<void> };
let spare: { name: string; dispose: () => Promise<void> };
let operator: OperatorProcess;

/** What migrate needs, as docs/migrate-helm.md lists it: the migration below runs with exactly this. */
const MIGRATE_RULES = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'patch', 'create'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
  {
    apiGroups: [''],
    resources: ['services', 'configmaps', 'serviceaccounts'],
    verbs: ['get', 'patch'],
  },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'patch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'patch', 'delete'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
  { apiGroups: ['llmplan.io'], resources: ['summarizerservices'], verbs: ['get', 'create'] },
];
const scratch = mkdtempSync(path.join(tmpdir(), 'llmplan-migrate-'));

/** LM Studio for the kwok cluster: the fake on loopback, through the chart's ExternalName Service. */
const backend = () => [
  'lmstudio.externalName=127.0.0.1',
  `lmstudio.service.port=${fake.port}`,
  `config.lmstudio.baseUrl=http://lmstudio:${fake.port}/v1`,
];

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  fake = await FakeLmStudio.start();
  prod = await createTestNamespace(kc, 'helm-prod');
  spare = await createTestNamespace(kc, 'helm-spare');
  // Watches prod only: `spare` is where a migration finds no operator at first.
  operator = await startOperator({
    namespaces: [prod.name],
    env: { LLMPLAN_BACKEND_PROBE_SECONDS: '1', LLMPLAN_RESYNC_SECONDS: '10' },
  });
  await installOldChart(prod.name, RUNBOOK.prod, backend());
  // A second revision: the migration maps the current one and retires both.
  await helmOk([
    'upgrade',
    RELEASE,
    OLD_CHART,
    '-n',
    prod.name,
    '--reuse-values',
    '--set',
    'podAnnotations.team=nlp',
    '--wait',
    '--timeout',
    '300s',
  ]);
}, 300_000);

afterAll(async () => {
  const code = await operator?.stop('SIGTERM');
  await fake?.stop();
  await prod?.dispose();
  await spare?.dispose();
  await client?.close();
  expect(code).toBe(0);
});

describe('migrate helm', () => {
  it('Helm records the runbook line as the config the mapping is tested with', async () => {
    const release = await releaseRecord(client, prod.name);
    // The runbook's values, with this cluster's LM Studio set after them (the later --set wins).
    const backendConfig = {
      lmstudio: { externalName: '127.0.0.1', service: { port: fake.port } },
      config: { lmstudio: { baseUrl: `http://lmstudio:${fake.port}/v1` } },
    };
    expect(release.version).toBe(2);
    expect(release.config).toEqual(
      coalesceValues(RUNBOOK.prod.config, { ...backendConfig, podAnnotations: { team: 'nlp' } }),
    );
    expect(release.chart.metadata).toMatchObject({ name: 'llmplan', version: '0.1.0' });
  });

  it('--dry-run prints the resource, every value and every step, and changes nothing', async () => {
    const before = await snapshot(client, prod.name);
    const dry = await llmplanctl(['migrate', 'helm', RELEASE, '-n', prod.name, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('chart llmplan-0.1.0, revision 2, deployed');
    expect(dry.stdout).toMatch(/kind: SummarizerService\n/);
    expect(dry.stdout).toMatch(
      /mapped\s+replicaCount = 1 → spec\.replicas \(ignored while autoscaling/,
    );
    expect(dry.stdout).toMatch(
      /not mapped\s+replicas = 3 \(chart llmplan 0\.1\.0 has no value "replicas".*the HPA sets the count/,
    );
    for (const step of [
      'pause Deployment llmplan',
      'mark for adoption (annotation llmplan.io/adopt=llmplan): ServiceAccount llmplan, ConfigMap llmplan-config, Service lmstudio, Service llmplan, Deployment llmplan, HorizontalPodAutoscaler llmplan, Ingress llmplan',
      'creates PodDisruptionBudget llmplan',
      'with orphan propagation',
      'resume Deployment llmplan',
      'one pod at a time',
      'retire Helm release llmplan',
      'Steps (dry run: nothing was changed)',
    ]) {
      expect(dry.stdout).toContain(step);
    }
    const only = await llmplanctl([
      'migrate',
      'helm',
      RELEASE,
      '-n',
      prod.name,
      '--dry-run',
      '-o',
      'yaml',
    ]);
    expect(parse(only.stdout)).toEqual({
      apiVersion: 'llmplan.io/v1alpha1',
      kind: 'SummarizerService',
      metadata: {
        name: 'llmplan',
        namespace: prod.name,
        annotations: { 'llmplan.io/helm-release': 'llmplan' },
      },
      spec: {
        image: { repository: 'ghcr.io/llmplan/summarizer', tag: 'v0.1.0' },
        autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 },
        resources: { limits: { memory: '2Gi' } },
        ingress: { enabled: true, hosts: [{ host: 'llmplan.company.com' }] },
        lmstudio: { externalName: '127.0.0.1', port: fake.port },
        podAnnotations: { team: 'nlp' },
      },
    });
    expect(await snapshot(client, prod.name)).toEqual(before);
    expect(await helmOk(['list', '-n', prod.name, '-q'])).toBe(`${RELEASE}\n`);
  });

  it('moves the release under a SummarizerService: adopted in place, the release retired', async () => {
    const release = await releaseRecord(client, prod.name);
    const before = await releaseObjects(client, prod.name, release.manifest);
    const user = await kubeconfigWithRules(client, prod.name, 'migrator', MIGRATE_RULES, scratch);
    const migrated = await llmplanctl([
      'migrate',
      'helm',
      RELEASE,
      '-n',
      prod.name,
      '--kubeconfig',
      user,
    ]);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(
      /Helm release llmplan is now SummarizerService llmplan \(\d+\.\d s\)/,
    );
    await expectMigrated(client, prod.name, before);
    const status = await waitForStatus(
      client,
      prod.name,
      RELEASE,
      (o) => condition(o, 'Degraded')?.status === 'False',
      'no conflict',
    );
    expect(condition(status, 'Degraded')?.reason).not.toBe('OwnershipConflict');
    const pdb = await client.get(builtin.podDisruptionBudgets, RELEASE, prod.name);
    expect(pdb.metadata.ownerReferences?.[0]?.kind).toBe('SummarizerService');
    // The release's pods were drained and replaced; the operator's run the adopted Deployment.
    const pods = await client.list(builtin.pods, {
      namespace: prod.name,
      labelSelector: 'app.kubernetes.io/instance=llmplan',
    });
    expect(pods.items.map((p) => p.metadata.labels?.['app.kubernetes.io/managed-by'])).toEqual(
      Array(pods.items.length).fill('llmplan-operator'),
    );
    expect(
      (
        await client.get<KubeObject & { spec?: { paused?: boolean } }>(
          builtin.deployments,
          RELEASE,
          prod.name,
        )
      ).spec?.paused,
    ).toBeUndefined();
    await expectHelmInstallRefused(prod.name);

    const exported = await llmplanctl(['export', RELEASE, '-n', prod.name]);
    expect(exported.code).toBe(0);
    const dry = await llmplanctl(['migrate', 'helm', RELEASE, '-n', prod.name, '--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain(
      `Helm release llmplan in namespace ${prod.name} was already migrated to SummarizerService llmplan`,
    );
    expect(parse(exported.stdout)).toMatchObject({
      kind: 'SummarizerService',
      metadata: { name: RELEASE, namespace: prod.name },
      spec: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 } },
    });
    expect(exported.stdout).not.toMatch(/status:|uid:|resourceVersion:|managedFields/);
  });

  it('waits for an operator that is not there, says so, and resumes when run again', async () => {
    await installOldChart(spare.name, RUNBOOK.staging, backend());
    const release = await releaseRecord(client, spare.name);
    const before = await releaseObjects(client, spare.name, release.manifest);
    // Without the right to create the SummarizerService: said before anything changes.
    const noCreate = MIGRATE_RULES.map((r) =>
      r.resources.includes('summarizerservices') ? { ...r, verbs: ['get'] } : r,
    );
    const user = await kubeconfigWithRules(client, spare.name, 'no-create', noCreate, scratch);
    const unchanged = await snapshot(client, spare.name);
    const forbidden = await llmplanctl([
      'migrate',
      'helm',
      RELEASE,
      '-n',
      spare.name,
      '--kubeconfig',
      user,
    ]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain(
      `error: forbidden: you may not create summarizerservices.llmplan.io "llmplan" in namespace "${spare.name}"`,
    );
    expect(await snapshot(client, spare.name)).toEqual(unchanged);
    const stuck = await llmplanctl([
      'migrate',
      'helm',
      RELEASE,
      '-n',
      spare.name,
      '--timeout',
      '5s',
    ]);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain('timed out waiting for the operator to adopt');
    expect(stuck.stderr).toContain('Is the llmplan operator running');
    expect(stuck.stderr).toContain('run the same command again to continue');
    // Nothing served stops: the Deployment is paused, its pods untouched.
    const paused = await client.get<KubeObject & { spec?: { paused?: boolean } }>(
      builtin.deployments,
      RELEASE,
      spare.name,
    );
    expect(paused.spec?.paused).toBe(true);
    expect(paused.metadata.uid).toBe(before.find((o) => o.kind === 'Deployment')?.metadata.uid);

    const second = await startOperator({
      namespaces: [spare.name],
      leaseName: 'llmplan-operator-spare',
    });
    try {
      const resumed = await llmplanctl(['migrate', 'helm', RELEASE, '-n', spare.name]);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain('Resuming the migration into SummarizerService llmplan');
      await expectMigrated(client, spare.name, before);
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('refuses, naming the problem: no such release, another chart, values it cannot map', async () => {
    const ns = await createTestNamespace(kc, 'helm-refuse');
    try {
      const none = await llmplanctl(['migrate', 'helm', 'nope', '-n', ns.name]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain(`no Helm release nope in namespace ${ns.name}`);

      // Another chart (helm create's starter) under the name llmplan.
      const other = path.join(mkdtempSync(path.join(tmpdir(), 'llmplan-other-')), 'other');
      await helmOk(['create', other], { cluster: false });
      await helmOk(['install', 'other', other, '-n', ns.name, '--set', 'image.repository=x']);
      const wrong = await llmplanctl(['migrate', 'helm', 'other', '-n', ns.name]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('release other is of chart other 0.1.0, not llmplan');

      await installOldChart(ns.name, RUNBOOK.dev, [
        ...backend(),
        'serviceAccount.annotations.iam\\.example/role=summarizer',
        'resources.limits.memory=null',
      ]);
      const before = await snapshot(client, ns.name);
      const refused = await llmplanctl(['migrate', 'helm', RELEASE, '-n', ns.name]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/CANNOT MAP\s+resources\.limits\.memory = <unset>/);
      expect(refused.stderr).toContain('value serviceAccount.annotations');
      expect(refused.stderr).toContain(
        'cannot be migrated (2 problems above); nothing was changed',
      );
      expect(await snapshot(client, ns.name)).toEqual(before);
      expect(await client.find(summarizerServices, RELEASE, ns.name)).toBeUndefined();
    } finally {
      await helm(['uninstall', 'other', '-n', ns.name]);
      await ns.dispose();
    }
  });
});
