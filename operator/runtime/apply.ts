/**
 * Server-side apply that writes only when it would change something.
 *
 * `applyIfNeeded` compares the desired (partial) object with the live one semantically
 * ({@link firstDifference}) and applies only on a difference, so an idle reconcile makes no
 * write requests at all. A subset comparison cannot see a field *we* stopped setting (apply
 * would remove it; live still has it), so `withDesiredHash` stamps a hash of the whole desired
 * object into an annotation: any change of the desired state, removals included, changes the
 * annotation and therefore triggers an apply.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from './client.js';
import type { ApplyOptions } from './client-options.js';
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
}

export interface ApplyIfNeededResult<T extends KubeObject> {
  /** Whether a write was sent. */
  applied: boolean;
  /** The live object afterwards: the apply's answer, or `live` unchanged. */
  object: T;
  /** Where desired and live differed (for logs and events), when applied because of a difference. */
  difference?: string;
}

export async function applyIfNeeded<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceDescriptor,
  desired: ApplyObject,
  live: T | undefined,
  options: ApplyIfNeededOptions = {},
): Promise<ApplyIfNeededResult<T>> {
  const { status, compare, ...applyOptions } = options;
  const difference = live === undefined ? '(absent)' : firstDifference(desired, live, compare);
  if (live !== undefined && difference === undefined) return { applied: false, object: live };
  const object = status
    ? await client.applyStatus<T>(resource, desired, applyOptions)
    : await client.apply<T>(resource, desired, applyOptions);
  return { applied: true, object, difference };
}
