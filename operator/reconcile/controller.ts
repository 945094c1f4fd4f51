/**
 * Registers the SummarizerService controller on a manager: the caches it reads (the
 * resources, and each child kind, labelled `managed-by=llmplan-operator` and indexed by
 * controller owner), the event → request mapping, and the reconciler.
 */
import { LABELS, MANAGER } from '../api/labels.js';
import {
  CONTROLLER_OWNER_UID_INDEX,
  type Controller,
  enqueueRequestForObject,
  type Informer,
  indexByControllerOwnerUid,
  type KubeObject,
  type Manager,
  type ResourceDescriptor,
  watchSource,
} from '../runtime/index.js';
import type { BackendProber } from './backend.js';
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

export function setupSummarizerController(manager: Manager, setup: ControllerSetup): Controller {
  // One informer per watched namespace (or one cluster-wide), per kind.
  const scopes: (string | undefined)[] =
    setup.namespaces.length > 0 ? [...setup.namespaces] : [undefined];
  const scopeOf = (namespace: string) => (setup.namespaces.length > 0 ? namespace : undefined);
  const informers = (resource: ResourceDescriptor, childSelector: boolean) =>
    new Map(
      scopes.map((scope) => [
        scope,
        manager.informer(resource, {
          ...(scope ? { namespace: scope } : {}),
          ...(childSelector
            ? {
                labelSelector: `${LABELS.managedBy}=${MANAGER}`,
                indexers: { [CONTROLLER_OWNER_UID_INDEX]: indexByControllerOwnerUid },
              }
            : {}),
        }),
      ]),
    );
  const primaries = informers(summarizerServices, false);
  const children = new Map(childResources.map((r) => [r, informers(r, true)]));
  const pick = (map: Map<string | undefined, Informer<KubeObject>>, namespace: string) => {
    const informer = map.get(scopeOf(namespace));
    if (!informer) throw new Error(`namespace ${namespace} is not watched`);
    return informer.store;
  };

  const reconciler = new SummarizerServiceReconciler({
    client: manager.client,
    resources: (namespace) => pick(primaries, namespace),
    children: (resource, namespace) => {
      const byScope = children.get(resource);
      if (!byScope) throw new Error(`${resource.kind} is not a watched child kind`);
      return pick(byScope, namespace);
    },
    recorder: manager.eventRecorder('llmplan-operator'),
    prober: setup.prober,
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
    watches: others.map((informer) => watchSource(informer, enqueueRequestForObject, specChanged)),
    forPredicate: specChanged,
    maxConcurrentReconciles: setup.workers,
  });
}
