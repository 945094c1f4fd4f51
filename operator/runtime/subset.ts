/**
 * Semantic "desired ⊆ live" comparison: the heart of "a reconcile that changes nothing writes
 * nothing". A server-side apply of `desired` is a no-op exactly when every field we set already
 * has that value live, modulo what the API server normalizes. Fields others own (extra labels,
 * defaulted fields, status) are ignored; lists follow Kubernetes' merge semantics.
 *
 * Rules (each a known source of spurious writes):
 * - objects: every desired key must match live; extra live keys are fine;
 * - a desired null/{}/[] is satisfied by an absent live field, and (unless disabled) so is a
 *   desired false/0/"" — `omitempty` fields vanish when read back;
 * - quantities compare by value under resource maps ("1000m" = "1", "1Gi" = "1073741824");
 * - a number equals its canonical decimal string (int-or-string fields read back either way);
 * - map-lists (containers by name, volumeMounts by mountPath, …) match by merge key, and live may
 *   hold extra entries (owned by others, not removed by our apply); other lists are atomic
 *   (apply replaces them), so they match element-wise with equal length;
 * - set-lists (finalizers) are subsets by value.
 */

import { quantitiesEqual } from './quantity.js';

type Json = unknown;

export interface SubsetOptions {
  /** List field name → candidate merge keys, tried in order; the first that all desired elements carry with unique values wins. */
  mapLists?: Readonly<Record<string, readonly (readonly string[])[]>>;
  /** List field names compared as sets of scalars (order and extras ignored). */
  setLists?: readonly string[];
  /** Whether desired false/0/"" equals an absent live field. Default true. */
  zeroEqualsAbsent?: boolean;
  /** Dotted paths never compared (metadata the server owns, apiVersion/kind absent from cached list items). */
  ignorePaths?: readonly string[];
  /** Whether the scalar at `path` (last element = field name) is a resource.Quantity. */
  isQuantity?: (path: readonly string[]) => boolean;
}

/** Kubernetes' patchMergeKey / listMapKeys for the built-in list fields that are maps. */
export const defaultMapLists: Readonly<Record<string, readonly (readonly string[])[]>> = {
  containers: [['name']],
  initContainers: [['name']],
  ephemeralContainers: [['name']],
  env: [['name']],
  volumes: [['name']],
  volumeMounts: [['mountPath']],
  volumeDevices: [['devicePath']],
  ports: [['containerPort'], ['port']],
  imagePullSecrets: [['name']],
  hostAliases: [['ip']],
  resourceClaims: [['name']],
  conditions: [['type']],
  ownerReferences: [['uid']],
  topologySpreadConstraints: [['topologyKey', 'whenUnsatisfiable']],
};

const QUANTITY_MAPS = new Set([
  'limits',
  'requests',
  'hard',
  'capacity',
  'allocatable',
  'overhead',
]);
const QUANTITY_FIELDS = new Set(['sizeLimit']);

/** Quantities live in resource maps (`resources.limits.cpu`, `hard`, …) and a few named fields. */
export function defaultIsQuantity(path: readonly string[]): boolean {
  const field = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  return QUANTITY_MAPS.has(parent) || QUANTITY_FIELDS.has(field);
}

const DEFAULT_IGNORE = [
  'apiVersion',
  'kind',
  'metadata.resourceVersion',
  'metadata.uid',
  'metadata.generation',
  'metadata.creationTimestamp',
  'metadata.managedFields',
];

interface Resolved {
  mapLists: Readonly<Record<string, readonly (readonly string[])[]>>;
  setLists: ReadonlySet<string>;
  zeroEqualsAbsent: boolean;
  ignore: ReadonlySet<string>;
  isQuantity: (path: readonly string[]) => boolean;
}

function resolve(options: SubsetOptions): Resolved {
  return {
    mapLists: options.mapLists ?? defaultMapLists,
    setLists: new Set(options.setLists ?? ['finalizers']),
    zeroEqualsAbsent: options.zeroEqualsAbsent ?? true,
    ignore: new Set(options.ignorePaths ?? DEFAULT_IGNORE),
    isQuantity: options.isQuantity ?? defaultIsQuantity,
  };
}

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function scalarEqual(desired: Json, live: Json, path: readonly string[], r: Resolved): boolean {
  if (desired === live) return true;
  const scalars =
    (typeof desired === 'string' || typeof desired === 'number') &&
    (typeof live === 'string' || typeof live === 'number');
  if (!scalars) return false;
  if (r.isQuantity(path)) {
    return quantitiesEqual(desired, live);
  }
  // int-or-string: 8080 and "8080" are the same value read back two ways.
  if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
  if (typeof desired === 'string' && typeof live === 'number') return desired === String(live);
  return false;
}

