/**
 * `llmplanctl migrate helm` against the real API server: the users' chart installed with a
 * real `helm install` (the guide's prod line, release llmplan-prod), the real operator
 * (deploy/'s RBAC) adopting, the real llmplanctl. Pods are kwok's here;
 * test/helm/migrate-helm.kind.test.ts does the same with real pods serving traffic.
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
  releaseObjects,
  releaseRecord,
  snapshot,
} from '../support/helm/migration.js';
import { envWithBaseUrl, RUNBOOK } from '../support/helm/runbook.js';
import { KWOK_REFUSED_SET, KWOK_UPGRADE_SET, kwokSettings } from '../support/helm/test-settings.js';
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
  // To undo a migration that cannot finish (not needed by the migrations here, which finish).
  { apiGroups: ['llmplan.io'], resources: ['summarizerservices'], verbs: ['delete'] },
  { apiGroups: [''], resources: ['secrets', 'services'], verbs: ['delete'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['delete'] },
  { apiGroups: ['apps'], resources: ['controllerrevisions'], verbs: ['list', 'delete'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['list'] },
];
const scratch = mkdtempSync(path.join(tmpdir(), 'llmplan-migrate-'));

/** The prod line's release: objects, and the SummarizerService, are named llmplan-prod. */
const PROD = RUNBOOK.prod.release;

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
  // LM Studio is the fake on loopback, through the chart's ExternalName Service (test-settings.ts).
  await installOldChart(prod.name, RUNBOOK.prod, kwokSettings(RUNBOOK.prod, fake.port));
  // A second revision: the migration maps the current one and retires both.
  await helmOk([
    'upgrade',
    PROD,
    OLD_CHART,
    '-n',
    prod.name,
    '--reuse-values',
    ...KWOK_UPGRADE_SET.flatMap((s) => ['--set', s]),
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
  it('Helm records the guide line as the config the mapping is tested with', async () => {
    const release = await releaseRecord(client, prod.name, PROD);
    // The guide's values, with this cluster's LM Studio set after them (the later --set wins),
    // and the pods' env list with the fake's URL (the chart's pods read env only).
    const backendConfig = {
      lmstudio: { externalName: '127.0.0.1', service: { port: fake.port } },
      env: envWithBaseUrl(RUNBOOK.prod, `http://lmstudio:${fake.port}/v1`),
    };
    expect(release.version).toBe(2);
    expect(release.config).toEqual(
      coalesceValues(RUNBOOK.prod.config, { ...backendConfig, podAnnotations: { team: 'nlp' } }),
    );
    expect(release.chart.metadata).toMatchObject({ name: 'llmplan', version: '0.1.0' });
  });

  it('--dry-run prints the resource, every value and every step, and changes nothing', async () => {
    const before = await snapshot(client, prod.name);
    const dry = await llmplanctl(['migrate', 'helm', PROD, '-n', prod.name, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('chart llmplan-0.1.0, revision 2, deployed');
    expect(dry.stdout).toMatch(/kind: SummarizerService\n/);
    expect(dry.stdout).toMatch(
      /mapped\s+replicaCount = 3 → spec\.replicas \(ignored while autoscaling/,
    );
    // Issue 20: every value has a fate; the chart's defaults are covered, not refused.
    expect(dry.stdout).toMatch(
      /covered\s+securityContext\.readOnlyRootFilesystem = false \(the operator sets true: stricter/,
    );
    expect(dry.stdout).toMatch(/covered\s+podSecurityContext\.fsGroup = 2000 /);
    expect(dry.stdout).toMatch(/covered\s+livenessProbe = .*\/livez/);
    expect(dry.stdout).toMatch(
      /mapped\s+env\[LMSTUDIO_API_KEY\] = <hidden> → spec\.lmstudio\.apiKeySecretRef/,
    );
    expect(dry.stdout).toMatch(/no effect\s+config\.lmstudio\.baseUrl = .*never read/);
    expect(dry.stdout).not.toContain('lm-studio');
    for (const step of [
      `create Secret ${PROD}-lmstudio-api-key`,
      `pause Deployment ${PROD}`,
      `mark for adoption (annotation llmplan.io/adopt=${PROD}): ServiceAccount ${PROD}, ConfigMap ${PROD}-config, Service lmstudio, Service ${PROD}, Deployment ${PROD}, HorizontalPodAutoscaler ${PROD}, Ingress ${PROD}`,
      `creates PodDisruptionBudget ${PROD}`,
      'with orphan propagation',
      `resume Deployment ${PROD}`,
      'one pod at a time',
      `retire Helm release ${PROD}`,
      'Steps (dry run: nothing was changed)',
    ]) {
      expect(dry.stdout).toContain(step);
    }
    const only = await llmplanctl([
      'migrate',
      'helm',
      PROD,
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
        name: PROD,
        namespace: prod.name,
        annotations: { 'llmplan.io/helm-release': PROD },
      },
      spec: {
        image: { repository: 'eunheejo/llmplan', tag: 'v0.1.0' },
        replicas: 3,
        autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 },
        resources: { limits: { memory: '2Gi' } },
        ingress: {
          enabled: true,
          hosts: [{ host: 'llmplan.company.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
        },
        lmstudio: {
          externalName: '127.0.0.1',
          port: fake.port,
          apiKeySecretRef: { name: `${PROD}-lmstudio-api-key`, key: 'api-key' },
        },
        podAnnotations: { team: 'nlp' },
      },
    });
    expect(await snapshot(client, prod.name)).toEqual(before);
    expect(await helmOk(['list', '-n', prod.name, '-q'])).toBe(`${PROD}\n`);
  });

  it('moves the release under a SummarizerService: adopted in place, the release retired', async () => {
    const release = await releaseRecord(client, prod.name, PROD);
    const before = await releaseObjects(client, prod.name, release.manifest);
    const user = await kubeconfigWithRules(client, prod.name, 'migrator', MIGRATE_RULES, scratch);
    const migrated = await llmplanctl([
      'migrate',
      'helm',
      PROD,
      '-n',
      prod.name,
      '--kubeconfig',
      user,
    ]);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(
      /Helm release llmplan-prod is now SummarizerService llmplan-prod \(\d+\.\d s\)/,
    );
    await expectMigrated(client, prod.name, PROD, before);
    // The key the pods ran with (env LMSTUDIO_API_KEY) is in a Secret now, referenced once.
    const secret = await client.get<KubeObject & { data?: Record<string, string> }>(
      builtin.secrets,
      `${PROD}-lmstudio-api-key`,
      prod.name,
    );
    expect(Buffer.from(secret.data?.['api-key'] ?? '', 'base64').toString()).toBe('lm-studio');
    const status = await waitForStatus(
      client,
      prod.name,
      PROD,
      (o) => condition(o, 'Degraded')?.status === 'False',
      'no conflict',
    );
    expect(condition(status, 'Degraded')?.reason).not.toBe('OwnershipConflict');
    const pdb = await client.get(builtin.podDisruptionBudgets, PROD, prod.name);
    expect(pdb.metadata.ownerReferences?.[0]?.kind).toBe('SummarizerService');
    // The release's pods were drained and replaced; the operator's run the adopted Deployment.
    const pods = await client.list(builtin.pods, {
      namespace: prod.name,
      labelSelector: `app.kubernetes.io/instance=${PROD}`,
    });
    expect(pods.items.map((p) => p.metadata.labels?.['app.kubernetes.io/managed-by'])).toEqual(
      Array(pods.items.length).fill('llmplan-operator'),
    );
    const deployment = await client.get<
      KubeObject & {
        spec?: {
          paused?: boolean;
          template?: { spec?: { containers?: { env?: { name: string }[] }[] } };
        };
      }
    >(builtin.deployments, PROD, prod.name);
    expect(deployment.spec?.paused).toBeUndefined();
    // Issue 20: the chart's env became spec fields; one LMSTUDIO_API_KEY entry, from the Secret.
    expect(deployment.spec?.template?.spec?.containers?.[0]?.env).toEqual([
      {
        name: 'LMSTUDIO_API_KEY',
        valueFrom: { secretKeyRef: { name: `${PROD}-lmstudio-api-key`, key: 'api-key' } },
      },
    ]);
    await expectHelmInstallRefused(prod.name, PROD);

    const exported = await llmplanctl(['export', PROD, '-n', prod.name]);
    expect(exported.code).toBe(0);
    const dry = await llmplanctl(['migrate', 'helm', PROD, '-n', prod.name, '--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain(
      `Helm release ${PROD} in namespace ${prod.name} was already migrated to SummarizerService ${PROD}`,
    );
    expect(parse(exported.stdout)).toMatchObject({
      kind: 'SummarizerService',
      metadata: { name: PROD, namespace: prod.name },
      spec: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 } },
    });
    expect(exported.stdout).not.toMatch(/status:|uid:|resourceVersion:|managedFields/);
  });

  it('waits for an operator that is not there, says so, undoes what it did, and migrates when run again', async () => {
    const STAGING = RUNBOOK.staging.release;
    await installOldChart(spare.name, RUNBOOK.staging, kwokSettings(RUNBOOK.staging, fake.port));
    const release = await releaseRecord(client, spare.name, STAGING);
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
      STAGING,
      '-n',
      spare.name,
      '--kubeconfig',
      user,
    ]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain(
      `error: forbidden: you may not create summarizerservices.llmplan.io "${STAGING}" in namespace "${spare.name}"`,
    );
    expect(await snapshot(client, spare.name)).toEqual(unchanged);
    const stuck = await llmplanctl([
      'migrate',
      'helm',
      STAGING,
      '-n',
      spare.name,
      '--timeout',
      '5s',
    ]);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain('timed out waiting for the operator to adopt');
    expect(stuck.stderr).toContain('Is the llmplan operator running');
    // Issue 20, part 3: undone — the release as it was, its objects the same, Helm's again.
    expect(stuck.stderr).toContain('no operator reconciled it');
    expect(stuck.stderr).toMatch(/Undone:\n(.*\n)*.*SummarizerService llmplan-staging deleted/);
    expect(stuck.stderr).toContain(`Helm release ${STAGING} is as it was`);
    expect(await client.find(summarizerServices, STAGING, spare.name)).toBeUndefined();
    expect(
      await client.find(builtin.secrets, `${STAGING}-lmstudio-api-key`, spare.name),
    ).toBeUndefined();
    for (const old of before) {
      const kind = {
        Deployment: builtin.deployments,
        Service: builtin.services,
        ConfigMap: builtin.configMaps,
        ServiceAccount: builtin.serviceAccounts,
      }[old.kind ?? ''];
      if (!kind) continue;
      const now = await client.get<KubeObject & { spec?: { paused?: boolean } }>(
        kind,
        old.metadata.name ?? '',
        spare.name,
      );
      const what = `${old.kind} ${old.metadata.name}`;
      expect(now.metadata.uid, what).toBe(old.metadata.uid);
      expect(now.metadata.annotations?.['llmplan.io/adopt'], what).toBeUndefined();
      expect(now.metadata.annotations?.['meta.helm.sh/release-name'], what).toBe(STAGING);
      expect(now.metadata.ownerReferences ?? [], what).toEqual([]);
      if (old.kind === 'Deployment') expect(now.spec?.paused, what).toBeUndefined();
    }
    expect(await helmOk(['list', '-n', spare.name, '-q'])).toBe(`${STAGING}\n`);

    const second = await startOperator({
      namespaces: [spare.name],
      leaseName: 'llmplan-operator-spare',
    });
    try {
      const again = await llmplanctl(['migrate', 'helm', STAGING, '-n', spare.name]);
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      // A fresh migration: the first one was undone, nothing to resume.
      expect(again.stdout).not.toContain('Resuming the migration');
      await expectMigrated(client, spare.name, STAGING, before);
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

      // Mirrored by plan.test.ts ('refuses exactly what migrate.cluster.test.ts expects').
      const backend = kwokSettings(RUNBOOK.dev, fake.port);
      await installOldChart(ns.name, RUNBOOK.dev, {
        set: [...backend.set, ...KWOK_REFUSED_SET],
        setJson: backend.setJson,
      });
      const before = await snapshot(client, ns.name);
      const refused = await llmplanctl(['migrate', 'helm', RUNBOOK.dev.release, '-n', ns.name]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/CANNOT MAP\s+resources\.limits\.memory = <unset>/);
      expect(refused.stderr).toContain('value serviceAccount.annotations');
      expect(refused.stderr).toContain(
        'cannot be migrated (2 problems above); nothing was changed',
      );
      expect(await snapshot(client, ns.name)).toEqual(before);
      expect(await client.find(summarizerServices, RUNBOOK.dev.release, ns.name)).toBeUndefined();
    } finally {
      await helm(['uninstall', 'other', '-n', ns.name]);
      await ns.dispose();
    }
  });
});
