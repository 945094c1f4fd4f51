/**
 * A reconcile that changes nothing writes nothing (docs/resource.md#how-the-operator-runs):
 * several resources, every kind of child, reconciled again and again while idle (resync
 * every 10 s, a backend probe every 2 s requeues each resource), every pod's /metrics
 * scraped every 2 s by the load monitor (idle pods, test/support/fakes/pod-metrics.ts) — and the
 * operator's own request counters show no write, and no object it manages changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER } from '../../operator/api/labels.js';
import { builtin, type KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { FakePodMetrics } from '../support/fakes/pod-metrics.js';
import { createTestNamespace, kubeConfig } from '../support/kube.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  startOperator,
  sumMetric,
} from '../support/operator-harness.js';
import {
  adminClient,
  condition,
  createSummarizerService,
  expectNoForbidden,
  getSummarizerService,
  kinds,
  listAll,
  summarizerService,
  waitForStatus,
} from '../support/sumsvc.js';

const IDLE_MS = 25_000;
const RESYNC_SECONDS = 10;
const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

const kc = kubeConfig();
let client: KubeClient;
let ns: { name: string; dispose: () => Promise<void> };
let operator: OperatorProcess;
let fake: FakeLmStudio;
let pods: FakePodMetrics;

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  ns = await createTestNamespace(kc, 'op-idle');
  fake = await FakeLmStudio.start();
  pods = await FakePodMetrics.start();
  // No leader election: Lease renewals would be the only writes, and they are not ours to judge.
  operator = await startOperator({
    namespaces: [ns.name],
    env: {
      LLMPLAN_RESYNC_SECONDS: String(RESYNC_SECONDS),
      LLMPLAN_BACKEND_PROBE_SECONDS: '2',
      LLMPLAN_LOAD_SCRAPE: pods.url,
      LLMPLAN_LOAD_SCRAPE_SECONDS: '2',
      // The usage reader too (no metrics-server here: it says so once, before the window).
      LLMPLAN_USAGE_SECONDS: '2',
    },
  });
});

afterAll(async () => {
  const code = await operator?.stop('SIGTERM');
  await fake?.stop();
  await pods?.stop();
  await ns?.dispose();
  await client?.close();
  expect(code).toBe(0);
});

/** Requests the operator sent, from its own rest_client_requests_total. */
async function requests(): Promise<{
  writes: number;
  reads: number;
  reconciles: number;
  scrapes: number;
}> {
  const text = await operator.metrics();
  expect(text).toContain('rest_client_requests_total');
  const count = (method: string) => sumMetric(text, 'rest_client_requests_total', { method });
  return {
    writes: WRITE_METHODS.reduce((sum, method) => sum + count(method), 0),
    reads: count('GET'),
    reconciles: sumMetric(text, 'controller_runtime_reconcile_total', {
      controller: 'summarizerservice',
    }),
    scrapes: sumMetric(text, 'llmplan_load_scrapes_total', { result: 'ok' }),
  };
}

/**
 * What would move if the operator wrote: the resourceVersion of objects nobody else
 * writes, and for those the cluster's controllers update (Deployment, HPA and PDB status),
 * the generation and the time of the operator's own managed-fields entry.
 */
async function fingerprint(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const add = (obj: KubeObject, value: string) =>
    out.set(`${obj.kind}/${obj.metadata.name}`, value);
  for (const resource of Object.values(kinds)) {
    for (const obj of await listAll(client, resource, ns.name)) {
      if (!obj.metadata.managedFields?.some((m) => m.manager === MANAGER)) continue;
      const ours = obj.metadata.managedFields
        ?.filter((m) => m.manager === MANAGER)
        .map((m) => `${m.operation}@${m.time}`)
        .join(',');
      const statusWritten = ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'];
      add(
        obj,
        statusWritten.includes(obj.kind ?? '')
          ? `generation=${obj.metadata.generation} ${ours}`
          : `rv=${obj.metadata.resourceVersion}`,
      );
    }
  }
  for (const name of NAMES) {
    const cr = await getSummarizerService(client, ns.name, name);
    add(cr, `rv=${cr.metadata.resourceVersion}`);
  }
  return out;
}

const NAMES = ['plain', 'replicated', 'autoscaled', 'exposed'];

describe('idle', () => {
  it('several resources, reconciled repeatedly while nothing changes: zero writes', async () => {
    const backend = (name: string) => ({
      externalName: '127.0.0.1',
      port: fake.port,
      serviceName: `${name}-lmstudio`,
    });
    const specs: Record<string, Record<string, unknown>> = {
      plain: {},
      replicated: { replicas: 2, env: [{ name: 'A', value: '1' }] },
      autoscaled: {
        autoscaling: { enabled: true, minReplicas: 1, maxReplicas: 3 },
        resources: { requests: { cpu: '0.5', memory: '0.5Gi' }, limits: { memory: '1024Mi' } },
      },
      exposed: {
        ingress: {
          enabled: true,
          hosts: [{ host: 'idle.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
        },
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
      },
    };
    for (const name of NAMES) {
      await createSummarizerService(
        client,
        summarizerService(ns.name, name, { lmstudio: backend(name), ...specs[name] }),
      );
    }
    for (const name of NAMES) {
      await waitForStatus(
        client,
        ns.name,
        name,
        (o) =>
          condition(o, 'Ready')?.status === 'True' &&
          condition(o, 'Progressing')?.reason === 'RolloutComplete' &&
          condition(o, 'BackendReachable')?.status === 'True' &&
          o.status?.load?.state === 'Calm' &&
          // Each pod scraped twice at least: its rates are known (the last change to settle).
          (o.status.load.pods ?? []).every((p) => p.requestsPerMinute !== undefined),
        `${name} rolled out and Ready`,
        60_000,
      );
    }
    // Let the last status write and the Deployment controller's own updates land.
    await new Promise((r) => setTimeout(r, 3000));

    const before = await fingerprint();
    expect(before.size).toBeGreaterThanOrEqual(NAMES.length * 5);
    const start = await requests();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const end = await requests();
    const reconciles = end.reconciles - start.reconciles;
    const idleWrites = end.writes - start.writes;
    const idleReads = end.reads - start.reads;
    const scrapes = end.scrapes - start.scrapes;
    console.info(
      `idle ${IDLE_MS / 1000} s, ${NAMES.length} resources: ${reconciles} reconciles, ${scrapes} pod scrapes, ${idleWrites} writes, ${idleReads} GETs`,
    );
    // Every pod was read every 2 s (at least half of those rounds, on a busy machine).
    const podCount = (await listAll(client, builtin.pods, ns.name)).length;
    expect(podCount).toBeGreaterThanOrEqual(NAMES.length);
    expect(scrapes).toBeGreaterThanOrEqual((podCount * IDLE_MS) / 2000 / 2);
    // The probe requeues each resource every 2 s and the resync touches each every 10 s: the
    // reconciler really ran, many times, during the idle period.
    expect(reconciles).toBeGreaterThanOrEqual(NAMES.length * 5);
    expect(idleWrites).toBe(0);
    expect(await fingerprint()).toEqual(before);
    expectNoForbidden(operator);
  });
});
