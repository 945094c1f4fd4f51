/**
 * Registers the SummarizerService controller on a manager: the caches it reads (the
 * resources, and each child kind, labelled `managed-by=llmplan-operator` and indexed by
 * controller owner), the event → request mapping, and the reconciler.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { type AdvisedResource, UsageMonitor, type UsageMonitorOptions } from '../advice/usage.js';
import { LABELS, MANAGER } from '../api/labels.js';
import {
  GROUP,
  KIND,
  type SummarizerService,
  safeParseSummarizerService,
} from '../api/summarizerservice.js';
import { effectiveReplicas } from '../desired/state.js';
import {
  LoadMonitor,
  type LoadMonitorOptions,
  loadMetrics,
  type MonitoredResource,
} from '../load/monitor.js';
import type { Scraper } from '../load/scrape.js';
import { unreadLoad } from '../load/status.js';
import {
  INSTANCE_INDEX,
  indexByInstance,
  Remediator,
  remediationActionsCounter,
} from '../remediation/remediator.js';
import {
  builtin,
  CONTROLLER_OWNER_UID_INDEX,
  type Controller,
  enqueueRequestForObject,
  enqueueRequestForOwner,
  type Informer,
  indexByControllerOwnerUid,
  type KubeObject,
  type Manager,
  type Request,
  type ResourceDescriptor,
  watchSource,
} from '../runtime/index.js';
import { StatusMetrics } from '../status/metrics.js';
import type { BackendProber } from './backend.js';
import { objectForCache, podForCache, replicaSetForCache } from './cache.js';
import { SummarizerServiceReconciler } from './reconciler.js';
import { childResources, summarizerServices } from './resources.js';

export const CONTROLLER_NAME = 'summarizerservice';

export interface ControllerSetup {
  /** Namespaces to watch; empty: all. */
  namespaces: readonly string[];
  workers: number;
  defaultImage: string;
  inCluster: boolean;
  prober?: BackendProber;
  /** How often metrics-server's usage is read for status.recommendations; 0: never. */
  usageIntervalMs?: number;
  /** How pods' /metrics are read, or why they are not (status.load says it). */
  load:
    | { scraper: Scraper; intervalMs: number; timeoutMs: number; concurrency: number }
    | { off: string };
}

/**
 * A reconcile is needed when the spec changed (generation), on add, and on resync (same
 * resourceVersion) — not for our own status writes, which would only reconcile twice.
 */
function specChanged(oldObj: KubeObject | undefined, newObj: KubeObject): boolean {
  if (!oldObj) return true;
  return (
    oldObj.metadata.generation !== newObj.metadata.generation ||
    oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion
  );
}

const byInstanceLabel = (obj: KubeObject): Request[] => {
  const instance = obj.metadata.labels?.[LABELS.instance];
  return instance ? [{ namespace: obj.metadata.namespace ?? '', name: instance }] : [];
};

