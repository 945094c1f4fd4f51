/**
 * The operator under faults, as a real process under deploy/'s RBAC: SIGKILL in the middle
 * of a burst of creations and a restart (converges, exactly one of each child, no orphan);
 * the whole control plane restarted under it (it recovers and reconciles what changed
 * after); SIGTERM while a reconcile is in flight (it finishes, then exit 0). The tests run
 * in order and share the second operator process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABELS, MANAGER } from '../../operator/api/labels.js';
import {
  builtin,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
} from '../../operator/runtime/index.js';
import { FakeLmStudio } from '../support/fakes/lmstudio.js';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  operatorKubeconfig,
  startOperator,
} from '../support/operator-harness.js';
import {
  adminClient,
  condition,
  createSummarizerService,
  expectNoForbidden,
  forbiddenLines,
  getSummarizerService,
  kinds,
  listAll,
  patchSpec,
  type SummarizerServiceObject,
  summarizerService,
  waitForChild,
  waitForStatus,
} from '../support/sumsvc.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const BURST = 20;
const names = Array.from({ length: BURST }, (_, i) => `burst-${String(i).padStart(2, '0')}`);

const kc = kubeConfig();
let client: KubeClient;
let ns: { name: string; dispose: () => Promise<void> };
let kubeconfig: string;
/** The operator that survives the first test and lives through the API server restart. */
let operator: OperatorProcess | undefined;
const started: OperatorProcess[] = [];

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  ns = await createTestNamespace(kc, 'op-resilience');
  kubeconfig = await operatorKubeconfig();
});

afterAll(async () => {
  for (const op of started) await op.stop('SIGKILL');
  await ns?.dispose();
  await client?.close();
});

async function start(env: Record<string, string> = {}): Promise<OperatorProcess> {
  const op = await startOperator({ namespaces: [ns.name], kubeconfig, env });
  started.push(op);
  return op;
}

/** Children each burst resource must own: two replicas, so a PDB too. */
const EXPECTED: [ResourceDescriptor, (crName: string) => string][] = [
  [kinds.serviceAccount, (n) => n],
  [kinds.configMap, (n) => `${n}-config`],
  [kinds.service, (n) => n],
  [kinds.deployment, (n) => n],
  [kinds.pdb, (n) => n],
];

function controllerUid(obj: KubeObject): string | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true)?.uid;
}

describe('SIGKILL mid-reconcile, then a restart', () => {
  it('converges with exactly one of each child and no orphan', async () => {
    const first = await start();
    await Promise.all(
      names.map((name) =>
        createSummarizerService(client, summarizerService(ns.name, name, { replicas: 2 })),
      ),
    );
    const createdChildren = () => first.logs.filter((l) => l.msg === 'created child').length;
    await first.waitForLog(() => createdChildren() >= 10, 'ten children created', 30_000);
    expect(await first.stop('SIGKILL')).toBeNull();
    const atKill = createdChildren();
    console.info(`killed after ${atKill} of ${BURST * EXPECTED.length} child creations`);
    expect(atKill).toBeLessThan(BURST * EXPECTED.length);

    const restartedAt = performance.now();
    operator = await start();
    for (const name of names) {
      await waitForStatus(
        client,
        ns.name,
        name,
        (o) =>
          condition(o, 'Ready')?.status === 'True' &&
          condition(o, 'Progressing')?.reason === 'RolloutComplete',
        `${name} rolled out`,
        90_000,
      );
    }
    console.info(
      `converged ${BURST} resources ${((performance.now() - restartedAt) / 1000).toFixed(1)} s after the restart`,
    );

    const owners = new Map<string, SummarizerServiceObject>();
    for (const name of names) owners.set(name, await getSummarizerService(client, ns.name, name));
    const uids = new Set([...owners.values()].map((o) => o.metadata.uid));

    for (const [resource, childName] of EXPECTED) {
      const objects = (await listAll(client, resource, ns.name)).filter(
        (o) => o.metadata.labels?.[LABELS.managedBy] === MANAGER,
      );
      // Exactly the expected names, once each, each controlled by its own resource.
      expect(objects.map((o) => o.metadata.name).sort(), resource.kind).toEqual(
        names.map(childName).sort(),
      );
      for (const obj of objects) {
        const owner = owners.get(obj.metadata.labels?.[LABELS.instance] ?? '');
        expect(controllerUid(obj), `${obj.kind} ${obj.metadata.name}`).toBe(owner?.metadata.uid);
        expect(obj.metadata.ownerReferences).toHaveLength(1);
      }
    }
    // No HPA or Ingress was ever wanted; nothing left behind by the killed process.
    for (const resource of [kinds.hpa, kinds.ingress]) {
      expect(await listAll(client, resource, ns.name)).toEqual([]);
    }
    // One ReplicaSet per Deployment (no spurious rollout) and exactly the replicas asked for.
    const deployments = (await listAll(client, kinds.deployment, ns.name)) as (KubeObject &
      V1Deployment)[];
    const replicaSets = await listAll(client, builtin.replicaSets, ns.name);
    const pods = await listAll(client, builtin.pods, ns.name);
    for (const d of deployments) {
      expect(uids.has(controllerUid(d))).toBe(true);
      expect(d.metadata.generation, d.metadata.name).toBe(1);
      const sets = replicaSets.filter((rs) => controllerUid(rs) === d.metadata.uid);
      expect(sets, d.metadata.name).toHaveLength(1);
      const setUid = sets[0]?.metadata.uid;
      expect(pods.filter((p) => controllerUid(p) === setUid)).toHaveLength(2);
    }
    expectNoForbidden(first);
    expectNoForbidden(operator);
  });
});

