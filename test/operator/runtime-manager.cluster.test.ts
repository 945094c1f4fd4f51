/**
 * operator/runtime's Manager end to end on the real API server, with a tiny generic
 * controller (each labelled ConfigMap gets an owned "-copy"): caches, leader election, owned
 * watches, events, /metrics and probes, zero idle writes, and a graceful hand-over.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyIfNeeded,
  builtin,
  CONTROLLER_OWNER_UID_INDEX,
  type EventRecorder,
  indexByControllerOwnerUid,
  KubeClient,
  type KubeEvent,
  type KubeObject,
  Manager,
  type Reconciler,
} from '../../operator/runtime/index.js';
import { createTestNamespace, eventually, kubeConfig, kubeconfigPath } from '../support/kube.js';

const root = path.resolve(import.meta.dirname, '../..');

type ConfigMap = KubeObject & { data?: Record<string, string> };

const kc = kubeConfig();
const admin = new KubeClient(kc, { fieldManager: 'runtime-test-admin' });
let ns: { name: string; dispose: () => Promise<void> };
const started: Running[] = [];

beforeAll(async () => {
  ns = await createTestNamespace(kc, 'rt-mgr');
});
afterAll(async () => {
  // A failed test must not leave managers running (and holding the worker open).
  for (const r of started) {
    r.manager.stop();
    await r.done.catch(() => undefined);
  }
  await ns?.dispose();
  await admin.close();
});

interface Running {
  manager: Manager;
  done: Promise<void>;
  reconciles: string[];
  slowFinished: boolean;
  get: (path: string) => Promise<{ status: number; body: string }>;
}

async function startManager(identity: string): Promise<Running> {
  const manager = new Manager({
    kubeConfig: kc,
    client: { fieldManager: 'runtime-test-copier' },
    bindAddress: '127.0.0.1:0',
    leaderElection: {
      namespace: ns.name,
      name: 'copier',
      identity,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 300,
    },
    handleSignals: false,
    gracefulShutdownTimeoutMs: 5000,
    informerDefaults: { resyncPeriodMs: 1000 },
  });
  const sources = manager.informer<ConfigMap>(builtin.configMaps, {
    namespace: ns.name,
    labelSelector: 'runtime-test/source=true',
  });
  const copies = manager.informer<ConfigMap>(builtin.configMaps, {
    namespace: ns.name,
    labelSelector: 'runtime-test/copy=true',
    indexers: { [CONTROLLER_OWNER_UID_INDEX]: indexByControllerOwnerUid },
  });
  const events: EventRecorder = manager.eventRecorder('llmplan.io/runtime-test');
  const running: Partial<Running> = { reconciles: [], slowFinished: false };
  const reconciler: Reconciler = {
    async reconcile(request) {
      running.reconciles!.push(request.name);
      const source = sources.store.get(request.namespace, request.name);
      if (!source) return;
      if (source.metadata.labels?.slow === 'true') {
        await new Promise((r) => setTimeout(r, 1000));
        running.slowFinished = true;
      }
      const desired: ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `${request.name}-copy`,
          namespace: request.namespace,
          labels: { 'runtime-test/copy': 'true' },
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: request.name,
              uid: source.metadata.uid!,
              controller: true,
            },
          ],
        },
        data: source.data ?? {},
      };
      const live = copies.store.byIndex(CONTROLLER_OWNER_UID_INDEX, source.metadata.uid!)[0];
      const result = await applyIfNeeded(manager.client, builtin.configMaps, desired, live);
      if (result.applied)
        events.record(
          source,
          'Normal',
          'Copied',
          'Apply',
          `applied ${desired.metadata.name} (${result.difference})`,
        );
    },
  };
  manager.addController({
    name: 'copier',
    reconciler,
    for: sources,
    owns: [copies],
    maxConcurrentReconciles: 2,
  });
  running.manager = manager;
  running.done = manager.start();
  await eventually(async () => manager.address, { what: 'server listening' });
  const { port } = manager.address!;
  running.get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  started.push(running as Running);
  return running as Running;
}

async function writes(manager: Manager): Promise<number> {
  const metric = await manager.metrics.registry
    .getSingleMetric('rest_client_requests_total')
    ?.get();
  // Lease renewals are PUTs; everything the controller writes is PATCH (apply), POST or DELETE.
  return (metric?.values ?? [])
    .filter((v) => ['PATCH', 'POST', 'DELETE'].includes(String(v.labels.method)))
    .reduce((sum, v) => sum + v.value, 0);
}

const source = (
  name: string,
  data: Record<string, string>,
  labels: Record<string, string> = {},
): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns.name, labels: { 'runtime-test/source': 'true', ...labels } },
  data,
});

describe('Manager', () => {
  let a: Running;
  let b: Running;

  it('syncs caches, leads, and reconciles: owned children, events, metrics', async () => {
    await admin.create(builtin.configMaps, source('alpha', { k: '1' }));
    a = await startManager('manager-a');
    await eventually(async () => (await a.get('/readyz')).status === 200, { what: 'ready' });
    await eventually(async () => a.manager.isLeader(), { what: 'a leads' });
    const copy = await eventually(
      () => admin.find<ConfigMap>(builtin.configMaps, 'alpha-copy', ns.name),
      { what: 'copy of alpha' },
    );
    expect(copy.data).toEqual({ k: '1' });
    expect(copy.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'ConfigMap',
      name: 'alpha',
      controller: true,
    });
    expect(
      copy.metadata.managedFields?.some(
        (f) => f.manager === 'runtime-test-copier' && f.operation === 'Apply',
      ),
    ).toBe(true);

    const recorded = await eventually(
      async () => {
        const list = await admin.list<KubeEvent>(builtin.events, { namespace: ns.name });
        return list.items.find((e) => e.reason === 'Copied' && e.regarding.name === 'alpha');
      },
      { what: 'Copied event' },
    );
    expect(recorded).toMatchObject({
      type: 'Normal',
      action: 'Apply',
      reportingController: 'llmplan.io/runtime-test',
    });
    expect(recorded.reportingInstance).toBe('manager-a');

    const metrics = (await a.get('/metrics')).body;
    expect(metrics).toMatch(/leader_election_master_status\{name="copier"\} 1/);
    expect(metrics).toMatch(
      /controller_runtime_reconcile_total\{controller="copier",result="success"\} \d+/,
    );
    expect(metrics).toMatch(
      /controller_runtime_max_concurrent_reconciles\{controller="copier"\} 2/,
    );
    expect(metrics).toMatch(/workqueue_adds_total\{controller="copier",name="copier"\} \d+/);
    expect(metrics).toMatch(/rest_client_requests_total\{code="200",method="GET"\} \d+/);
    expect(metrics).toContain('process_resident_memory_bytes');
    expect((await a.get('/healthz')).status).toBe(200);
  });

  it('writes nothing while idle, though it keeps reconciling (resync)', async () => {
    await eventually(async () => a.reconciles.length > 0, { what: 'settled' });
    await new Promise((r) => setTimeout(r, 500));
    const before = await writes(a.manager);
    const reconcilesBefore = a.reconciles.length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(a.reconciles.length - reconcilesBefore).toBeGreaterThanOrEqual(2);
    expect(await writes(a.manager)).toBe(before);
  });

  it('puts a hand-edited child back (owned watch → owner reconciled)', async () => {
    await admin.patch(builtin.configMaps, 'alpha-copy', ns.name, { data: { k: 'hand-edited' } });
    await eventually(
      async () =>
        (await admin.get<ConfigMap>(builtin.configMaps, 'alpha-copy', ns.name)).data?.k === '1',
      {
        what: 'copy restored',
      },
    );
  });

  it('a standby is ready but does not reconcile', async () => {
    b = await startManager('manager-b');
    await eventually(async () => (await b.get('/readyz')).status === 200, {
      what: 'standby ready',
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.manager.isLeader()).toBe(false);
    expect(b.reconciles).toEqual([]);
    expect((await b.get('/metrics')).body).toMatch(
      /leader_election_master_status\{name="copier"\} 0/,
    );
  });

  it('on stop drains the in-flight reconcile, releases the lease, and the standby takes over', async () => {
    await admin.create(builtin.configMaps, source('slow', { s: '1' }, { slow: 'true' }));
    await eventually(async () => a.reconciles.includes('slow'), { what: 'slow reconcile started' });
    const stopped = performance.now();
    a.manager.stop();
    await a.done;
    expect(a.slowFinished).toBe(true); // drained, not abandoned
    expect(a.manager.isLeader()).toBe(false);
    await expect(a.get('/healthz')).rejects.toThrow(); // server closed

    await eventually(async () => b.manager.isLeader(), { what: 'b leads', intervalMs: 50 });
    expect(performance.now() - stopped).toBeLessThan(5000);
    const lease = await admin.get<KubeObject & { spec: { holderIdentity: string } }>(
      builtin.leases,
      'copier',
      ns.name,
    );
    expect(lease.spec.holderIdentity).toBe('manager-b');

    await admin.create(builtin.configMaps, source('beta', { k: '2' }));
    const copy = await eventually(
      () => admin.find<ConfigMap>(builtin.configMaps, 'beta-copy', ns.name),
      { what: 'b copies beta' },
    );
    expect(copy.data).toEqual({ k: '2' });
    b.manager.stop();
    await b.done;
  });
});

/** A manager in its own process, so a real SIGTERM can be sent; exits by itself when done. */
const CHILD = `
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { builtin, Manager } from './operator/runtime/index.ts';
const kc = new KubeConfig();
kc.loadFromFile(process.env.KC);
const manager = new Manager({
  kubeConfig: kc,
  logger: pino(),
  bindAddress: '127.0.0.1:0',
  leaderElection: { namespace: process.env.NS, name: 'sigterm', identity: 'child', retryPeriodMs: 500 },
  gracefulShutdownTimeoutMs: 5000,
});
const configMaps = manager.informer(builtin.configMaps, { namespace: process.env.NS });
manager.addController({ name: 'noop', for: configMaps, reconciler: { async reconcile() {} } });
const done = manager.start();
const poll = setInterval(() => {
  if (manager.isLeader()) {
    clearInterval(poll);
    console.log(JSON.stringify({ msg: 'TEST-LEADING' }));
  }
}, 50);
await done;
`;

describe('Manager process', () => {
  it('on SIGTERM shuts down cleanly, releases the lease and exits 0 on its own', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: root,
      env: { ...process.env, KC: kubeconfigPath(), NS: ns.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      await eventually(async () => lines.some((l) => l.includes('TEST-LEADING')), {
        what: `child leads (stderr: ${stderr})`,
        timeoutMs: 60_000,
      });
      const lease = await admin.get<KubeObject & { spec: { holderIdentity: string } }>(
        builtin.leases,
        'sigterm',
        ns.name,
      );
      expect(lease.spec.holderIdentity).toBe('child');
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise((r) => setTimeout(() => r('hung'), 20_000)),
      ]);
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const released = await admin.get<
      KubeObject & { spec: { holderIdentity?: string; leaseDurationSeconds: number } }
    >(builtin.leases, 'sigterm', ns.name);
    expect(released.spec.holderIdentity ?? '').toBe('');
    expect(released.spec.leaseDurationSeconds).toBe(1);
    const logs = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.every((l) => l.startsWith('{'))).toBe(true); // structured JSON only
    const messages = logs.map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        'signal received: shutting down gracefully',
        'released the lease',
        'shutdown complete',
      ]),
    );
  });
});