function label(path: readonly string[]): string {
  return path.reduce<string>(
    (acc, part) => (part.startsWith('[') ? `${acc}${part}` : acc ? `${acc}.${part}` : part),
    '',
  );
}

function chooseMergeKey(
  field: string,
  desired: readonly Json[],
  r: Resolved,
): readonly string[] | undefined {
  const candidates = r.mapLists[field];
  if (!candidates || !desired.every(isObject)) return undefined;
  for (const keys of candidates) {
    const ids = new Set<string>();
    let usable = true;
    for (const element of desired as Record<string, Json>[]) {
      if (!keys.every((k) => element[k] !== undefined && element[k] !== null)) {
        usable = false;
        break;
      }
      ids.add(JSON.stringify(keys.map((k) => element[k])));
    }
    if (usable && ids.size === desired.length) return keys;
  }
  return undefined;
}

function listDifference(
  desired: readonly Json[],
  live: Json,
  path: readonly string[],
  r: Resolved,
): string | undefined {
  if (desired.length === 0) return undefined;
  if (!Array.isArray(live)) return label(path);
  const field = path[path.length - 1] ?? '';
  if (r.setLists.has(field)) {
    const have = new Set(live.map((x) => JSON.stringify(x)));
    return desired.every((x) => have.has(JSON.stringify(x))) ? undefined : label(path);
  }
  const mergeKey = chooseMergeKey(field, desired, r);
  if (mergeKey) {
    for (const element of desired as Record<string, Json>[]) {
      const id = mergeKey.map((k) => `${k}=${String(element[k])}`).join(',');
      const match = live.find(
        (candidate) =>
          isObject(candidate) &&
          mergeKey.every((k) => scalarEqual(element[k], candidate[k], [...path, k], r)),
      );
      const elementPath = [...path, `[${id}]`];
      if (match === undefined) return label(elementPath);
      const diff = difference(element, match, elementPath, r);
      if (diff !== undefined) return diff;
    }
    return undefined;
  }
  // Atomic list: our apply replaces it wholesale, so any extra live element is drift.
  if (live.length !== desired.length) return label(path);
  for (let i = 0; i < desired.length; i++) {
    const diff = difference(desired[i], live[i], [...path, `[${i}]`], r);
    if (diff !== undefined) return diff;
  }
  return undefined;
}

function difference(
  desired: Json,
  live: Json,
  path: readonly string[],
  r: Resolved,
): string | undefined {
  if (r.ignore.has(path.filter((p) => !p.startsWith('[')).join('.'))) return undefined;
  if (desired === undefined || desired === null) return undefined;
  if (Array.isArray(desired)) return listDifference(desired, live, path, r);
  if (isObject(desired)) {
    if (live !== undefined && live !== null && !isObject(live)) return label(path);
    // An absent live object is treated as {}: desired {} or {a: {}} then match, desired {a: 1} does not.
    const liveObject = isObject(live) ? live : {};
    for (const [key, value] of Object.entries(desired)) {
      const diff = difference(value, liveObject[key], [...path, key], r);
      if (diff !== undefined) return diff;
    }
    return undefined;
  }
  if (live === undefined || live === null) {
    const zero = desired === false || desired === 0 || desired === '';
    return r.zeroEqualsAbsent && zero ? undefined : label(path);
  }
  return scalarEqual(desired, live, path, r) ? undefined : label(path);
}

/** The path of the first desired field that live does not already have (e.g. `spec.template.spec.containers[name=app].image`), or undefined when desired ⊆ live. */
export function firstDifference(
  desired: Json,
  live: Json,
  options: SubsetOptions = {},
): string | undefined {
  return difference(desired, live, [], resolve(options));
}

export function isSubset(desired: Json, live: Json, options: SubsetOptions = {}): boolean {
  return firstDifference(desired, live, options) === undefined;
}

/** Whether applying `desired` could change `live` (true when there is no live object). */
export function needsApply(
  desired: Json,
  live: Json | undefined,
  options: SubsetOptions = {},
): boolean {
  return live === undefined || live === null || !isSubset(desired, live, options);
}
