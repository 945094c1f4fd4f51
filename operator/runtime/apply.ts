/**
 * Server-side apply that writes only when it would change something.
 *
 * `applyIfNeeded` compares the desired (partial) object with the live one semantically
 * ({@link firstDifference}) and applies only on a difference, so an idle reconcile makes no
 * write requests at all. A subset comparison cannot see a field *we* stopped setting (apply
 * would remove it; live still has it), so `withDesiredHash` stamps a hash of the whole desired
 * object into an annotation: any change of the desired state, removals included, changes the
 * annotation and therefore triggers an apply.
 *
 * Server-side apply never removes a list element another manager owns. When a hand edit
 * re-keys an element of a map-list (`kubectl edit` of a Service port: the element keyed
 * `port=8000` becomes `port=8080`, owned by kubectl), our apply merges its own element back
 * beside the foreign one and the API server refuses the result (two ports named `http`):
 * the child would stay drifted forever. `repairInvalid` handles exactly that: a JSON merge
 * patch of the desired object (which replaces lists wholesale) guarded by the live
 * resourceVersion, then the apply again.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from './client.js';
import type { ApplyOptions } from './client-options.js';
import { isInvalid } from './errors.js';
import type { ApplyObject, KubeObject, ResourceDescriptor } from './resource.js';
import { firstDifference, type SubsetOptions } from './subset.js';

/** JSON with object keys sorted, so equal values serialize identically. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

/** A short stable hash of a JSON value (sha256, 16 hex digits). */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/** A copy of `obj` with `annotation` set to the hash of `obj` (computed without that annotation). */
export function withDesiredHash<T extends { metadata?: { annotations?: Record<string, string> } }>(
  obj: T,
  annotation: string,
): T {
  const { [annotation]: _previous, ...annotations } = obj.metadata?.annotations ?? {};
  const unstamped = { ...obj, metadata: { ...obj.metadata, annotations } };
  return {
    ...obj,
    metadata: { ...obj.metadata, annotations: { ...annotations, [annotation]: hashOf(unstamped) } },
  };
}

export interface ApplyIfNeededOptions extends ApplyOptions {
  /** Apply to the status subresource (desired then holds `status`). */
  status?: boolean;
  compare?: SubsetOptions;
  /**
   * When the API server refuses the apply to an existing object as Invalid, overwrite the
   * desired fields with a JSON merge patch (lists replaced wholesale, guarded by the live
   * resourceVersion) and apply again; if the patch fails too, the apply's error is thrown.
   * For controllers that own their objects outright (a hand edit must be put back).
   * Not for status.
   */
  repairInvalid?: boolean;
}

export interface ApplyIfNeededResult<T extends KubeObject> {
  /** Whether a write was sent. */
  applied: boolean;
  /** The live object afterwards: the apply's answer, or `live` unchanged. */
  object: T;
  /** Where desired and live differed (for logs and events), when applied because of a difference. */
  difference?: string;
  /** Set when the first apply was refused and a merge patch repaired the object: the refusal. */
  repaired?: string;
}

export async function applyIfNeeded<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceDescriptor,
  desired: ApplyObject,
  live: T | undefined,
  options: ApplyIfNeededOptions = {},
): Promise<ApplyIfNeededResult<T>> {
  const { status, compare, repairInvalid, ...applyOptions } = options;
  const difference = live === undefined ? '(absent)' : firstDifference(desired, live, compare);
  if (live !== undefined && difference === undefined) return { applied: false, object: live };
  const apply = () =>
    status
      ? client.applyStatus<T>(resource, desired, applyOptions)
      : client.apply<T>(resource, desired, applyOptions);
  try {
    return { applied: true, object: await apply(), difference };
  } catch (error) {
    if (!repairInvalid || status || live === undefined || !isInvalid(error)) throw error;
    const { apiVersion: _apiVersion, kind: _kind, ...fields } = desired as Record<string, unknown>;
    const metadata = (fields.metadata ?? {}) as Record<string, unknown>;
    try {
      await client.patch(
        resource,
        live.metadata.name ?? '',
        live.metadata.namespace,
        { ...fields, metadata: { ...metadata, resourceVersion: live.metadata.resourceVersion } },
        {
          type: 'merge',
          fieldManager: applyOptions.fieldManager,
          signal: applyOptions.signal,
          timeoutMs: applyOptions.timeoutMs,
        },
      );
    } catch (patchError) {
      // Refused too: not a hand edit we can undo (an immutable field, a spec the server
      // refuses), and the apply's own error says why. A conflict (live was stale) or a
      // transport error is the caller's to retry.
      throw isInvalid(patchError) ? error : patchError;
    }
    return { applied: true, object: await apply(), difference, repaired: error.serverMessage };
  }
}
