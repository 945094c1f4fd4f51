/**
 * Two and more operator processes on one Lease (the real one: 15 s / 10 s / 2 s), each under
 * deploy/'s RBAC: exactly one acts; `kill -9` of the leader → a standby takes over within
 * 20 s (measured); SIGTERM of the leader → it releases the Lease and a standby takes over at
 * once. The tests run in order and share the processes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KIND } from '../../operator/api/summarizerservice.js';
import { builtin, type KubeClient, type Lease } from '../../operator/runtime/index.js';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.js';
import {
  installOperatorRbac,
  OPERATOR_NAMESPACE,
  type OperatorProcess,
  operatorKubeconfig,
  type StartOptions,
  startOperator,
  sumMetric,
} from '../support/operator-harness.js';
import {
  adminClient,
  createSummarizerService,
  eventsAbout,
  expectNoForbidden,
  summarizerService,
  waitForChild,
} from '../support/sumsvc.js';

/** The bound issue 4 sets for a takeover after the leader is killed. */
const CRASH_TAKEOVER_BOUND_MS = 20_000;
const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

const kc = kubeConfig();
const leaseName = `llmplan-it-le-${randomBytes(3).toString('hex')}`;
let client: KubeClient;
let ns: { name: string; dispose: () => Promise<void> };
let kubeconfig: string;
const operators = new Map<string, OperatorProcess>();

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  ns = await createTestNamespace(kc, 'op-leader');
  kubeconfig = await operatorKubeconfig();
});

afterAll(async () => {
  for (const op of operators.values()) await op.stop('SIGKILL');
  await client?.delete(builtin.leases, leaseName, OPERATOR_NAMESPACE, { ignoreNotFound: true });
  await ns?.dispose();
  await client?.close();
});

async function start(identity: string): Promise<OperatorProcess> {
  const options: StartOptions = {
    namespaces: [ns.name],
    leaderElect: true,
    leaseName,
    identity,
    kubeconfig,
  };
  const op = await startOperator(options);
  operators.set(identity, op);
  return op;
}

async function isLeader(op: OperatorProcess): Promise<boolean> {
  return (await op.metricValue('leader_election_master_status', { name: leaseName })) === 1;
}

async function lease(): Promise<Lease> {
  return client.get<Lease>(builtin.leases, leaseName, OPERATOR_NAMESPACE);
}

/** Creates a resource and waits for its Deployment; returns who reported the Events. */
async function reconciledBy(name: string): Promise<Set<string>> {
  await createSummarizerService(client, summarizerService(ns.name, name, {}));
  await waitForChild(client, 'deployment', ns.name, name, () => true, 'created by the leader');
  const events = await eventually(
    async () => {
      const all = await eventsAbout(client, ns.name, KIND, name);
      return all.filter((e) => e.reason === 'Created').length >= 4 ? all : undefined;
    },
    { what: `Created events about ${name}` },
  );
  return new Set(events.map((e) => e.reportingInstance));
}

function created(op: OperatorProcess, name: string): boolean {
  return op.logs.some((l) => l.msg === 'created child' && l.name === name);
}

/** Polls (every 100 ms) until `op` leads; the time it took from `since`. */
async function takeoverMs(op: OperatorProcess, since: number, timeoutMs: number) {
  await eventually(() => isLeader(op), { what: 'the standby to lead', timeoutMs, intervalMs: 100 });
  return performance.now() - since;
}

describe('leader election', () => {
  it('two processes on one Lease: exactly one acts', async () => {
    const a = await start('op-a');
    await eventually(() => isLeader(a), { what: 'op-a to lead', timeoutMs: 20_000 });
    const b = await start('op-b');
    // The standby is ready (warm caches, so a rollout never kills it) but does not lead.
    expect((await fetch(`${b.healthUrl}/readyz`)).ok).toBe(true);

    const reporters = await reconciledBy('one');
    expect([...reporters]).toEqual(['op-a']);
    expect((await lease()).spec?.holderIdentity).toBe('op-a');
    // A few renewals later the standby still has done nothing but read the Lease.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await isLeader(a)).toBe(true);
    expect(await isLeader(b)).toBe(false);
    const standby = await b.metrics();
    expect(
      sumMetric(standby, 'controller_runtime_reconcile_total', { controller: 'summarizerservice' }),
    ).toBe(0);
    expect(
      WRITE_METHODS.map((method) => sumMetric(standby, 'rest_client_requests_total', { method })),
    ).toEqual([0, 0, 0, 0]);
    expect(sumMetric(standby, 'rest_client_requests_total', { method: 'GET' })).toBeGreaterThan(0);
    expect(created(a, 'one')).toBe(true);
    expect(created(b, 'one')).toBe(false);
    expect(b.logs.some((l) => l.msg === 'new leader observed' && l.leader === 'op-a')).toBe(true);
  });

  it('kill -9 of the leader: the standby takes over within 20 s and reconciles', async () => {
    const a = operators.get('op-a');
    const b = operators.get('op-b');
    if (!a || !b) throw new Error('the previous test did not start both processes');
    const before = await lease();
    const killedAt = performance.now();
    await a.stop('SIGKILL');
    const elapsed = await takeoverMs(b, killedAt, CRASH_TAKEOVER_BOUND_MS + 5_000);
    console.info(`takeover after SIGKILL of the leader: ${(elapsed / 1000).toFixed(1)} s`);
    expect(elapsed).toBeLessThan(CRASH_TAKEOVER_BOUND_MS);
    // Not before the lease (15 s) could have expired: no split brain.
    expect(elapsed).toBeGreaterThan(10_000);
    const after = await lease();
    expect(after.spec?.holderIdentity).toBe('op-b');
    expect(after.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);

    expect([...(await reconciledBy('two'))]).toEqual(['op-b']);
    expect(created(b, 'two')).toBe(true);
  });

  it('SIGTERM of the leader: the Lease is released and a standby takes over at once', async () => {
    const b = operators.get('op-b');
    if (!b) throw new Error('no leader from the previous test');
    const c = await start('op-c');
    await eventually(
      async () =>
        c.logs.some((l) => l.msg === 'new leader observed' && l.leader === 'op-b') &&
        !(await isLeader(c)),
      { what: 'op-c standing by' },
    );
    const stoppedAt = performance.now();
    expect(await b.stop('SIGTERM')).toBe(0);
    expect(b.logs.some((l) => l.msg === 'released the lease')).toBe(true);
    // A released Lease is taken at the standby's next attempt (a jittered 2–4.4 s).
    const elapsed = await takeoverMs(c, stoppedAt, 10_000);
    console.info(`takeover after SIGTERM of the leader: ${(elapsed / 1000).toFixed(1)} s`);
    expect(elapsed).toBeLessThan(6_000);
    expect((await lease()).spec?.holderIdentity).toBe('op-c');
    expect([...(await reconciledBy('three'))]).toEqual(['op-c']);
    for (const op of operators.values()) expectNoForbidden(op);
  });
});
