/**
 * Taking over an object another tool wrote (Helm, `kubectl create`/`edit`), so that our
 * server-side apply owns it outright — the technique `kubectl apply --server-side` uses to
 * upgrade client-side-applied objects (k8s.io/client-go/util/csaupgrade).
 *
 * A server-side apply only removes fields its own manager owned and no longer sets. Fields
 * that an `Update` manager (every imperative write: Helm 3, kubectl create/edit/patch/scale)
 * set stay forever, owned by that manager: a container Helm named `llmplan` would sit beside
 * ours, a ConfigMap key ours stopped writing would linger. So the field sets of those managers
 * are first moved into our `Apply` entry (one JSON patch of `metadata.managedFields`, guarded
 * by the resourceVersion); the next apply then removes everything of theirs that the desired
 * object does not set, and we are the only owner of everything it does.
 *
 * Kept as they are: entries of subresources (status, scale: the HPA's replicas), `Apply`
 * entries of other managers (declarative owners whose claims server-side apply already
 * arbitrates), and `Update` entries of controllers that keep writing the object's main
 * resource (kube-controller-manager's `deployment.kubernetes.io/revision`).
 */
import type { KubeClient } from './client.js';
import type { KubeObject, ManagedFieldsEntry, ResourceDescriptor } from './resource.js';

/** Update managers whose fields stay theirs: controllers that write the object continuously. */
export const CONTROLLER_MANAGERS: readonly string[] = ['kube-controller-manager'];

/** A FieldsV1 set: a trie of `f:`/`k:`/`v:`/`i:` keys, `{}` at the leaves, `"."` for the node itself. */
export type FieldSet = { [key: string]: FieldSet };

/** The union of two FieldsV1 sets. */
export function unionFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { ...a };
  for (const [key, value] of Object.entries(b)) {
    out[key] = key in out ? unionFieldSets(out[key] as FieldSet, value) : value;
  }
  return out;
}

function isFoldable(entry: ManagedFieldsEntry, into: string, keep: readonly string[]): boolean {
  if (entry.subresource) return false;
  if (entry.manager === into && entry.operation === 'Apply') return true;
  return entry.operation === 'Update' && !keep.includes(entry.manager ?? '');
}

export interface FoldOptions {
  /** The field manager that takes the fields over (its `Apply` entry). */
  manager: string;
  /** apiVersion of the objects that manager applies. */
  apiVersion: string;
  /** `time` of the new entry (RFC 3339, seconds). */
  time: string;
  keep?: readonly string[];
}

/**
 * managedFields with every foldable entry's fields moved into one `Apply` entry of
 * `manager`; undefined when there is nothing to move (already ours, or no managedFields).
 */
export function foldManagedFields(
  entries: readonly ManagedFieldsEntry[] | undefined,
  options: FoldOptions,
): ManagedFieldsEntry[] | undefined {
  const keep = options.keep ?? CONTROLLER_MANAGERS;
  const folded = (entries ?? []).filter((e) => isFoldable(e, options.manager, keep));
  if (!folded.some((e) => !(e.manager === options.manager && e.operation === 'Apply'))) {
    return undefined;
  }
  const fields = folded.reduce<FieldSet>(
    (set, e) => unionFieldSets(set, (e.fieldsV1 ?? {}) as FieldSet),
    {},
  );
  return [
    ...(entries ?? []).filter((e) => !folded.includes(e)),
    {
      manager: options.manager,
      operation: 'Apply',
      apiVersion: options.apiVersion,
      time: options.time,
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
    },
  ];
}

/**
 * Moves the fields of `live`'s imperative writers into `manager`'s Apply entry (see the
 * module comment). Returns the object afterwards, or `live` when there was nothing to move.
 * A write in between makes the API server answer 409 Conflict (the resourceVersion guard):
 * the caller retries on fresh state.
 */
export async function takeOverFields<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceDescriptor,
  live: T,
  options: Omit<FoldOptions, 'time'> & { now?: Date; signal?: AbortSignal },
): Promise<T> {
  const time = (options.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const managedFields = foldManagedFields(live.metadata.managedFields, { ...options, time });
  if (!managedFields) return live;
  return client.patch<T>(
    resource,
    live.metadata.name ?? '',
    live.metadata.namespace,
    [
      { op: 'replace', path: '/metadata/managedFields', value: managedFields },
      // Not a `test`: a stale resourceVersion makes the API server answer 409, as for any write.
      { op: 'replace', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion },
    ],
    { type: 'json', signal: options.signal },
  );
}
