/**
 * `llmplanctl migrate helm`, undoing a migration that cannot finish (issue 20, part 3),
 * the pure parts: the JSON patch that gives one of the release's objects back to Helm as the
 * release left it, and what the operator says about the SummarizerService (its conditions
 * and Warning events), which the error reports. steps.ts carries the undo out.
 *
 * Until the release's ReplicaSet is removed (step 4), everything migrate and the operator did
 * can be undone: the release's pods never stopped, and its Deployment was paused, so an
 * adopted pod template started nothing. Undoing = the adoption marks removed, the
 * SummarizerService deleted without touching the release's objects (orphan propagation: the
 * garbage collector drops its owner references) and the children only it had deleted, each
 * adopted object given back Helm's labels, annotations and the release's own fields, the
 * Deployment resumed (its pod template the release's again, so resuming starts no rollout),
 * the API key Secret migrate created deleted.
 */
import { ANNOTATIONS, LABELS, MANAGER } from '../../api/labels.js';
import type { KubeObject } from '../../runtime/resource.js';
import {
  HELM_RELEASE_NAME_ANNOTATION,
  HELM_RELEASE_NAMESPACE_ANNOTATION,
  type ManifestObject,
} from './helm-release.js';

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export const pointer = (...keys: string[]) =>
  keys.map((k) => `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

type Obj = KubeObject & { [field: string]: unknown };
const field = (o: Obj | ManifestObject, ...keys: string[]): unknown => {
  let node: unknown = o;
  for (const k of keys) node = node && typeof node === 'object' ? (node as Obj)[k] : undefined;
  return node;
};

/** Whether the operator took the object over (its labels; its controller reference). */
export function isAdopted(live: KubeObject): boolean {
  return (
    live.metadata.labels?.[LABELS.managedBy] === MANAGER ||
    live.metadata.ownerReferences?.some((r) => r.controller && r.kind === 'SummarizerService') ===
      true
  );
}

/**
 * The fields of each kind that the operator's apply replaced and Helm's record holds: put
 * back from the release's manifest. A Deployment's strategy, progress deadline and revision
 * limit are removed, so the API server defaults them again as it did for Helm's create (the
 * chart sets none of them). A Service keeps its allocated ClusterIP.
 */
function specOps(manifest: ManifestObject, live: Obj): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const put = (path: string[], value: unknown) => {
    if (value !== undefined) ops.push({ op: 'add', path: pointer(...path), value });
    else if (field(live, ...path) !== undefined) ops.push({ op: 'remove', path: pointer(...path) });
  };
  switch (manifest.kind) {
    case 'Deployment':
      put(['spec', 'template'], field(manifest, 'spec', 'template'));
      if (field(manifest, 'spec', 'replicas') !== undefined)
        put(['spec', 'replicas'], field(manifest, 'spec', 'replicas'));
      for (const key of ['strategy', 'progressDeadlineSeconds', 'revisionHistoryLimit'])
        put(['spec', key], field(manifest, 'spec', key));
      break;
    case 'ConfigMap':
      put(['data'], field(manifest, 'data') ?? {});
      break;
    case 'ServiceAccount':
      put(['automountServiceAccountToken'], field(manifest, 'automountServiceAccountToken'));
      break;
    case 'Service':
      for (const key of ['type', 'ports', 'selector', 'externalName'])
        put(['spec', key], field(manifest, 'spec', key));
      break;
    case 'HorizontalPodAutoscaler':
    case 'Ingress':
      put(['spec'], field(manifest, 'spec'));
      break;
  }
  return ops;
}

/**
 * The JSON patch that gives one of the release's objects back to Helm: empty when there is
 * nothing to give back. Guarded by the resourceVersion it was computed from. An adopted
 * object gets Helm's labels and annotations (the manifest's, and meta.helm.sh/release-*,
 * without the adoption mark) and its release fields; one only marked loses the mark.
 */
export function restorePatch(
  manifest: ManifestObject,
  live: KubeObject,
  release: { name: string; namespace: string },
): JsonPatchOp[] {
  const guard: JsonPatchOp = {
    op: 'test',
    path: '/metadata/resourceVersion',
    value: live.metadata.resourceVersion,
  };
  if (isAdopted(live)) {
    const annotations = {
      ...((manifest.metadata.annotations as Record<string, string> | undefined) ?? {}),
      [HELM_RELEASE_NAME_ANNOTATION]: release.name,
      [HELM_RELEASE_NAMESPACE_ANNOTATION]: release.namespace,
    };
    return [
      guard,
      {
        op: 'add',
        path: '/metadata/labels',
        value: (manifest.metadata.labels as Record<string, string> | undefined) ?? {},
      },
      { op: 'add', path: '/metadata/annotations', value: annotations },
      ...specOps(manifest, live as Obj),
    ];
  }
  if (live.metadata.annotations?.[ANNOTATIONS.adopt] !== undefined) {
    return [guard, { op: 'remove', path: pointer('metadata', 'annotations', ANNOTATIONS.adopt) }];
  }
  return [];
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
export interface OperatorEvent {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { uid?: string };
  eventTime?: string;
  series?: { count?: number };
  deprecatedCount?: number;
  metadata?: { creationTimestamp?: string };
}

/** Conditions that say something is wrong (or not yet right). */
const troubled = (c: Condition) =>
  (c.type === 'Degraded' && c.status === 'True') ||
  (c.type === 'Ready' && c.status === 'False') ||
  (c.type === 'BackendReachable' && c.status === 'False');

/**
 * What the operator says about the SummarizerService: its troubled conditions and its
 * Warning events (newest first, one line per reason), or that no operator reconciled it.
 */
export function operatorReport(
  resource: (KubeObject & { status?: { conditions?: Condition[] } }) | undefined,
  events: readonly OperatorEvent[],
): string {
  if (!resource) return 'The SummarizerService was not created.';
  const uid = resource.metadata.uid;
  const conditions = (resource.status?.conditions ?? []).filter(troubled);
  const warnings = events
    .filter((e) => e.type === 'Warning' && e.regarding?.uid === uid)
    .sort((a, b) =>
      String(b.eventTime ?? b.metadata?.creationTimestamp ?? '').localeCompare(
        String(a.eventTime ?? a.metadata?.creationTimestamp ?? ''),
      ),
    );
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const c of conditions) {
    lines.push(`${c.type}=${c.status} ${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}`);
  }
  for (const e of warnings) {
    const key = e.reason ?? '';
    if (seen.has(key)) continue;
    seen.add(key);
    const count = e.series?.count ?? e.deprecatedCount;
    lines.push(`Warning ${key}${count && count > 1 ? ` (${count}×)` : ''}: ${e.note ?? ''}`);
  }
  if (lines.length === 0) {
    return resource.status?.conditions?.length
      ? 'The operator reports no error on the SummarizerService.'
      : 'The SummarizerService has no status: no operator reconciled it (is the llmplan operator running, watching this namespace, at a version that adopts?).';
  }
  return `The operator says:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}
