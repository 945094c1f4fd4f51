/**
 * The watcher and informer against a scripted HTTP server that speaks the list/watch wire
 * protocol. Only these failure shapes (silence, 410s, dropped sockets) need a script; the same
 * behaviour against a real API server is covered in test/operator/runtime-*.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from './client.js';
import { Informer } from './informer.js';
import type { KubeObject } from './resource.js';
import { builtin } from './resource.js';
import { CONTROLLER_OWNER_UID_INDEX, indexByControllerOwnerUid } from './store.js';
import { Watcher, type WatcherEvent } from './watcher.js';

type Script = (res: ServerResponse, url: URL, req: IncomingMessage) => void;

const cm = (name: string, rv: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv, uid: `uid-${name}`, ...extra },
});

function send(res: ServerResponse, type: string, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

class ScriptedApiServer {
  readonly lists: URL[] = [];
  readonly watches: URL[] = [];
  listScripts: Script[] = [];
  watchScripts: Script[] = [];
  items: KubeObject[] = [];
  listVersion = '10';
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  async start(): Promise<KubeClient> {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('watch') === 'true') {
        this.watches.push(url);
        const script = this.watchScripts.shift() ?? hang;
        script(res, url, req);
        return;
      }
      this.lists.push(url);
      const script = this.listScripts.shift();
      if (script) return script(res, url, req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'ConfigMapList',
          metadata: { resourceVersion: this.listVersion },
          items: this.items,
        }),
      );
    });
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    const { port } = this.#server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return new KubeClient(kc);
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}

/** Headers, then silence: the hang a watchdog exists for. */
const hang: Script = (res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
};

const tinyBackoff = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 };