export function setupSummarizerController(manager: Manager, setup: ControllerSetup): Controller {
  // One informer per watched namespace (or one cluster-wide), per kind.
  const scopes: (string | undefined)[] =
    setup.namespaces.length > 0 ? [...setup.namespaces] : [undefined];
  const scopeOf = (namespace: string) => (setup.namespaces.length > 0 ? namespace : undefined);
  // Children, and the pods/ReplicaSets of their Deployments, carry managed-by=llmplan-operator:
  // the caches hold only those, never every object of a kind in the cluster.
  const informers = (
    resource: ResourceDescriptor,
    selection: 'all' | 'owned' | 'instance',
    transform: (obj: KubeObject) => KubeObject = objectForCache,
  ) =>
    new Map(
      scopes.map((scope) => [
        scope,
        manager.informer(resource, {
          ...(scope ? { namespace: scope } : {}),
          transform,
          // Only the resources resync (a periodic level-triggered look at each); a resync
          // of every child kind would reconcile each resource once per kind.
          ...(selection === 'all' ? {} : { resyncPeriodMs: 0 }),
          ...(selection === 'all' ? {} : { labelSelector: `${LABELS.managedBy}=${MANAGER}` }),
          ...(selection === 'owned'
            ? { indexers: { [CONTROLLER_OWNER_UID_INDEX]: indexByControllerOwnerUid } }
            : {}),
          ...(selection === 'instance' ? { indexers: { [INSTANCE_INDEX]: indexByInstance } } : {}),
        }),
      ]),
    );
  const primaries = informers(summarizerServices, 'all');
  const children = new Map(childResources.map((r) => [r, informers(r, 'owned')]));
  const observed = new Map<ResourceDescriptor, Map<string | undefined, Informer<KubeObject>>>([
    [builtin.pods, informers(builtin.pods, 'instance', podForCache)],
    [builtin.replicaSets, informers(builtin.replicaSets, 'instance', replicaSetForCache)],
    [builtin.controllerRevisions, informers(builtin.controllerRevisions, 'owned')],
  ]);
  const pick = (map: Map<string | undefined, Informer<KubeObject>>, namespace: string) => {
    const informer = map.get(scopeOf(namespace));
    if (!informer) throw new Error(`namespace ${namespace} is not watched`);
    return informer.store;
  };

  const store = (resource: ResourceDescriptor, namespace: string) => {
    const byScope = children.get(resource) ?? observed.get(resource);
    if (!byScope) throw new Error(`${resource.kind} is not a watched kind`);
    return pick(byScope, namespace);
  };
  const recorder = manager.eventRecorder('llmplan-operator');
  const actions = remediationActionsCounter();
  manager.metrics.registry.registerMetric(actions);
  const requestOf = (cr: SummarizerService): Request => ({
    namespace: cr.metadata.namespace ?? '',
    name: cr.metadata.name,
  });
  let controller: Controller | undefined;
  const monitor =
    'scraper' in setup.load
      ? loadMonitor(manager, setup.load, {
          resources: () => monitoredResources(primaries),
          pods: (r) =>
            store(builtin.pods, r.namespace ?? '').byIndex(
              INSTANCE_INDEX,
              `${r.namespace ?? ''}/${r.name}`,
            ) as V1Pod[],
          enqueue: (r) => controller?.enqueue(r),
        })
      : undefined;
  const off = 'off' in setup.load ? unreadLoad(setup.load.off) : undefined;
  const usage =
    setup.usageIntervalMs && setup.usageIntervalMs > 0
      ? usageMonitor(manager, scopes, setup.usageIntervalMs, {
          resources: () =>
            advisedResources(
              primaries,
              (r) =>
                store(builtin.pods, r.namespace ?? '').byIndex(
                  INSTANCE_INDEX,
                  `${r.namespace ?? ''}/${r.name}`,
                ) as V1Pod[],
            ),
          enqueue: (r) => controller?.enqueue(r),
        })
      : undefined;
  const reconciler = new SummarizerServiceReconciler({
    client: manager.client,
    resources: (namespace) => pick(primaries, namespace),
    children: store,
    recorder,
    prober: setup.prober,
    remediator: new Remediator({
      client: manager.client,
      recorder,
      store,
      actions,
      load: (cr) => monitor?.view(requestOf(cr))?.judgement,
    }),
    observations: {
      load: (cr) => off ?? monitor?.view(requestOf(cr))?.status,
      recommendations: (cr) => usage?.view(requestOf(cr)),
    },
    inCluster: setup.inCluster,
    defaultImage: setup.defaultImage,
    statusMetrics: new StatusMetrics(manager.metrics.registry),
  });

  const [first, ...others] = [...primaries.values()];
  if (!first) throw new Error('no namespace to watch');
  controller = manager.addController({
    name: CONTROLLER_NAME,
    reconciler,
    for: first,
    owns: [...children.values()].flatMap((byScope) => [...byScope.values()]),
    watches: [
      ...others.map((informer) => watchSource(informer, enqueueRequestForObject, specChanged)),
      // Pods and ReplicaSets belong to the Deployment, not to us: map them by instance label,
      // so a CrashLoopBackOff reaches remediation at once.
      ...[builtin.pods, builtin.replicaSets].flatMap((resource) =>
        [...(observed.get(resource)?.values() ?? [])].map((informer) =>
          watchSource(informer, byInstanceLabel),
        ),
      ),
      ...[...(observed.get(builtin.controllerRevisions)?.values() ?? [])].map((informer) =>
        watchSource(informer, enqueueRequestForOwner({ group: GROUP, kind: KIND })),
      ),
    ],
    forPredicate: specChanged,
    maxConcurrentReconciles: setup.workers,
  });
  return controller;
}

