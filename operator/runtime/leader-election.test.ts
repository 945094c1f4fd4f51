import { describe, expect, it } from 'vitest';
import type { KubeClient } from './client.js';
import { LeaderElector, type Lease } from './leader-election.js';
import { RuntimeMetrics } from './metrics.js';
import type { ApplyObject } from './resource.js';

/**
 * A Lease held by a process that died: its renewTime never moves again. The stub client
 * answers reads with it and lets a replace through (the API server's part is covered by the
 * cluster test test/operator/runtime-leader-election.cluster.test.ts).
 */
function deadLeaderClient(): KubeClient {
  let lease: Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' },
    spec: {
      holderIdentity: 'dead-leader',
      leaseDurationSeconds: 1,
      renewTime: '2026-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    },
  };
  const stub = {
    metrics: new RuntimeMetrics(),
    find: async () => structuredClone(lease),
    replace: async (_resource: unknown, obj: ApplyObject) => {
      lease = {
        ...(obj as Lease),
        metadata: { ...(obj as Lease).metadata, resourceVersion: String(Math.random()) },
      };
      return structuredClone(lease);
    },
  };
  return stub as unknown as KubeClient;
}

describe('LeaderElector', () => {
  it('a standby takes an expired lease at its expiry, not up to a jittered retry later', async () => {
    // leaseDuration 1 s, retryPeriod 400 ms: client-go's jitter alone sleeps 400–880 ms, so
    // without waking at the expiry, a takeover lands anywhere in 1.0–1.9 s.
    const takeovers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const started = performance.now();
        const stop = new AbortController();
        const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(5000)]);
        let tookOverAfter = Number.NaN;
        const elector = new LeaderElector({
          client: deadLeaderClient(),
          namespace: 'ns',
          name: 'l',
          identity: 'standby',
          leaseDurationMs: 1000,
          renewDeadlineMs: 800,
          retryPeriodMs: 400,
          releaseOnCancel: false,
          onStartedLeading: () => {
            tookOverAfter = performance.now() - started;
          },
        });
        const done = elector.run(signal);
        while (Number.isNaN(tookOverAfter) && !signal.aborted) {
          await new Promise((r) => setTimeout(r, 5));
        }
        expect(elector.isLeader()).toBe(true);
        stop.abort();
        await done;
        return { tookOverAfter };
      }),
    );
    for (const { tookOverAfter } of takeovers) {
      // The first read starts the clock (the lease was never seen renewed): expiry at 1 s.
      expect(tookOverAfter).toBeGreaterThanOrEqual(1000);
      expect(tookOverAfter).toBeLessThan(1150);
    }
  });
});
