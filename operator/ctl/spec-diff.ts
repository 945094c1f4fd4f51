/**
 * What a rollback changes in a spec, for people (a list of `path: from → to`) and for the
 * API server (an RFC 7386 JSON merge patch holding only the changed fields, with null for
 * a field the target does not have). Lists are compared and replaced whole, as merge
 * patches replace them.
 */

/** One changed field; `from`/`to` are absent when the field is absent on that side. */
export interface SpecChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Structural equality of JSON values; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => jsonEqual(item, b[i]))
    );
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      if (!jsonEqual(a[key], b[key])) return false;
    }
    return true;
  }
  return false;
}

/** Fields that differ between `from` and `to`, depth first, in a stable (sorted) order. */
export function specChanges(from: unknown, to: unknown, prefix = 'spec'): SpecChange[] {
  if (jsonEqual(from, to)) return [];
  if (isPlainObject(from) && isPlainObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((key) => specChanges(from[key], to[key], `${prefix}.${key}`));
  }
  return [
    {
      path: prefix,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
    },
  ];
}

/**
 * The JSON merge patch that turns `from` into `to`: changed and added fields with their new
 * value, removed fields as null, nested objects recursively, lists whole. Undefined when
 * nothing changes.
 */
export function mergePatch(
  from: Record<string, unknown>,
  to: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (!(key in to) || to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const before = from[key];
    if (jsonEqual(before, value)) continue;
    if (isPlainObject(before) && isPlainObject(value)) {
      const inner = mergePatch(before, value);
      if (inner) patch[key] = inner;
    } else {
      patch[key] = value;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** RFC 7386 application of a merge patch (what the API server does), for tests and checks. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
