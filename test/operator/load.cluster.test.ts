/**
 * Load-aware remediation against the real control plane: the operator runs as a process under
 * deploy/'s RBAC; the fake nodes run no summarizer, so their pods' /metrics come from
 * test/support/fakes/pod-metrics.ts (the service's own metrics module, driven by a load profile),
 * reached the way a `kubectl proxy` is (LLMPLAN_LOAD_SCRAPE=<url>). Everything else is
 * real: the Deployment, the PDB and the disruption controller, the Eviction API, Events.
 * Real pods and real traffic: hack/kind/load.test.ts.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SummarizerServiceStatus } from '../../operator/api/status.js';
import { builtin, type KubeClient } from '../../operator/runtime/index.js';
import { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { FakePodMetrics, type LoadProfile } from '../support/fakes/pod-metrics.js';
import { createTestNamespace, eventually, kubeConfig, kubeconfigPath } from '../support/kube.js';
import { getRow, patchSpec, setPodReady } from '../support/kubectl-sumsvc.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  startOperator,
} from '../support/operator-harness.js';
import {
  adminClient,
  condition,
  createSummarizerService,
  expectNoForbidden,
  getChild,
  getSummarizerService,
  summarizerService,
  waitForEvent,
  waitForStatus,
} from '../support/sumsvc.js';

const run = promisify(execFile);
const SCENARIOS = ['read', 'scale', 'backend', 'restart', 'silent', 'old', 'concurrency'] as const;
type Scenario = (typeof SCENARIOS)[number];

const kc = kubeConfig();
const namespaces = {} as Record<Scenario, string>;
const disposers: Array<() => Promise<void>> = [];
let client: KubeClient;
let operator: OperatorProcess;
let lmstudio: FakeLmStudio;
let pods: FakePodMetrics;

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  lmstudio = await FakeLmStudio.start();
  pods = await FakePodMetrics.start();
  for (const scenario of SCENARIOS) {
    const ns = await createTestNamespace(kc, `load-${scenario}`);
    namespaces[scenario] = ns.name;
    disposers.push(ns.dispose);
  }
  operator = await startOperator({
    namespaces: Object.values(namespaces),
    env: {
      LLMPLAN_LOAD_SCRAPE: pods.url,
      LLMPLAN_LOAD_SCRAPE_SECONDS: '1',
      LLMPLAN_BACKEND_PROBE_SECONDS: '2',
    },
  });
});

afterAll(async () => {
  await operator?.stop();
  await pods?.stop();
  await lmstudio?.stop();
  await Promise.all(disposers.map((d) => d()));
  await client?.close();
});

const NAME = 'llmplan';

async function create(ns: string, spec: Record<string, unknown>): Promise<void> {
  await createSummarizerService(
    client,
    summarizerService(ns, NAME, {
      image: { repository: 'registry.local/summarizer', tag: 'v1' },
      lmstudio: { externalName: '127.0.0.1', port: lmstudio.port },
      ...spec,
    }),
  );
}

async function runningPods(ns: string): Promise<V1Pod[]> {
  const list = await client.list<V1Pod & { metadata: { name: string } }>(builtin.pods, {
    namespace: ns,
    labelSelector: `app.kubernetes.io/instance=${NAME}`,
  });
  return list.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
}

/** Sets the load profile of every pod of the resource, now and for pods that appear later. */
function everyPod(ns: string, profile: Partial<LoadProfile>, podNames: readonly string[]) {
  for (const name of podNames) pods.pod(ns, name).set(profile);
}

const status = async (ns: string) =>
  (await getSummarizerService(client, ns, NAME)).status as SummarizerServiceStatus;
const actions = (s: SummarizerServiceStatus, action: string) =>
  (s.history ?? []).filter((h) => h.action === action);

/** Rolled out with `replicas` Running pods and status.load read from all of them. */
async function rolledOut(ns: string, replicas: number): Promise<string[]> {
  await waitForStatus(
    client,
    ns,
    NAME,
    (o) =>
      condition(o, 'Ready')?.status === 'True' &&
      o.status?.readyReplicas === replicas &&
      o.status?.lastHealthyRevision === o.status?.currentRevision,
    `${replicas} replicas rolled out`,
    60_000,
  );
  const names = (await runningPods(ns)).map((p) => p.metadata?.name ?? '');
  expect(names).toHaveLength(replicas);
  return names;
}

