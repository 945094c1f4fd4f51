/**
 * What the operator keeps of each object in its caches. A thousand resources mean
 * thousands of pods, ReplicaSets and children in memory; the cache holds only the fields
 * some consumer reads (remediation reads a pod's labels and container states, a
 * ReplicaSet's labels, revision annotation and owner), and never managedFields.
 */
import { CONTAINER_NAME } from '../api/labels.js';
import { type KubeObject, type ObjectMeta, stripManagedFields } from '../runtime/index.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function identity(meta: ObjectMeta, keep: { annotations?: readonly string[] } = {}): ObjectMeta {
  const out: ObjectMeta = {
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
    generation: meta.generation,
    labels: meta.labels,
    ownerReferences: meta.ownerReferences,
    ...(meta.deletionTimestamp ? { deletionTimestamp: meta.deletionTimestamp } : {}),
  };
  if (keep.annotations && meta.annotations) {
    const annotations = Object.fromEntries(
      keep.annotations.flatMap((key) =>
        key in (meta.annotations ?? {}) ? [[key, meta.annotations?.[key] ?? '']] : [],
      ),
    );
    if (Object.keys(annotations).length > 0) out.annotations = annotations;
  }
  return out;
}

/**
 * A pod as remediation reads it: identity, labels, phase, conditions, container states, and
 * for the load monitor its IP and the summarizer container's ports.
 */
export function podForCache<T extends KubeObject>(pod: T): T {
  const status = (pod as { status?: Record<string, unknown> }).status;
  const containers = (
    (pod as { spec?: { containers?: Array<Record<string, unknown>> } }).spec?.containers ?? []
  )
    .filter((c) => c.name === CONTAINER_NAME)
    .map((c) => ({ name: c.name, ports: c.ports }));
  const containerStatuses = (
    status?.containerStatuses as Array<Record<string, unknown>> | undefined
  )?.map((c) => ({
    name: c.name,
    image: c.image,
    ready: c.ready,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState,
  }));
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: identity(pod.metadata),
    ...(containers.length > 0 ? { spec: { containers } } : {}),
    status: status
      ? {
          phase: status.phase,
          ...(status.podIP ? { podIP: status.podIP } : {}),
          conditions: status.conditions,
          containerStatuses,
        }
      : undefined,
  } as unknown as T;
}

/** A ReplicaSet as remediation reads it: which Deployment revision it is, and its owner. */
export function replicaSetForCache<T extends KubeObject>(rs: T): T {
  return {
    apiVersion: rs.apiVersion,
    kind: rs.kind,
    metadata: identity(rs.metadata, { annotations: ['deployment.kubernetes.io/revision'] }),
  } as unknown as T;
}

/** Any other object: whole, without managedFields or kubectl's last-applied copy of itself. */
export function objectForCache<T extends KubeObject>(obj: T): T {
  const stripped = stripManagedFields(obj);
  const annotations = stripped.metadata.annotations;
  if (!annotations || !(LAST_APPLIED in annotations)) return stripped;
  const { [LAST_APPLIED]: _dropped, ...rest } = annotations;
  return { ...stripped, metadata: { ...stripped.metadata, annotations: rest } };
}
