/**
 * The load monitor against real HTTP on loopback (test/support/fakes/pod-metrics.ts serves pages
 * written by the service's own metrics module): what each kind of pod gives, the bound on
 * scrapes in flight, timeouts, and "enqueue only when status.load should change".
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePodMetrics } from '../../test/support/fakes/pod-metrics.js';
import type { LoadStatus } from '../api/status.js';
import { type Request, silentLogger } from '../runtime/index.js';
import { LoadMonitor, type MonitoredResource } from './monitor.js';
import { scraperFor } from './scrape.js';

let fake: FakePodMetrics;
beforeAll(async () => {
  fake = await FakePodMetrics.start();
});
afterAll(async () => {
  await fake.stop();
});

function pod(namespace: string, name: string, over: Partial<V1Pod['status']> = {}): V1Pod {
  return {
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { containers: [{ name: 'summarizer', ports: [{ name: 'http', containerPort: 8000 }] }] },
    status: {
      phase: 'Running',
      podIP: '10.244.0.9',
      containerStatuses: [
        {
          name: 'summarizer',
          ready: true,
          restartCount: 0,
          image: 'x',
          imageID: '',
          state: { running: {} },
        },
      ],
      ...over,
    },
  };
}

function monitorOf(
  resources: MonitoredResource[],
  pods: Record<string, V1Pod[]>,
  options: { timeoutMs?: number; concurrency?: number } = {},
) {
  const enqueued: Request[] = [];
  const inner = scraperFor({ kind: 'proxy', baseUrl: fake.url });
  const scrapes = { inFlight: 0, max: 0 };
  const monitor = new LoadMonitor({
    resources: () => resources,
    pods: (r) => pods[r.name] ?? [],
    scraper: {
      description: inner.description,
      async scrape(target, timeoutMs) {
        scrapes.inFlight += 1;
        scrapes.max = Math.max(scrapes.max, scrapes.inFlight);
        try {
          return await inner.scrape(target, timeoutMs);
        } finally {
          scrapes.inFlight -= 1;
        }
      },
    },
    enqueue: (r) => enqueued.push(r),
    intervalMs: 1000,
    timeoutMs: options.timeoutMs ?? 2000,
    concurrency: options.concurrency ?? 4,
    logger: silentLogger,
  });
  return { monitor, enqueued, scrapes };
}

const resource = (name: string, reported?: LoadStatus): MonitoredResource => ({
  request: { namespace: 'ns', name },
  specReplicas: 2,
  podRestartAfterMs: 60_000,
  ...(reported ? { reported } : {}),
});

describe('LoadMonitor', () => {
  it('tells apart a pod that answers, an older image, a hung process and a pod not running', async () => {
    fake.pod('ns', 'a-ok');
    fake.pod('ns', 'a-old').answer = 'no-load-metrics';
    fake.pod('ns', 'a-404').answer = 'not-found';
    fake.pod('ns', 'a-hung').answer = 'hang';
    const { monitor } = monitorOf(
      [resource('a')],
      {
        a: [
          pod('ns', 'a-ok'),
          pod('ns', 'a-old'),
          pod('ns', 'a-404'),
          pod('ns', 'a-hung'),
          pod('ns', 'a-pending', { phase: 'Pending', podIP: undefined }),
        ],
      },
      { timeoutMs: 300 },
    );
    await monitor.round();
    const view = monitor.view({ namespace: 'ns', name: 'a' });
    const states = Object.fromEntries(
      (view?.status.pods ?? []).map((p) => [p.name, `${p.state}: ${p.message ?? ''}`]),
    );
    expect(states).toEqual({
      'a-ok': 'Calm: ',
      'a-old': expect.stringMatching(
        /^NoLoadMetrics: its \/metrics lacks summary_queue_depth, .*an image older than the load metrics$/,
      ),
      'a-404': 'NoLoadMetrics: GET /metrics answered 404',
      'a-hung': 'Unreachable: no answer within 300 ms',
      'a-pending': 'NotRunning: phase Pending',
    });
    expect(view?.status).toMatchObject({ state: 'Calm', podsReporting: 1 });
  });

  it('says Unknown, and why, when no pod can be read', async () => {
    fake.pod('ns', 'b-1').answer = 'no-load-metrics';
    const { monitor } = monitorOf([resource('b')], { b: [pod('ns', 'b-1')] });
    await monitor.round();
    const status = monitor.view({ namespace: 'ns', name: 'b' })?.status;
    expect(status?.state).toBe('Unknown');
    expect(status?.message).toMatch(
      /^no pod's load metrics could be read \(b-1: its \/metrics lacks/,
    );
  });

  it('keeps at most `concurrency` scrapes in flight, and a round bounded by the timeouts', async () => {
    const pods = Array.from({ length: 12 }, (_, i) => {
      fake.pod('ns', `c-${i}`).answer = 'hang';
      return pod('ns', `c-${i}`);
    });
    const { monitor, scrapes } = monitorOf(
      [resource('c')],
      { c: pods },
      { timeoutMs: 200, concurrency: 3 },
    );
    const started = performance.now();
    await monitor.round();
    const took = performance.now() - started;
    expect(scrapes.max).toBe(3);
    // 12 pods, 3 at a time, 200 ms each: 4 waves.
    expect(took).toBeGreaterThanOrEqual(750);
    expect(took).toBeLessThan(5_000);
    expect(
      monitor
        .view({ namespace: 'ns', name: 'c' })
        ?.status.pods?.every((p) => p.state === 'Unreachable'),
    ).toBe(true);
  });

  it('asks for a reconcile when status.load should change, and never while nothing changes', async () => {
    const resources = [resource('d')];
    fake.pod('ns', 'd-1');
    fake.pod('ns', 'd-2');
    const { monitor, enqueued } = monitorOf(resources, { d: [pod('ns', 'd-1'), pod('ns', 'd-2')] });
    await monitor.round();
    expect(enqueued).toEqual([{ namespace: 'ns', name: 'd' }]);
    // The reconcile writes it; from now on the cache has it.
    const written = monitor.view({ namespace: 'ns', name: 'd' })?.status;
    resources[0] = resource('d', written);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await monitor.round();
    }
    expect(enqueued).toHaveLength(1);
    expect(monitor.view({ namespace: 'ns', name: 'd' })?.status).toBe(written);

    // Both pods saturated: a new state is reported at once.
    for (const name of ['d-1', 'd-2']) {
      fake.pod('ns', name).set({ busySlots: 4, queued: 10, shedPerSecond: 20, waitSeconds: 2 });
    }
    await new Promise((r) => setTimeout(r, 300));
    await monitor.round();
    expect(enqueued).toHaveLength(2);
    expect(monitor.view({ namespace: 'ns', name: 'd' })?.status.state).toBe('Saturated');
  });

  it('forgets a resource that is gone', async () => {
    const resources = [resource('e')];
    const { monitor } = monitorOf(resources, { e: [] });
    await monitor.round();
    expect(monitor.view({ namespace: 'ns', name: 'e' })).toBeDefined();
    resources.pop();
    await monitor.round();
    expect(monitor.view({ namespace: 'ns', name: 'e' })).toBeUndefined();
  });
});

describe('scrapers', () => {
  it('pod-ip reads http://<ip>:<port>/metrics; a closed port is Unreachable with the reason', async () => {
    const scraper = scraperFor({ kind: 'pod-ip' });
    const ok = await scraper.scrape(
      { namespace: 'ns', name: 'x', ip: '127.0.0.1', port: fake.port },
      1000,
    );
    expect(ok.ok && ok.text).toMatch(/^# HELP/);
    const refused = await scraper.scrape(
      { namespace: 'ns', name: 'x', ip: '127.0.0.1', port: 9 },
      1000,
    );
    expect(refused).toEqual({
      ok: false,
      kind: 'unreachable',
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});