/** A few seconds of one-call-at-a-time traffic: LM Studio's light-load latency is learnt. */
async function learnBaseline(ns: string, names: readonly string[], latencySeconds = 0.5) {
  everyPod(ns, { busySlots: 0.4, latencySeconds }, names);
  await waitForStatus(
    client,
    ns,
    NAME,
    (o) => (o.status?.load?.backendBaselineMs ?? 0) > 0,
    "LM Studio's baseline learnt",
    30_000,
  );
}

const SATURATED: Partial<LoadProfile> = {
  busySlots: 4,
  concurrency: 4,
  queued: 12,
  shedPerSecond: 6,
  waitSeconds: 2,
  latencySeconds: 0.5,
};

describe('load read from the pods', () => {
  it('reports each pod’s load in status.load, the LOAD column and BackendSaturated', async () => {
    const ns = namespaces.read;
    await create(ns, { replicas: 2 });
    const names = await rolledOut(ns, 2);
    everyPod(ns, { busySlots: 1, latencySeconds: 0.5, concurrency: 4 }, names);
    const read = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => o.status?.load?.podsReporting === 2 && (o.status.load.requestsPerMinute ?? 0) > 0,
      'status.load from both pods',
    );
    const load = read.status?.load;
    expect(load?.state).toMatch(/^(Calm|Busy)$/);
    expect(load?.concurrency).toBe(8);
    expect(load?.pods?.map((p) => p.name).sort()).toEqual([...names].sort());
    expect(load?.message).toMatch(/LM Studio slots in use/);
    expect(condition(read, 'BackendSaturated')).toMatchObject({
      status: 'False',
      reason: 'BackendKeepsUp',
    });
    expect((await getRow(ns)).row.LOAD).toMatch(/^(Calm|Busy)$/);
    expect(pods.pod(ns, names[0] ?? '').scrapes).toBeGreaterThanOrEqual(1);
    // The user's view: llmplanctl top, as a program.
    const { stdout } = await run(
      path.resolve(import.meta.dirname, '../../bin/llmplanctl'),
      ['top', NAME, '-n', ns],
      {
        env: { ...process.env, KUBECONFIG: kubeconfigPath() },
        timeout: 60_000,
      },
    );
    expect(stdout).toMatch(/^llmplan \(namespace load-read-\w+\): (Calm|Busy) for /);
    expect(stdout).toMatch(
      /POD +STATE +IN-FLIGHT +QUEUED +WAIT-P95 +SHED\/MIN +LLM-P95 +ERRORS\/MIN/,
    );
    for (const name of names) expect(stdout).toMatch(new RegExp(`${name} +(Calm|Busy) +\\d/4`));
    expectNoForbidden(operator);
  });
});

describe('emergency scale-up on real saturation', () => {
  it('scales up after afterSeconds of saturation with LM Studio at its baseline, and back after cooldownSeconds of calm', async () => {
    const ns = namespaces.scale;
    await create(ns, {
      replicas: 2,
      remediation: { cooldownSeconds: 6, scaleUp: { replicas: 4, afterSeconds: 3 } },
    });
    const names = await rolledOut(ns, 2);
    await learnBaseline(ns, names);
    everyPod(ns, SATURATED, names);
    const saturatedAt = Date.now();
    const scaled = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => o.status?.remediation?.scaleUp !== undefined,
      'an emergency scale-up',
      45_000,
    );
    const took = Date.now() - saturatedAt;
    expect(took).toBeGreaterThanOrEqual(3_000);
    expect(actions(scaled.status ?? {}, 'ScaleUp')).toEqual([
      expect.objectContaining({ reason: 'Saturated', from: '2', to: '4' }),
    ]);
    expect(actions(scaled.status ?? {}, 'ScaleUp')[0]?.message).toMatch(
      /pod\(s\) saturated.*LM Studio 0\.5\d s per call \(baseline 0\.5\d s/,
    );
    await eventually(
      async () => (await getChild(client, 'deployment', ns, NAME)).spec?.replicas === 4,
      {
        what: 'Deployment at 4 replicas',
      },
    );
    expect((await getRow(ns)).row).toMatchObject({ STATUS: 'ScaledUp', LOAD: 'Saturated' });
    await waitForEvent(client, ns, NAME, 'ScaleUp', /Saturated: 2 → 4/);

    // The load stops: every pod, new ones included, calm.
    const all = (await runningPods(ns)).map((p) => p.metadata?.name ?? '');
    everyPod(ns, { busySlots: 0, queued: 0, shedPerSecond: 0, waitSeconds: 0 }, all);
    const calmAt = Date.now();
    const back = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => actions(o.status ?? {}, 'ScaleUpReverted').length === 1,
      'the scale-up reverted after 6 s of calm',
      45_000,
    );
    expect(Date.now() - calmAt).toBeGreaterThanOrEqual(6_000);
    expect(back.status?.remediation?.scaleUp).toBeUndefined();
    await eventually(
      async () => (await getChild(client, 'deployment', ns, NAME)).spec?.replicas === 2,
      {
        what: 'Deployment back at 2 replicas',
      },
    );
    console.info(
      `kwok: saturation → scale-up recorded ${took} ms (afterSeconds 3, scrape every 1 s)`,
    );
  });
});

