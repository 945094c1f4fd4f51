/**
 * Registers the SummarizerService controller on a manager: the caches it reads (the
 * resources, and each child kind, labelled `managed-by=llmplan-operator` and indexed by
 * controller owner), the event → request mapping, and the reconciler.
 */
import { LABELS, MANAGER } from '../api/labels.js';
import { GROUP, KIND } from '../api/summarizerservice.js';
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
  const reconciler = new SummarizerServiceReconciler({
    client: manager.client,
    resources: (namespace) => pick(primaries, namespace),
    children: store,
    recorder,
    prober: setup.prober,
    remediator: new Remediator({ client: manager.client, recorder, store, actions }),
    inCluster: setup.inCluster,
    defaultImage: setup.defaultImage,
  });

  const [first, ...others] = [...primaries.values()];
  if (!first) throw new Error('no namespace to watch');
  return manager.addController({
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
}
