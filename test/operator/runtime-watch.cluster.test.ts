/**
 * operator/runtime's watcher and informer against the real API server, including the failures
 * they exist for: an expired resourceVersion (410), a watch that hangs silently, dropped
 * connections and an unreachable API server. Faults are injected by a plain TCP relay between
 * the client and the API server (TLS passes through untouched), never by faking the API.
 */
import { execFile } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  builtin,
  clientEventSink,
  EventRecorder,
  Informer,
  KubeClient,
  type KubeEvent,
  type KubeObject,
  Watcher,
  type WatcherEvent,
} from '../../operator/runtime/index.js';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.js';

/** A TCP relay to the API server that can freeze, drop or refuse connections. */
class FaultyRelay {
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #frozen = new Set<[Socket, Socket]>();
  #server: Server | undefined;
  refusing = false;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.#server = createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    return (this.#server.address() as { port: number }).port;
  }

  /** Existing connections go silent (stay open, pass nothing); new ones work. */
  freeze(): void {
    for (const pair of this.#pairs) {
      const [client, upstream] = pair;
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.#pairs.delete(pair);
      this.#frozen.add(pair);
    }
  }

  get connections(): number {
    return this.#pairs.size;
  }

  dropAll(): void {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    for (const [client, upstream] of this.#frozen) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((r) => this.#server?.close(() => r()) ?? r());
  }
}

const execFileAsync = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const clusterScript = path.join(root, 'hack/cluster/cluster.sh');

const kc = kubeConfig();
const admin = new KubeClient(kc, { fieldManager: 'runtime-test' });
let ns: { name: string; dispose: () => Promise<void> };
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  ns = await createTestNamespace(kc, 'rt-watch');
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(async () => {
  await ns?.dispose();
  await admin.close();
});

/** A client whose connections go through a fault-injecting relay. */
async function relayedClient(): Promise<{ client: KubeClient; relay: FaultyRelay }> {
  const cluster = kc.getCurrentCluster()!;
  const target = new URL(cluster.server);
  const relay = new FaultyRelay(target.hostname, Number(target.port || 443));
  const port = await relay.start();
  const relayed = new KubeConfig();
  relayed.loadFromOptions({
    clusters: [{ ...cluster, server: `https://${target.hostname}:${port}` }],
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
  });
  const client = new KubeClient(relayed);
  cleanup.push(
    () => client.close(),
    () => relay.close(),
  );
  return { client, relay };
}

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns.name, labels },
    data,
  }) as KubeObject;

const fastBackoff = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 };

async function metricValues(client: KubeClient, name: string) {
  const metric = await client.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values ?? [];
}

async function restarts(client: KubeClient, reason: string): Promise<number> {
  const values = await metricValues(client, 'runtime_watch_restarts_total');
  return values.filter((v) => v.labels.reason === reason).reduce((sum, v) => sum + v.value, 0);
}

function startInformer(
  client: KubeClient,
  options: ConstructorParameters<typeof Informer>[2] = {},
) {
  const informer = new Informer<KubeObject>(client, builtin.configMaps, {
    namespace: ns.name,
    backoff: fastBackoff,
    ...options,
  });
  const seen: string[] = [];
  informer.addHandler({
    onAdd: (o) => seen.push(`add:${o.metadata.name}`),
    onUpdate: (o, n) => {
      if (o !== n) seen.push(`update:${n.metadata.name}`);
    },
    onDelete: (o) => seen.push(`delete:${o.metadata.name}`),
  });
  informer.start();
  cleanup.push(() => informer.stop());
  return { informer, seen };
}

const names = (informer: Informer<KubeObject>) =>
  informer.store
    .list()
    .map((o) => o.metadata.name)
    .filter((n) => n !== 'kube-root-ca.crt')
    .sort();

