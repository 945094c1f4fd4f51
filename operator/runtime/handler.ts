/**
 * Event → request mappings (controller-runtime `handler`): which object(s) to reconcile when
 * a watched object changes.
 */
import { groupOf, type KubeObject, type Request, requestFor } from './resource.js';

/** Maps a changed object to the requests to enqueue (often zero or one). */
export type MapFunc<T extends KubeObject = KubeObject> = (obj: T) => Request[];

/** The object itself: for the controller's primary resource. */
export const enqueueRequestForObject: MapFunc = (obj) => [requestFor(obj)];

export interface OwnerKind {
  /** The owner's API group ('' for core); versions are ignored, as owner references may name any served version. */
  group: string;
  kind: string;
  /** Whether the owner lives in the child's namespace (true) or is cluster-scoped. Default true. */
  namespaced?: boolean;
}

/**
 * The owner(s) of the given kind, from the child's ownerReferences: by default only the
 * controller owner (the one with `controller: true`), as the controller that manages it.
 */
export function enqueueRequestForOwner(
  owner: OwnerKind,
  options: { onlyController?: boolean } = {},
): MapFunc {
  const onlyController = options.onlyController ?? true;
  return (obj) =>
    (obj.metadata.ownerReferences ?? [])
      .filter(
        (ref) =>
          ref.kind === owner.kind &&
          groupOf(ref.apiVersion) === owner.group &&
          (!onlyController || ref.controller === true),
      )
      .map((ref) => ({
        namespace: (owner.namespaced ?? true) ? (obj.metadata.namespace ?? '') : '',
        name: ref.name,
      }));
}

/** An arbitrary mapping (controller-runtime's EnqueueRequestsFromMapFunc); identity for readability. */
export function enqueueRequestsFromMapFunc<T extends KubeObject>(map: MapFunc<T>): MapFunc<T> {
  return map;
}
