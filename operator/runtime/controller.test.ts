import { describe, expect, it } from 'vitest';
import {
  Controller,
  type ReconcileContext,
  type ReconcileResult,
  watchSource,
} from './controller.js';
import type { EventHandler, Informer } from './informer.js';
import { RuntimeMetrics } from './metrics.js';
import { ItemExponentialFailureRateLimiter } from './queue-rate-limit.js';
import type { KubeObject, Request, ResourceDescriptor } from './resource.js';

/** Just the informer surface a controller uses: its resource and handler subscription. */
class FakeInformer {
  readonly handlers = new Set<EventHandler<KubeObject>>();
  readonly objects: KubeObject[] = [];
  constructor(readonly resource: ResourceDescriptor) {}
  addHandler(handler: EventHandler<KubeObject>): () => void {
    this.handlers.add(handler);
    for (const o of this.objects) handler.onAdd?.(o);
    return () => this.handlers.delete(handler);
  }
  add(o: KubeObject) {
    for (const h of this.handlers) h.onAdd?.(o);
  }
  update(a: KubeObject, b: KubeObject) {
    for (const h of this.handlers) h.onUpdate?.(a, b);
  }
  remove(o: KubeObject) {
    for (const h of this.handlers) h.onDelete?.(o);
  }
  asInformer(): Informer<KubeObject> {
    return this as unknown as Informer<KubeObject>;
  }
}

const widgets: ResourceDescriptor = {
  group: 'example.io',
  version: 'v1',
  plural: 'widgets',
  kind: 'Widget',
  namespaced: true,
};
const deployments: ResourceDescriptor = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};

const obj = (name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...extra },
});

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
async function until(probe: () => boolean, timeoutMs = 3000) {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await tick(2);
  }
}

type Handler = (req: Request, ctx: ReconcileContext) => Promise<ReconcileResult | undefined>;

function setup(handler: Handler, options: { workers?: number } = {}) {
  const primary = new FakeInformer(widgets);
  const owned = new FakeInformer(deployments);
  const other = new FakeInformer(deployments);
  const metrics = new RuntimeMetrics();
  const calls: string[] = [];
  const controller = new Controller({
    name: 'widget',
    for: primary.asInformer(),
    owns: [owned.asInformer()],
    watches: [
      watchSource(
        other.asInformer(),
        (o) => [{ namespace: 'ns', name: o.metadata.labels?.widget ?? '' }],
        (_old, o) => o.metadata.labels?.widget !== undefined,
      ),
    ],
    reconciler: {
      reconcile: async (req, ctx) => {
        calls.push(`${req.namespace}/${req.name}`);
        return handler(req, ctx);
      },
    },
    rateLimiter: new ItemExponentialFailureRateLimiter(1, 20),
    maxConcurrentReconciles: options.workers ?? 1,
    metrics,
  });
  const metric = async (name: string) => metrics.registry.getSingleMetricAsString(name);
  return { primary, owned, other, controller, calls, metric };
}