async function until(probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let api: ScriptedApiServer;
let stop: AbortController;
afterEach(async () => {
  stop?.abort();
  await api?.stop();
});

async function startWatcher(options: ConstructorParameters<typeof Watcher>[2] = {}) {
  api = new ScriptedApiServer();
  const client = await api.start();
  stop = new AbortController();
  const events: WatcherEvent<KubeObject>[] = [];
  const watcher = new Watcher<KubeObject>(client, builtin.configMaps, {
    namespace: 'ns',
    backoff: tinyBackoff,
    ...options,
  });
  const done = watcher.run(stop.signal, (e) => events.push(e));
  return { client, events, done };
}

describe('Watcher', () => {
  it('lists, streams events in order, and resumes from the last bookmark', async () => {
    const setup = startWatcher({ timeoutSecondsRange: [300, 600] });
    // Scripts must be in place before the watcher's first request.
    await new Promise((r) => setTimeout(r, 0));
    const { events, client, done } = await setup.then((s) => {
      api.items = [cm('a', '9')];
      api.watchScripts.push((res) => {
        res.writeHead(200);
        send(res, 'ADDED', cm('b', '11'));
        send(res, 'MODIFIED', cm('a', '12'));
        send(res, 'DELETED', cm('b', '13'));
        send(res, 'BOOKMARK', {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: { resourceVersion: '15' },
        });
        res.end(); // the server-side timeout
      });
      return s;
    });
    await until(() => api.watches.length >= 2);
    stop.abort();
    await done;
    expect(
      events.map((e) =>
        e.type === 'restarted'
          ? `restarted:${e.objects.length}`
          : `${e.type}:${e.object.metadata.name}@${e.object.metadata.resourceVersion}`,
      ),
    ).toEqual(['restarted:1', 'applied:b@11', 'applied:a@12', 'deleted:b@13']);
    const first = api.watches[0]!;
    expect(first.pathname).toBe('/api/v1/namespaces/ns/configmaps');
    expect(first.searchParams.get('resourceVersion')).toBe('10');
    expect(first.searchParams.get('allowWatchBookmarks')).toBe('true');
    const timeout = Number(first.searchParams.get('timeoutSeconds'));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThanOrEqual(600);
    expect(api.watches[1]!.searchParams.get('resourceVersion')).toBe('15');
    expect(api.lists).toHaveLength(1);
    expect(api.lists[0]!.searchParams.get('limit')).toBe('500');
    const restarts = await client.metrics.registry.getSingleMetricAsString(
      'runtime_watch_restarts_total',
    );
    expect(restarts).toContain('reason="timeout"');
  });

  it('relists after a 410 Expired ERROR event', async () => {
    const { events, done } = await startWatcher();
    api.watchScripts.push((res) => {
      res.writeHead(200);
      send(res, 'ERROR', {
        kind: 'Status',
        code: 410,
        reason: 'Expired',
        message: 'too old resource version',
      });
      res.end();
    });
    await until(() => api.lists.length >= 2 && api.watches.length >= 2);
    stop.abort();
    await done;
    expect(events.filter((e) => e.type === 'restarted')).toHaveLength(2);
  });

  it('relists when the watch request itself answers 410 Gone', async () => {
    const { done } = await startWatcher();
    api.watchScripts.push((res) => {
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Gone', message: 'gone' }));
    });
    await until(() => api.lists.length >= 2);
    stop.abort();
    await done;
  });

  it('re-watches from the same resourceVersion when a watch goes silent', async () => {
    const { client, done } = await startWatcher({ inactivityTimeoutMs: 150 });
    await until(() => api.watches.length >= 3);
    stop.abort();
    await done;
    expect(api.lists).toHaveLength(1);
    expect(api.watches.map((w) => w.searchParams.get('resourceVersion'))).toEqual([
      '10',
      '10',
      '10',
    ]);
    const restarts = await client.metrics.registry.getSingleMetricAsString(
      'runtime_watch_restarts_total',
    );
    expect(restarts).toMatch(/reason="inactivity"\} [2-9]/);
  });

  it('the watchdog also covers a server that never sends headers', async () => {
    const { done } = await startWatcher({ inactivityTimeoutMs: 150 });
    api.watchScripts.push(() => undefined);
    await until(() => api.watches.length >= 2);
    stop.abort();
    await done;
  });

  it('resumes from the last seen resourceVersion after a dropped connection', async () => {
    const { events, done } = await startWatcher();
    api.watchScripts.push((res, _url, req) => {
      res.writeHead(200);
      send(res, 'ADDED', cm('b', '11'));
      setTimeout(() => req.socket.destroy(), 20);
    });
    await until(() => api.watches.length >= 2);
    stop.abort();
    await done;
    expect(api.watches[1]!.searchParams.get('resourceVersion')).toBe('11');
    expect(api.lists).toHaveLength(1);
    expect(events.filter((e) => e.type === 'applied')).toHaveLength(1);
  });

  it('backs off and retries when listing fails', async () => {
    const fail: Script = (res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          code: 500,
          reason: 'InternalError',
          message: 'etcd down',
        }),
      );
    };
    api = new ScriptedApiServer();
    api.listScripts.push(fail, fail);
    const client = await api.start();
    stop = new AbortController();
    const events: WatcherEvent<KubeObject>[] = [];
    const done = new Watcher<KubeObject>(client, builtin.configMaps, { backoff: tinyBackoff }).run(
      stop.signal,
      (e) => events.push(e),
    );
    await until(() => events.length > 0);
    stop.abort();
    await done;
    expect(api.lists).toHaveLength(3);
    expect(api.lists[0]!.pathname).toBe('/api/v1/configmaps'); // all namespaces
  });

  it('pages through large lists with continue tokens', async () => {
    api = new ScriptedApiServer();
    const page =
      (items: KubeObject[], cont?: string): Script =>
      (res) => {
        res.writeHead(200);
        res.end(JSON.stringify({ metadata: { resourceVersion: '20', continue: cont }, items }));
      };
    api.listScripts.push(page([cm('a', '1')], 'next'), page([cm('b', '2')]));
    const client = await api.start();
    stop = new AbortController();
    const events: WatcherEvent<KubeObject>[] = [];
    const done = new Watcher<KubeObject>(client, builtin.configMaps, { pageSize: 1 }).run(
      stop.signal,
      (e) => events.push(e),
    );
    await until(() => events.length > 0);
    stop.abort();
    await done;
    expect(api.lists[1]!.searchParams.get('continue')).toBe('next');
    const restarted = events[0];
    expect(
      restarted?.type === 'restarted' && restarted.objects.map((o) => o.metadata.name),
    ).toEqual(['a', 'b']);
    expect(restarted?.type === 'restarted' && restarted.objects[0]!.kind).toBe('ConfigMap');
  });
});