describe('Informer on a real API server', () => {
  it('lists, then sees add, update and delete — only in its namespace and selector', async () => {
    await admin.create(builtin.configMaps, cm('pre', { sel: 'yes' }));
    const { informer, seen } = startInformer(admin, { labelSelector: 'sel=yes' });
    expect(await informer.waitForSync()).toBe(true);
    expect(names(informer)).toEqual(['pre']);
    await admin.create(builtin.configMaps, cm('new', { sel: 'yes' }));
    await admin.create(builtin.configMaps, cm('ignored', { sel: 'no' }));
    await admin.patch(builtin.configMaps, 'new', ns.name, { data: { x: '1' } });
    await admin.delete(builtin.configMaps, 'pre', ns.name);
    await eventually(async () => seen.includes('delete:pre'), { what: 'delete event' });
    expect(seen).toEqual(['add:pre', 'add:new', 'update:new', 'delete:pre']);
    expect(names(informer)).toEqual(['new']);
    expect(informer.store.get(ns.name, 'new')?.kind).toBe('ConfigMap');
  });

  // Needs etcd compacted, which only the local cluster lets a test do (a fresh cluster has
  // not reached kube-apiserver's first 5-minute compaction yet).
  it.skipIf(!inject('localCluster'))(
    'relists when the API server answers 410 Gone for a compacted resourceVersion',
    async () => {
      // Events have no watch cache in kube-apiserver: a watch goes to etcd, where revision 1 is
      // compacted just below, so this is the API server's genuine 410 "too old resource version".
      await execFileAsync(clusterScript, ['compact'], { cwd: root });
      const events: WatcherEvent<KubeObject>[] = [];
      const stop = new AbortController();
      const client = new KubeClient(kc);
      cleanup.push(() => client.close());
      const watcher = new Watcher<KubeObject>(client, builtin.events, {
        namespace: ns.name,
        initialResourceVersion: '1',
        backoff: fastBackoff,
      });
      const done = watcher.run(stop.signal, (e) => events.push(e));
      cleanup.push(async () => {
        stop.abort();
        await done;
      });
      await eventually(async () => events.some((e) => e.type === 'restarted'), {
        what: 'relist after 410',
      });
      const recorder = new EventRecorder({
        sink: clientEventSink(admin),
        reportingController: 'llmplan.io/runtime-test',
        reportingInstance: 'test',
      });
      const subject = await admin.create(builtin.configMaps, cm('subject'));
      recorder.record(subject, 'Normal', 'Tested', 'Test', 'after the relist');
      await recorder.flush();
      await eventually(
        async () =>
          events.some(
            (e) => e.type === 'applied' && (e.object as KubeEvent).regarding?.name === 'subject',
          ),
        { what: 'event after relist' },
      );
      expect(await restarts(client, 'relist')).toBe(1);
      expect(await restarts(client, 'error')).toBe(0);
      const watchEvents = await metricValues(client, 'runtime_watch_events_total');
      expect(watchEvents.find((v) => v.labels.type === 'ERROR')?.value).toBe(1);
    },
  );

  it('reconnects a watch that hangs silently, without relisting, and keeps delivering', async () => {
    const { client, relay } = await relayedClient();
    const { informer, seen } = startInformer(client, { inactivityTimeoutMs: 2000 });
    await informer.waitForSync();
    // An event proves the watch is established; then every open connection goes silent
    // without being closed, as behind a dead NAT entry or a stuck load balancer.
    await admin.create(builtin.configMaps, cm('before-hang'));
    await eventually(async () => seen.includes('add:before-hang'), { what: 'watch established' });
    relay.freeze();
    const frozenAt = performance.now();
    await admin.create(builtin.configMaps, cm('during-hang'));
    await eventually(async () => seen.includes('add:during-hang'), {
      what: 'event after the watchdog',
      timeoutMs: 15_000,
    });
    // It came over a new watch, after the watchdog gave up on the silent one.
    expect(performance.now() - frozenAt).toBeGreaterThanOrEqual(1500);
    expect(await restarts(client, 'inactivity')).toBeGreaterThanOrEqual(1);
    expect(await restarts(client, 'relist')).toBe(1); // only the initial list
  });

  it('survives dropped connections and an unreachable API server, converging afterwards', async () => {
    const { client, relay } = await relayedClient();
    await admin.create(builtin.configMaps, cm('keep'));
    await admin.create(builtin.configMaps, cm('doomed'));
    const { informer } = startInformer(client);
    await informer.waitForSync();
    expect(names(informer)).toEqual(expect.arrayContaining(['doomed', 'keep']));

    relay.refusing = true;
    relay.dropAll();
    await admin.delete(builtin.configMaps, 'doomed', ns.name);
    await admin.create(builtin.configMaps, cm('born-offline'));
    await admin.patch(builtin.configMaps, 'keep', ns.name, { data: { v: 'offline' } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await restarts(client, 'error')).toBeGreaterThanOrEqual(1);
    relay.refusing = false;

    const truth = async () =>
      (await admin.list(builtin.configMaps, { namespace: ns.name })).items
        .map((o) => o.metadata.name)
        .filter((n) => n !== 'kube-root-ca.crt')
        .sort();
    await eventually(
      async () => JSON.stringify(names(informer)) === JSON.stringify(await truth()),
      {
        what: 'cache converged after the outage',
        timeoutMs: 20_000,
      },
    );
    expect(
      (informer.store.get(ns.name, 'keep') as KubeObject & { data?: Record<string, string> }).data
        ?.v,
    ).toBe('offline');
  });

  it('resumes after the server ends the watch (timeoutSeconds)', async () => {
    const client = new KubeClient(kc);
    cleanup.push(() => client.close());
    const { informer, seen } = startInformer(client, { timeoutSecondsRange: [1, 1] });
    await informer.waitForSync();
    await eventually(async () => (await restarts(client, 'timeout')) >= 2, {
      what: 'two server timeouts',
      timeoutMs: 10_000,
    });
    await admin.create(builtin.configMaps, cm('after-timeouts'));
    await eventually(async () => seen.includes('add:after-timeouts'), {
      what: 'event after timeouts',
    });
    expect(await restarts(client, 'relist')).toBe(1);
  });
});

describe.skipIf(!inject('localCluster'))('Informer across an API server restart', () => {
  it('recovers and converges when the control plane restarts under it', async () => {
    const client = new KubeClient(kc);
    cleanup.push(() => client.close());
    await admin.create(builtin.configMaps, cm('before-restart'));
    const { informer, seen } = startInformer(client, { backoff: { ...fastBackoff, maxMs: 2000 } });
    await informer.waitForSync();
    await execFileAsync(clusterScript, ['restart', '1'], { cwd: root });
    await admin.create(builtin.configMaps, cm('after-restart'));
    await eventually(async () => seen.includes('add:after-restart'), {
      what: 'event after the restart',
      timeoutMs: 60_000,
    });
    expect(names(informer)).toEqual(expect.arrayContaining(['after-restart', 'before-restart']));
    expect(await restarts(client, 'error')).toBeGreaterThanOrEqual(1);
  });
});
