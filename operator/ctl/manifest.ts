/**
 * A SummarizerService as it belongs in Git (`llmplanctl export`, and what `migrate` prints
 * and creates): apiVersion, kind, name, namespace, the user's labels and annotations, and the
 * spec — without status, without what the API server and other tools write (uid,
 * resourceVersion, generation, managedFields, timestamps, kubectl's last-applied
 * configuration, Argo CD's tracking), and by default without the fields whose value is the
 * CRD's default, so the file reads like examples/*.yaml. Pure.
 */
import { ARGOCD_TRACKING_KEYS } from '../api/labels.js';
import { SpecSchema } from '../api/spec.js';
import { API_VERSION, KIND } from '../api/summarizerservice.js';

/** Annotations that tools write on the live object; none of them belongs in Git. */
const TOOL_ANNOTATIONS: readonly string[] = [
  'kubectl.kubernetes.io/last-applied-configuration',
  ...ARGOCD_TRACKING_KEYS,
];

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function equal(a: unknown, b: unknown): boolean {
  if (isMap(a) && isMap(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => equal(a[k], b[k]));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => equal(item, b[i]));
  }
  return a === b;
}

/** The CRD's defaults: what the API server fills into an empty spec. */
export function specDefaults(): Record<string, unknown> {
  return SpecSchema.parse({}) as Record<string, unknown>;
}

/** `spec` without the fields whose value equals `defaults` (maps left empty are dropped too). */
export function withoutDefaults(
  spec: Record<string, unknown>,
  defaults: Record<string, unknown> = specDefaults(),
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(spec)) {
    const fallback = defaults[key];
    if (equal(value, fallback)) continue;
    if (isMap(value) && isMap(fallback)) {
      const inner = withoutDefaults(value, fallback);
      if (Object.keys(inner).length > 0) out[key] = inner;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function userMap(
  map: Record<string, string> | undefined,
  drop: readonly string[],
): Record<string, string> | undefined {
  const kept = Object.entries(map ?? {}).filter(([key]) => !drop.includes(key));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** The Git form of a live (or to-be-created) SummarizerService. */
export function gitManifest(
  live: {
    metadata: {
      name?: string;
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    spec?: Record<string, unknown>;
  },
  options: { keepDefaults?: boolean } = {},
): Manifest {
  const labels = userMap(live.metadata.labels, ARGOCD_TRACKING_KEYS);
  const annotations = userMap(live.metadata.annotations, TOOL_ANNOTATIONS);
  const spec = live.spec ?? {};
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: live.metadata.name ?? '',
      ...(live.metadata.namespace ? { namespace: live.metadata.namespace } : {}),
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: options.keepDefaults ? spec : withoutDefaults(spec),
  };
}