describe('LM Studio as the bottleneck', () => {
  it('never scales up; condition BackendSaturated and an Event say so, with the figures', async () => {
    const ns = namespaces.backend;
    await create(ns, {
      replicas: 2,
      remediation: { cooldownSeconds: 0, scaleUp: { replicas: 4, afterSeconds: 1 } },
    });
    const names = await rolledOut(ns, 2);
    await learnBaseline(ns, names);
    everyPod(ns, { ...SATURATED, latencySeconds: 3 }, names);
    const saturated = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => condition(o, 'BackendSaturated')?.status === 'True',
      'BackendSaturated=True',
      30_000,
    );
    expect(condition(saturated, 'BackendSaturated')).toMatchObject({
      reason: 'LatencyAboveBaseline',
      message: expect.stringMatching(
        /^LM Studio is the bottleneck: 3\.00 s per call, ×\d+\.\d its light-load baseline 0\.5\d s/,
      ),
    });
    const event = await waitForEvent(
      client,
      ns,
      NAME,
      'BackendSaturated',
      /LM Studio is the bottleneck/,
    );
    expect(event.type).toBe('Warning');
    // Well past afterSeconds: still two replicas, no action.
    await new Promise((r) => setTimeout(r, 5_000));
    const held = await status(ns);
    expect(held.history ?? []).toEqual([]);
    expect((await getChild(client, 'deployment', ns, NAME)).spec?.replicas).toBe(2);
    expect((await getRow(ns)).row.LOAD).toBe('BackendSaturated');

    everyPod(
      ns,
      { busySlots: 0.3, queued: 0, shedPerSecond: 0, waitSeconds: 0, latencySeconds: 0.5 },
      names,
    );
    await waitForStatus(
      client,
      ns,
      NAME,
      (o) => condition(o, 'BackendSaturated')?.status === 'False',
      'BackendSaturated=False once LM Studio keeps up',
    );
    await waitForEvent(client, ns, NAME, 'BackendKeepsUp');
  });
});

describe('restart only the problematic pod', () => {
  it('evicts the one pod out of line with its siblings, never below the PDB, and records it', async () => {
    const ns = namespaces.restart;
    await create(ns, {
      replicas: 3,
      remediation: { cooldownSeconds: 0, podRestart: { afterSeconds: 3 } },
    });
    const names = await rolledOut(ns, 3);
    const [bad, other, third] = names as [string, string, string];
    everyPod(ns, { busySlots: 1, latencySeconds: 0.5 }, names);
    // One sibling unavailable: the PDB (maxUnavailable 1) allows no disruption.
    const podsBefore = await runningPods(ns);
    const uidOf = (name: string) =>
      podsBefore.find((p) => p.metadata?.name === name)?.metadata?.uid;
    await setPodReady(ns, third, 'False');
    await eventually(
      async () =>
        (await getChild(client, 'pdb', ns, NAME)).status?.disruptionsAllowed === 0
          ? true
          : undefined,
      { what: 'the PDB allowing no disruption' },
    );
    pods.pod(ns, bad).set({ errorShare: 1, circuit: 'open' });
    const decided = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => o.status?.remediation?.podRestart !== undefined,
      'a restart decided',
      30_000,
    );
    expect(decided.status?.remediation?.podRestart).toMatchObject({ pod: bad, uid: uidOf(bad) });
    // The Eviction API refuses while the budget is spent: the pod stays.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await runningPods(ns)).map((p) => p.metadata?.name)).toContain(bad);
    expect(
      operator.logs.some((l) =>
        String(l.msg).includes('eviction refused by the PodDisruptionBudget'),
      ),
    ).toBe(true);

    await setPodReady(ns, third, 'True');
    await eventually(
      async () =>
        (await runningPods(ns)).some((p) => p.metadata?.name === bad) ? undefined : true,
      { what: `pod ${bad} evicted`, timeoutMs: 30_000 },
    );
    const after = await runningPods(ns);
    // Its siblings were not touched.
    for (const name of [other, third]) {
      expect(after.find((p) => p.metadata?.name === name)?.metadata?.uid).toBe(uidOf(name));
    }
    const done = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => o.status?.remediation?.podRestart === undefined,
      'the restart done',
    );
    expect(actions(done.status ?? {}, 'PodRestart'), JSON.stringify(done.status?.history)).toEqual([
      expect.objectContaining({ reason: 'BackendUnreachableFromPod', from: bad }),
    ]);
    await waitForEvent(client, ns, NAME, 'PodRestart', new RegExp(bad));
    await eventually(async () => ((await runningPods(ns)).length === 3 ? true : undefined), {
      what: 'the replacement running',
    });
  });

  it('restarts a pod that stopped answering its metrics while Running', async () => {
    const ns = namespaces.silent;
    await create(ns, {
      replicas: 2,
      remediation: { cooldownSeconds: 0, podRestart: { afterSeconds: 3 } },
    });
    const names = await rolledOut(ns, 2);
    const [silent, sibling] = names as [string, string];
    everyPod(ns, { busySlots: 0.5 }, names);
    await waitForStatus(
      client,
      ns,
      NAME,
      (o) => o.status?.load?.podsReporting === 2,
      'both pods read',
    );
    pods.pod(ns, silent).answer = 'hang';
    const done = await waitForStatus(
      client,
      ns,
      NAME,
      (o) => actions(o.status ?? {}, 'PodRestart').length === 1,
      'a restart of the silent pod',
      40_000,
    );
    expect(actions(done.status ?? {}, 'PodRestart')[0]).toMatchObject({
      reason: 'MetricsStopped',
      from: silent,
    });
    await eventually(
      async () =>
        (await runningPods(ns)).some((p) => p.metadata?.name === silent) ? undefined : true,
      { what: `pod ${silent} gone` },
    );
    expect((await runningPods(ns)).map((p) => p.metadata?.name)).toContain(sibling);
  });
});

