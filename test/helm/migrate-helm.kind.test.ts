/**
 * `llmplanctl migrate helm` on the real cluster (issues 11, 20): the users' chart installed
 * with a real `helm install` by the guide's lines (releases llmplan-prod, llmplan-dev,
 * llmplan-staging: runbook.ts, with its stated adaptations), real pods of this checkout's
 * summarizer image
 * serving real summaries (the real inference server as LM Studio), and the operator installed
 * as users install it. While the prod release is migrated, a client inside the cluster sends
 * summaries through the Service without pause: none may fail. Afterwards every object is the
 * SummarizerService's, the same objects as before, and the operator remediates it like any
 * other: a bad tag is rolled back.
 *
 * What the environment forces on top of the guide's values (kindSettings in
 * test/support/helm/test-settings.ts): this checkout's image (never a moving tag), the shared
 * inference server as LM Studio through the chart's ExternalName Service (never an address
 * outside this machine), 5m of CPU requested per pod (the one node has about 100m left), and
 * for prod an HPA pinned at its minimum of 3 (with 5m requested, any CPU use reads as far
 * above 80 %, and a scale-up would find no room on the node).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { summarizerServices } from '../../operator/api/summarizerservice.js';
import { builtin, KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import { loadClusterAccess } from '../../operator/runtime/kubeconfig.js';
import {
  expectHelmInstallRefused,
  expectMigrated,
  installOldChart,
  llmplanctl,
  releaseObjects,
  releaseRecord,
} from '../support/helm/migration.js';
import { RUNBOOK, type RunbookLine } from '../support/helm/runbook.js';
import { kindSettings } from '../support/helm/test-settings.js';
import { SHARED_LMSTUDIO, serviceImage } from '../support/kind.js';
import {
  createTestNamespace,
  eventually,
  kubeConfig,
  kubeconfigPath,
  kubectlOk,
} from '../support/kube.js';
import { condition, patchSpec, waitForStatus } from '../support/sumsvc.js';
import { startTraffic, summary, type Traffic, window } from '../support/traffic.js';

const client = new KubeClient(loadClusterAccess({ kubeconfig: kubeconfigPath() }), {
  fieldManager: 'llmplan-tests',
});
const namespaces: string[] = [];

/** This cluster's settings after the guide line's. */
const settings = (line: RunbookLine) =>
  kindSettings(line, serviceImage(), SHARED_LMSTUDIO.externalName);
/** The prod line's release: its objects and the SummarizerService are named llmplan-prod. */
const PROD = RUNBOOK.prod.release;

afterAll(async () => {
  for (const ns of namespaces) await removeNamespace(ns);
  await client.close();
});

async function namespace(prefix: string): Promise<string> {
  const { name } = await createTestNamespace(kubeConfig(), prefix);
  namespaces.push(name);
  return name;
}

/** Deletes a namespace and waits until its pods are gone: the node's CPU is needed next. */
async function removeNamespace(ns: string): Promise<void> {
  namespaces.splice(namespaces.indexOf(ns), 1);
  await kubectlOk([
    'delete',
    'namespace',
    ns,
    '--ignore-not-found',
    '--wait=true',
    '--timeout=180s',
  ]);
}

/** The SummarizerService `name` of `ns` once Ready. */
const ready = (ns: string, name: string) =>
  waitForStatus(
    client,
    ns,
    name,
    (o) => condition(o, 'Ready')?.status === 'True',
    'Ready',
    240_000,
  );

type Slice = KubeObject & { endpoints?: { conditions?: { ready?: boolean } }[] };
/** Ready endpoints of Service llmplan-prod, sampled every 250 ms until stopped: the fewest seen. */
function sampleReadyEndpoints(ns: string) {
  let fewest = Number.POSITIVE_INFINITY;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { items } = await client.list<Slice>(builtin.endpointSlices, {
        namespace: ns,
        labelSelector: `kubernetes.io/service-name=${PROD}`,
      });
      const ready = items
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready).length;
      fewest = Math.min(fewest, ready);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { fewest, samples };
    },
  };
}