/** The load monitor, run by the manager while this process leads. */
function loadMonitor(
  manager: Manager,
  options: { scraper: Scraper; intervalMs: number; timeoutMs: number; concurrency: number },
  deps: Pick<LoadMonitorOptions, 'resources' | 'pods' | 'enqueue'>,
): LoadMonitor {
  const metrics = loadMetrics();
  manager.metrics.registry.registerMetric(metrics.scrapes);
  manager.metrics.registry.registerMetric(metrics.scrapeDuration);
  const monitor = new LoadMonitor({
    ...options,
    ...deps,
    ...metrics,
    logger: manager.logger.child({ component: 'load-monitor' }),
  });
  manager.add('load-monitor', (signal) => monitor.run(signal));
  return monitor;
}

/** The usage reader (metrics-server), run by the manager while this process leads. */
function usageMonitor(
  manager: Manager,
  scopes: readonly (string | undefined)[],
  intervalMs: number,
  deps: Pick<UsageMonitorOptions, 'resources' | 'enqueue'>,
): UsageMonitor {
  const monitor = new UsageMonitor({
    ...deps,
    client: manager.client,
    scopes,
    intervalMs,
    logger: manager.logger.child({ component: 'usage-monitor' }),
  });
  manager.add('usage-monitor', (signal) => monitor.run(signal));
  return monitor;
}

const parsedResources = new WeakMap<KubeObject, SummarizerService | undefined>();

/** Every cached, parseable resource not being deleted. */
function* liveResources(
  primaries: Map<string | undefined, Informer<KubeObject>>,
): Iterable<SummarizerService> {
  for (const informer of primaries.values()) {
    for (const raw of informer.store.list()) {
      if (raw.metadata.deletionTimestamp) continue;
      if (!parsedResources.has(raw)) {
        const parsed = safeParseSummarizerService(raw);
        parsedResources.set(raw, parsed.success ? parsed.data : undefined);
      }
      const cr = parsedResources.get(raw);
      if (cr) yield cr;
    }
  }
}

const oomKilled = (pod: V1Pod) =>
  (pod.status?.containerStatuses ?? []).some(
    (c) =>
      c.lastState?.terminated?.reason === 'OOMKilled' ||
      c.state?.terminated?.reason === 'OOMKilled',
  );

function* advisedResources(
  primaries: Map<string | undefined, Informer<KubeObject>>,
  pods: (request: Request) => readonly V1Pod[],
): Iterable<AdvisedResource> {
  for (const cr of liveResources(primaries)) {
    const request = { namespace: cr.metadata.namespace ?? '', name: cr.metadata.name };
    const bump = cr.status?.remediation?.memoryBump;
    const memoryLimit = bump?.memoryLimit ?? cr.spec.resources.limits?.memory;
    yield {
      request,
      oomKilled:
        bump !== undefined ||
        (cr.status?.history ?? []).some((h) => h.action === 'MemoryBump') ||
        pods(request).some(oomKilled),
      ...(memoryLimit !== undefined ? { memoryLimit: String(memoryLimit) } : {}),
      ...(cr.status?.recommendations ? { reported: cr.status.recommendations } : {}),
    };
  }
}

/** Every cached, parseable resource not being deleted, as the load monitor reads it. */
function* monitoredResources(
  primaries: Map<string | undefined, Informer<KubeObject>>,
): Iterable<MonitoredResource> {
  for (const cr of liveResources(primaries)) {
    const scale = effectiveReplicas(cr);
    yield {
      request: { namespace: cr.metadata.namespace ?? '', name: cr.metadata.name },
      specReplicas: scale.autoscaling ? scale.minReplicas : scale.replicas,
      podRestartAfterMs: cr.spec.remediation.podRestart.afterSeconds * 1000,
      ...(cr.status?.load ? { reported: cr.status.load } : {}),
    };
  }
}