describe('when the metrics are missing', () => {
  it('an older image (no load metrics): status says Unknown and why; nothing is done', async () => {
    const ns = namespaces.old;
    await create(ns, {
      replicas: 2,
      remediation: { cooldownSeconds: 0, scaleUp: { afterSeconds: 0 } },
    });
    const names = await rolledOut(ns, 2);
    for (const name of names) pods.pod(ns, name).answer = 'no-load-metrics';
    const unknown = await waitForStatus(
      client,
      ns,
      NAME,
      (o) =>
        o.status?.load?.state === 'Unknown' &&
        (o.status.load.pods ?? []).filter((p) => p.state === 'NoLoadMetrics').length === 2,
      'status.load Unknown, both pods NoLoadMetrics',
    );
    expect(unknown.status?.load?.message, JSON.stringify(unknown.status?.load)).toMatch(
      /^no pod's load metrics could be read \(.*lacks summary_queue_depth/,
    );
    expect(unknown.status?.load?.pods?.every((p) => p.state === 'NoLoadMetrics')).toBe(true);
    expect(condition(unknown, 'BackendSaturated')).toMatchObject({
      status: 'Unknown',
      reason: 'NoLoadMetrics',
    });
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await status(ns)).history ?? []).toEqual([]);
    expect((await getRow(ns)).row.LOAD).toBe('Unknown');
  });
});

describe('spec.lmstudio.maxConcurrency', () => {
  it('reaches the pods as LMSTUDIO_MAX_CONCURRENCY (the ConfigMap they load), and rolls them', async () => {
    const ns = namespaces.concurrency;
    await create(ns, {
      lmstudio: { externalName: '127.0.0.1', port: lmstudio.port, maxConcurrency: 2 },
    });
    await rolledOut(ns, 1);
    const config = await getChild(client, 'configMap', ns, `${NAME}-config`);
    expect(config.data?.LMSTUDIO_MAX_CONCURRENCY).toBe('2');
    const [pod] = await runningPods(ns);
    expect(pod?.spec?.containers[0]?.envFrom).toEqual([
      { configMapRef: { name: `${NAME}-config` } },
    ]);
    const hash = pod?.metadata?.annotations?.['llmplan.io/config-hash'];
    await patchSpec(ns, { lmstudio: { maxConcurrency: 8 } });
    await eventually(
      async () => {
        const [next] = await runningPods(ns);
        const annotation = next?.metadata?.annotations?.['llmplan.io/config-hash'];
        return annotation && annotation !== hash ? true : undefined;
      },
      { what: 'pods rolled with the new concurrency', timeoutMs: 60_000 },
    );
    expect(
      (await getChild(client, 'configMap', ns, `${NAME}-config`)).data?.LMSTUDIO_MAX_CONCURRENCY,
    ).toBe('8');
  });
});