describe('Controller', () => {
  it('reconciles existing and new primary objects, counting successes', async () => {
    const { primary, controller, calls, metric } = setup(async () => undefined);
    primary.objects.push(obj('a'));
    controller.start();
    primary.add(obj('b'));
    await until(() => calls.length === 2);
    expect(calls).toEqual(['ns/a', 'ns/b']);
    primary.update(obj('b'), obj('b'));
    primary.remove(obj('a'));
    await until(() => calls.length === 4);
    await controller.stop();
    expect(await metric('controller_runtime_reconcile_total')).toContain(
      'controller_runtime_reconcile_total{controller="widget",result="success"} 4',
    );
    expect(await metric('controller_runtime_max_concurrent_reconciles')).toContain(
      '{controller="widget"} 1',
    );
  });

  it('maps owned objects to their controller owner of the primary kind', async () => {
    const { owned, controller, calls } = setup(async () => undefined);
    controller.start();
    const ref = (kind: string, apiVersion: string, name: string, controllerRef = true) => ({
      apiVersion,
      kind,
      name,
      uid: 'u',
      controller: controllerRef,
    });
    owned.add(obj('d1', { ownerReferences: [ref('Widget', 'example.io/v1', 'w1')] }));
    owned.add(obj('d2', { ownerReferences: [ref('Widget', 'example.io/v2beta1', 'w2')] })); // any version
    owned.add(obj('d3', { ownerReferences: [ref('Widget', 'other.io/v1', 'nope')] })); // other group
    owned.add(obj('d4', { ownerReferences: [ref('Widget', 'example.io/v1', 'nope', false)] })); // not controller
    owned.add(obj('d5'));
    await until(() => calls.length === 2);
    await tick(10);
    expect(calls.sort()).toEqual(['ns/w1', 'ns/w2']);
    await controller.stop();
  });

  it('on an owner reference change, reconciles the old and the new owner', async () => {
    const { owned, controller, calls } = setup(async () => undefined);
    controller.start();
    const owner = (name: string) => [
      { apiVersion: 'example.io/v1', kind: 'Widget', name, uid: name, controller: true },
    ];
    owned.update(
      obj('d', { ownerReferences: owner('old') }),
      obj('d', { ownerReferences: owner('new') }),
    );
    await until(() => calls.length === 2);
    expect(calls.sort()).toEqual(['ns/new', 'ns/old']);
    await controller.stop();
  });

  it('uses map functions and predicates for other watches', async () => {
    const { other, controller, calls } = setup(async () => undefined);
    controller.start();
    other.add(obj('x', { labels: { widget: 'target' } }));
    other.add(obj('y'));
    await until(() => calls.length === 1);
    await tick(10);
    expect(calls).toEqual(['ns/target']);
    await controller.stop();
  });

  it('requeues failures with growing backoff and reports errors', async () => {
    const retries: number[] = [];
    const { primary, controller, calls, metric } = setup(async (_req, ctx) => {
      retries.push(ctx.retries);
      if (retries.length < 4) throw new Error('transient');
      return undefined;
    });
    controller.start();
    primary.add(obj('a'));
    await until(() => calls.length === 4);
    expect(retries).toEqual([0, 1, 2, 3]);
    await tick(30);
    expect(calls).toHaveLength(4); // success: no more attempts
    await controller.stop();
    expect(await metric('controller_runtime_reconcile_errors_total')).toContain(
      '{controller="widget"} 3',
    );
    expect(await metric('controller_runtime_reconcile_total')).toContain('result="error"} 3');
    expect(await metric('workqueue_retries_total')).toContain('name="widget"} 3');
  });

  it('honours requeueAfterMs and requeue', async () => {
    let n = 0;
    const { primary, controller, calls, metric } = setup(async () => {
      n += 1;
      if (n === 1) return { requeueAfterMs: 30 };
      if (n === 2) return { requeue: true };
      return undefined;
    });
    controller.start();
    const started = performance.now();
    primary.add(obj('a'));
    await until(() => calls.length === 3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    await controller.stop();
    const total = await metric('controller_runtime_reconcile_total');
    expect(total).toContain('result="requeue_after"} 1');
    expect(total).toContain('result="requeue"} 1');
    expect(total).toContain('result="success"} 1');
  });

  it('never reconciles one object concurrently, but different ones in parallel', async () => {
    const active = new Map<string, number>();
    let overlap = 0;
    let maxParallel = 0;
    const { primary, controller, calls } = setup(
      async (req) => {
        const key = req.name;
        if (active.get(key)) overlap++;
        active.set(key, 1);
        maxParallel = Math.max(
          maxParallel,
          [...active.values()].reduce((a, b) => a + b, 0),
        );
        await tick(5);
        active.set(key, 0);
        return undefined;
      },
      { workers: 4 },
    );
    controller.start();
    for (let i = 0; i < 40; i++) {
      primary.add(obj(`o${i % 4}`));
      await tick(1);
    }
    await until(() => calls.length >= 4);
    await tick(50);
    await controller.stop();
    expect(overlap).toBe(0);
    expect(maxParallel).toBeGreaterThan(1);
  });

  it('stop drains in-flight reconciles and takes no new work', async () => {
    let finished = 0;
    const { primary, controller, calls } = setup(async () => {
      await tick(50);
      finished++;
      return undefined;
    });
    controller.start();
    primary.add(obj('a'));
    await until(() => calls.length === 1);
    primary.add(obj('b')); // queued behind a, dropped at stop
    const drained = await controller.stop(5000);
    expect(drained).toBe(true);
    expect(finished).toBe(1);
    primary.add(obj('c'));
    await tick(20);
    expect(calls).toEqual(['ns/a']);
  });

  it('stop aborts reconciles that outlive the drain timeout', async () => {
    let aborted = false;
    const { primary, controller, calls } = setup(
      (_req, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve(undefined);
          });
        }),
    );
    controller.start();
    primary.add(obj('a'));
    await until(() => calls.length === 1);
    expect(await controller.stop(20)).toBe(false);
    expect(aborted).toBe(true);
  });

  it('can be restarted after stop (e.g. leadership regained)', async () => {
    const { primary, controller, calls } = setup(async () => undefined);
    primary.objects.push(obj('a'));
    controller.start();
    await until(() => calls.length === 1);
    await controller.stop();
    controller.start();
    await until(() => calls.length === 2);
    controller.enqueue({ namespace: 'ns', name: 'z' });
    await until(() => calls.length === 3);
    await controller.stop();
  });
});