describe.skipIf(!inject('localCluster'))('API server restarted under a running operator', () => {
  it('recovers, and reconciles changes made after the restart', async () => {
    const op = operator ?? (await start());
    const watchRestartsBefore = await op.metricValue('runtime_watch_restarts_total');
    const logsBefore = op.logs.length;
    await run(path.join(root, 'hack/cluster/cluster.sh'), ['restart', '2'], {
      cwd: root,
      env: process.env,
    });
    // Still the same process, still healthy.
    expect(op.child.exitCode).toBeNull();
    await eventually(async () => (await fetch(`${op.healthUrl}/healthz`)).ok, {
      what: 'operator /healthz',
    });

    await patchSpec(client, ns.name, 'burst-00', { image: { tag: 'after-restart' } });
    await waitForChild(
      client,
      'deployment',
      ns.name,
      'burst-00',
      (d) => d.spec?.template.spec?.containers[0]?.image?.endsWith(':after-restart') === true,
      'the new image after the restart',
      60_000,
    );
    await createSummarizerService(client, summarizerService(ns.name, 'after-restart', {}));
    await waitForStatus(
      client,
      ns.name,
      'after-restart',
      (o) => condition(o, 'Ready')?.status === 'True',
      'a resource created after the restart Ready',
      60_000,
    );
    // Its watches were cut and resumed (not a fresh process that merely started later).
    expect(await op.metricValue('runtime_watch_restarts_total')).toBeGreaterThan(
      watchRestartsBefore,
    );
    expect(op.child.exitCode).toBeNull();
    // A restarted API server answers before its RBAC caches are warm: the operator's
    // list/watch calls were refused for a moment and backed off. Nothing else was refused.
    const refused = forbiddenLines(op.logs.slice(logsBefore));
    expect(new Set(refused.map((l) => l.msg))).toEqual(
      new Set(refused.length > 0 ? ['list/watch failed; backing off'] : []),
    );
    expect(
      new Set(refused.map((l) => (l.err as { request?: { method?: string } }).request?.method)),
    ).toEqual(new Set(refused.length > 0 ? ['GET'] : []));
    const settled = op.logs.length;
    await new Promise((r) => setTimeout(r, 2000));
    expectNoForbidden(op, settled);
  });
});

describe('SIGTERM', () => {
  it('drains the reconcile in flight, then exits 0', async () => {
    // Kept apart from the others: its only resource waits 2 s on a slow LM Studio.
    await operator?.stop('SIGTERM');
    const slow = await FakeLmStudio.start({ latencyMs: 2000 });
    try {
      const op = await start();
      await createSummarizerService(
        client,
        summarizerService(ns.name, 'draining', {
          lmstudio: { externalName: '127.0.0.1', port: slow.port, serviceName: 'draining-lm' },
        }),
      );
      // The reconcile is in flight: its probe of LM Studio has arrived and waits for an answer.
      await eventually(async () => slow.stats.modelsCalls >= 1, { what: 'the backend probe' });
      const signalledAt = performance.now();
      expect(await op.stop('SIGTERM')).toBe(0);
      const tookMs = performance.now() - signalledAt;
      // It waited for the probe's answer and wrote the status computed from it.
      expect(tookMs).toBeGreaterThan(1000);
      const cr = await getSummarizerService(client, ns.name, 'draining');
      expect(condition(cr, 'BackendReachable')?.status).toBe('True');
      expect(cr.status?.observedGeneration).toBe(cr.metadata.generation);
      expect(op.logs.some((l) => l.msg === 'signal received: shutting down gracefully')).toBe(true);
      expect(op.logs.some((l) => l.msg === 'controller stopped' && l.drained === true)).toBe(true);
      expectNoForbidden(op);
    } finally {
      await slow.stop();
    }
  });
});