describe('migrate helm on real pods', () => {
  let ns: string;
  let traffic: Traffic;

  beforeAll(async () => {
    ns = await namespace('kind-helm-prod');
    await installOldChart(ns, RUNBOOK.prod, settings(RUNBOOK.prod));
    // The chart leaves replicas to the HPA, which raises them to minReplicas (3).
    await kubectlOk(['rollout', 'status', '-n', ns, `deployment/${PROD}`, '--timeout=300s']);
    await eventually(
      async () => {
        const d = await client.get<KubeObject & { status?: { readyReplicas?: number } }>(
          builtin.deployments,
          PROD,
          ns,
        );
        return (d.status?.readyReplicas ?? 0) >= 3;
      },
      { what: 'the HPA’s three pods ready', timeoutMs: 240_000, intervalMs: 1000 },
    );
    traffic = await startTraffic(ns, `http://${PROD}:8000/api/v1/summary/`);
    await eventually(
      async () => (await traffic.requests()).filter((r) => r.status === 200).length >= 3,
      {
        what: 'three summaries through the Service before the migration',
        timeoutMs: 120_000,
        intervalMs: 1000,
      },
    );
  }, 600_000);
  afterAll(() => removeNamespace(ns), 240_000);

  it('moves the prod release under a SummarizerService while every summary succeeds', async () => {
    const release = await releaseRecord(client, ns, PROD);
    const before = await releaseObjects(client, ns, release.manifest);
    const endpoints = sampleReadyEndpoints(ns);
    const started = Date.now();
    const migrated = await llmplanctl(['migrate', 'helm', PROD, '-n', ns]);
    const finished = Date.now();
    const capacity = await endpoints.stop();
    console.log(
      `migrate helm (prod line, 3 pods) took ${((finished - started) / 1000).toFixed(1)} s:\n${migrated.stdout}`,
    );
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);

    await expectMigrated(client, ns, PROD, before);
    await expectHelmInstallRefused(ns, PROD);
    // Never fewer ready pods behind the Service than the release ran.
    console.log(
      `ready endpoints of Service ${PROD} during the migration: fewest ${capacity.fewest} in ${capacity.samples} samples`,
    );
    expect(capacity.fewest).toBeGreaterThanOrEqual(3);
    const pdb = await client.get(builtin.podDisruptionBudgets, PROD, ns);
    expect(pdb.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'SummarizerService',
      name: PROD,
    });
    const deployment = await client.get<
      KubeObject & {
        spec: {
          template: {
            spec: {
              containers: {
                name: string;
                env?: { name: string }[];
                readinessProbe?: { httpGet?: { path?: string } };
                livenessProbe?: { httpGet?: { path?: string } };
              }[];
            };
          };
        };
      }
    >(builtin.deployments, PROD, ns);
    const [summarizer] = deployment.spec.template.spec.containers;
    expect(summarizer?.name).toBe('summarizer');
    // The old chart's probes asked LM Studio; the operator's do not.
    expect(summarizer?.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(summarizer?.readinessProbe?.httpGet?.path).toBe('/readyz');
    // Issue 20: the chart's env (URL, key, DEBUG) became spec fields: one LMSTUDIO_API_KEY, from the Secret.
    expect(summarizer?.env?.map((e) => e.name)).toEqual(['LMSTUDIO_API_KEY']);
    await ready(ns, PROD);

    // A few more summaries after it, then the window's count.
    const after = Date.now();
    await eventually(
      async () =>
        (await traffic.requests()).filter((r) => Date.parse(r.at) > after && r.status === 200)
          .length >= 3,
      { what: 'summaries after the migration', timeoutMs: 120_000, intervalMs: 1000 },
    );
    const during = window(await traffic.requests(), started, finished);
    console.log(`summaries sent during the migration: ${JSON.stringify(summary(during.sent))}`);
    expect(during.failed).toEqual([]);
    expect(during.sent.length).toBeGreaterThan(5);
  });

  it('then remediates it like any other SummarizerService: a bad tag is rolled back', async () => {
    await waitForStatus(
      client,
      ns,
      PROD,
      (o) =>
        o.status?.lastHealthyRevision !== undefined &&
        o.status.lastHealthyRevision === o.status.currentRevision,
      'the adopted revision judged healthy',
      120_000,
    );
    const started = Date.now();
    await patchSpec(client, ns, PROD, { image: { tag: 'does-not-exist' } });
    const rolledBack = await waitForStatus(
      client,
      ns,
      PROD,
      (o) => condition(o, 'Degraded')?.reason === 'RolledBack',
      'Degraded RolledBack',
      300_000,
    );
    expect(rolledBack.status?.history?.at(-1)).toMatchObject({
      action: 'Rollback',
      reason: expect.stringMatching(/^(ImagePullBackOff|ErrImagePull)$/),
    });
    await eventually(
      async () => {
        const d = await client.get<
          KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }
        >(builtin.deployments, PROD, ns);
        return (
          d.spec.template.spec.containers[0]?.image ===
          `${serviceImage().repository}:${serviceImage().tag}`
        );
      },
      { what: 'the Deployment serving the last healthy tag again', timeoutMs: 60_000 },
    );
    const finished = Date.now();
    const requests = await traffic.stop();
    const during = window(requests, started, finished);
    console.log(
      `summaries sent during the bad rollout and its rollback (${((finished - started) / 1000).toFixed(1)} s): ${JSON.stringify(summary(during.sent))}`,
    );
    console.log(`all summaries of the test: ${JSON.stringify(summary(requests))}`);
    expect(during.failed).toEqual([]);
    expect(requests.filter((r) => r.status !== 200)).toEqual([]);
    const cr = await client.get<KubeObject & { spec: { image: { tag: string } } }>(
      summarizerServices,
      PROD,
      ns,
    );
    // Remediation never edits the spec: Git (or the user) decides.
    expect(cr.spec.image.tag).toBe('does-not-exist');
  });
});

