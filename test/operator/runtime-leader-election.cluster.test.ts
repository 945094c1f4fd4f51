/**
 * operator/runtime's LeaderElector on a real coordination.k8s.io/v1 Lease: one leader at a
 * time, fast hand-over on release, takeover after a crash only once the lease expired, and a
 * leader that cannot renew steps down. Timings are shrunk (lease 3 s, renew 2 s, retry 0.3 s).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  builtin,
  KubeClient,
  LeaderElector,
  type LeaderElectorOptions,
  type Lease,
} from '../../operator/runtime/index.js';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.js';

const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };

const kc = kubeConfig();
const admin = new KubeClient(kc);
let ns: { name: string; dispose: () => Promise<void> };
const running: Array<{ stop: AbortController; done: Promise<unknown>; client: KubeClient }> = [];

beforeAll(async () => {
  ns = await createTestNamespace(kc, 'rt-lease');
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.stop.abort();
    await r.done;
    await r.client.close();
  }
});
afterAll(async () => {
  await ns?.dispose();
  await admin.close();
});

interface Candidate {
  elector: LeaderElector;
  client: KubeClient;
  stop: AbortController;
  done: Promise<{ lost: boolean }>;
  log: string[];
  leadership?: AbortSignal;
}

function candidate(
  identity: string,
  lease: string,
  extra: Partial<LeaderElectorOptions> = {},
): Candidate {
  const client = new KubeClient(kc);
  const log: string[] = [];
  const c: Partial<Candidate> = { client, log };
  c.elector = new LeaderElector({
    client,
    namespace: ns.name,
    name: lease,
    identity,
    ...timing,
    onStartedLeading: (signal) => {
      log.push('started');
      c.leadership = signal;
    },
    onStoppedLeading: () => log.push('stopped'),
    ...extra,
  });
  c.stop = new AbortController();
  c.done = c.elector.run(c.stop.signal);
  running.push({ stop: c.stop, done: c.done, client });
  return c as Candidate;
}

const getLease = (name: string) => admin.get<Lease>(builtin.leases, name, ns.name);

async function leaderStatus(client: KubeClient, lease: string): Promise<number | undefined> {
  const metric = await client.metrics.registry
    .getSingleMetric('leader_election_master_status')
    ?.get();
  return metric?.values.find((v) => v.labels.name === lease)?.value;
}

describe('LeaderElector on a real Lease', () => {
  it('elects exactly one of two candidates and records it in the Lease', async () => {
    const a = candidate('a', 'one');
    const b = candidate('b', 'one');
    const leader = await eventually(async () => [a, b].find((c) => c.elector.isLeader()), {
      what: 'a leader',
    });
    const other = leader === a ? b : a;
    for (let i = 0; i < 20; i++) {
      expect([a, b].filter((c) => c.elector.isLeader())).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(leader.elector.isLeader()).toBe(true);
    expect(other.log).toEqual([]);
    const lease = await getLease('one');
    expect(lease.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(3);
    expect(lease.spec?.acquireTime).toMatch(MICROTIME);
    expect(lease.spec?.renewTime).toMatch(MICROTIME);
    expect(await leaderStatus(leader.client, 'one')).toBe(1);
    expect(await leaderStatus(other.client, 'one')).toBe(0);
  });

  it('hands over within a few seconds when the leader releases on shutdown', async () => {
    const a = candidate('a', 'two');
    await eventually(async () => a.elector.isLeader(), { what: 'a leads' });
    const b = candidate('b', 'two');
    await new Promise((r) => setTimeout(r, 500));
    expect(b.elector.isLeader()).toBe(false);
    const transitions = (await getLease('two')).spec?.leaseTransitions ?? 0;

    const released = performance.now();
    a.stop.abort();
    expect(await a.done).toEqual({ lost: false });
    expect(a.log).toEqual(['started', 'stopped']);
    expect(a.leadership?.aborted).toBe(true);
    await eventually(async () => b.elector.isLeader(), { what: 'b takes over', intervalMs: 50 });
    const handover = performance.now() - released;
    // Without the release b would wait a full leaseDuration (3 s) after the last renewal.
    expect(handover).toBeLessThan(2500);
    const lease = await getLease('two');
    expect(lease.spec?.holderIdentity).toBe('b');
    expect(lease.spec?.leaseTransitions).toBe(transitions + 1);
    expect(await leaderStatus(a.client, 'two')).toBe(0);
  });

  it('after a crash (no release) a standby takes over only once the lease expired', async () => {
    const a = candidate('a', 'three', { releaseOnCancel: false });
    await eventually(async () => a.elector.isLeader(), { what: 'a leads' });
    const b = candidate('b', 'three');
    await new Promise((r) => setTimeout(r, 500));
    const crashed = performance.now();
    a.stop.abort(); // stops renewing, does not release: like kill -9
    await a.done;
    expect((await getLease('three')).spec?.holderIdentity).toBe('a');
    await eventually(async () => b.elector.isLeader(), {
      what: 'b takes over',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const takeover = performance.now() - crashed;
    expect(takeover).toBeGreaterThan(1500); // waited for the 3 s lease (minus time since a's last renewal)
    expect(takeover).toBeLessThan(6000);
  });

  it('a leader that cannot renew steps down and says so', async () => {
    const a = candidate('a', 'four');
    await eventually(async () => a.elector.isLeader(), { what: 'a leads' });
    // Someone else writes the lease (e.g. a partitioned leader's successor): a's renewals conflict.
    const lease = await getLease('four');
    const now = new Date().toISOString().replace('Z', '000Z');
    await admin.replace(builtin.leases, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60, renewTime: now },
    } as Lease);
    expect(await a.done).toEqual({ lost: true });
    expect(a.log).toEqual(['started', 'stopped']);
    expect(a.leadership?.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect((await getLease('four')).spec?.holderIdentity).toBe('intruder'); // not released over someone else
  });
});