describe('Informer', () => {
  async function startInformer(options: ConstructorParameters<typeof Informer>[2] = {}) {
    api = new ScriptedApiServer();
    const client = await api.start();
    stop = new AbortController();
    const informer = new Informer<KubeObject>(client, builtin.configMaps, {
      backoff: tinyBackoff,
      ...options,
    });
    stop.signal.addEventListener('abort', () => void informer.stop());
    return informer;
  }

  it('fills its cache, syncs, and tells handlers about adds, updates and deletes', async () => {
    const informer = await startInformer();
    api.items = [cm('a', '1')];
    const seen: string[] = [];
    informer.addHandler({
      onAdd: (o) => seen.push(`add:${o.metadata.name}`),
      onUpdate: (o, n) =>
        seen.push(`update:${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`),
      onDelete: (o) => seen.push(`delete:${o.metadata.name}`),
    });
    let release: () => void = () => undefined;
    api.watchScripts.push((res) => {
      res.writeHead(200);
      release = () => {
        send(res, 'MODIFIED', cm('a', '2'));
        send(res, 'ADDED', cm('b', '3'));
        send(res, 'DELETED', cm('a', '4'));
      };
    });
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.store.get('ns', 'a')?.metadata.resourceVersion).toBe('1');
    await until(() => api.watches.length === 1);
    release();
    await until(() => seen.length === 4);
    expect(seen).toEqual(['add:a', 'update:1->2', 'add:b', 'delete:a']);
    expect(informer.store.list().map((o) => o.metadata.name)).toEqual(['b']);

    const late: string[] = [];
    informer.addHandler({ onAdd: (o) => late.push(o.metadata.name ?? '') });
    expect(late).toEqual(['b']); // replayed
  });

  it('a relist after 410 reports what changed while the watch was gone', async () => {
    const informer = await startInformer();
    api.items = [cm('a', '1'), cm('b', '1')];
    api.watchScripts.push((res) => {
      res.writeHead(200);
      api.items = [cm('a', '5'), cm('c', '6')];
      api.listVersion = '6';
      send(res, 'ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
      res.end();
    });
    const seen: string[] = [];
    informer.addHandler({
      onAdd: (o) => seen.push(`add:${o.metadata.name}`),
      onUpdate: (_o, n) => seen.push(`update:${n.metadata.name}`),
      onDelete: (o) => seen.push(`delete:${o.metadata.name}`),
    });
    informer.start();
    await until(() => seen.length >= 5);
    expect(seen).toEqual(['add:a', 'add:b', 'add:c', 'update:a', 'delete:b']);
  });

  it('resyncs: every cached object is re-delivered as an update', async () => {
    const informer = await startInformer({ resyncPeriodMs: 50 });
    api.items = [cm('a', '1')];
    let resyncs = 0;
    informer.addHandler({ onUpdate: (o, n) => (o === n ? resyncs++ : undefined) });
    informer.start();
    await until(() => resyncs >= 2);
  });

  it('keeps a handler that throws from breaking the others', async () => {
    const informer = await startInformer();
    api.items = [cm('a', '1')];
    const seen: string[] = [];
    informer.addHandler({
      onAdd: () => {
        throw new Error('bug');
      },
    });
    informer.addHandler({ onAdd: (o) => seen.push(o.metadata.name ?? '') });
    informer.start();
    await until(() => seen.length === 1);
  });

  it('indexes by controller owner UID', async () => {
    const owner = {
      apiVersion: 'x/v1',
      kind: 'Owner',
      name: 'o',
      uid: 'owner-1',
      controller: true,
    };
    const informer = await startInformer({
      indexers: { [CONTROLLER_OWNER_UID_INDEX]: indexByControllerOwnerUid },
    });
    api.items = [cm('a', '1', { ownerReferences: [owner] }), cm('b', '1')];
    informer.start();
    await informer.waitForSync();
    expect(
      informer.store.byIndex(CONTROLLER_OWNER_UID_INDEX, 'owner-1').map((o) => o.metadata.name),
    ).toEqual(['a']);
    expect(informer.store.byIndex(CONTROLLER_OWNER_UID_INDEX, 'nobody')).toEqual([]);
  });

  it('waitForSync resolves false when aborted first', async () => {
    const informer = await startInformer();
    api.listScripts.push(() => undefined); // the list never answers
    informer.start();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 20);
    expect(await informer.waitForSync(abort.signal)).toBe(false);
  });
});