describe('migrate helm: the dev and staging lines', () => {
  for (const env of ['dev', 'staging'] as const) {
    it(`${env}: migrated, Ready, the spec as the release ran`, async () => {
      const line = RUNBOOK[env];
      const ns = await namespace(`kind-helm-${env}`);
      onTestFinished(() => removeNamespace(ns));
      await installOldChart(ns, line, settings(line));
      const release = await releaseRecord(client, ns, line.release);
      const before = await releaseObjects(client, ns, release.manifest);
      const started = Date.now();
      const migrated = await llmplanctl(['migrate', 'helm', line.release, '-n', ns]);
      console.log(
        `migrate helm (${env} line) took ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      expect(migrated.stderr).toBe('');
      expect(migrated.code).toBe(0);
      await expectMigrated(client, ns, line.release, before);
      const migratedResource = await ready(ns, line.release);
      // dev: env DEBUG "true" (the guide's --set env.DEBUG=true, as a list) → spec.debug;
      // staging: --set replicaCount=2, a value of the chart → 2 replicas.
      expect(migratedResource.spec).toMatchObject({
        replicas: env === 'staging' ? 2 : 1,
        image: { tag: serviceImage().tag },
        debug: env === 'dev',
        lmstudio: {
          externalName: SHARED_LMSTUDIO.externalName,
          apiKeySecretRef: { name: `${line.release}-lmstudio-api-key`, key: 'api-key' },
        },
        ...(env === 'dev' ? { resources: { requests: { cpu: '5m', memory: '256Mi' } } } : {}),
      });
      expect(migratedResource.spec).not.toHaveProperty('env');
    });
  }
});
