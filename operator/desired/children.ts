/**
 * What a SummarizerService owns, and how to tell its children from other objects:
 * owner references, the kinds the operator manages (to list and prune them), and the
 * pure comparisons the reconciler needs (unwanted children, ownership conflicts).
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { standardLabels } from '../api/labels.js';
import { API_VERSION, KIND, type SummarizerService } from '../api/summarizerservice.js';
import { controllerOf } from '../runtime/index.js';

/** A kind of child; `plural` is the REST resource, for listing. */
export interface ChildKind {
  apiVersion: string;
  kind: string;
  plural: string;
}

/** Every kind the operator creates. ControllerRevisions belong to remediation (issue 5). */
export const MANAGED_CHILD_KINDS: readonly ChildKind[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
  },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' },
];

/** Metadata of a desired child: what server-side apply needs, nothing the server owns. */
export interface ChildMetadata extends V1ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ownerReferences: V1OwnerReference[];
}

/** A desired child in the form sent to server-side apply. */
export interface DesiredObject {
  apiVersion: string;
  kind: string;
  metadata: ChildMetadata;
  [field: string]: unknown;
}

/** The smallest shape of an observed object these helpers look at. */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; ownerReferences?: V1OwnerReference[] };
}

/** A child that exists but is not controlled by this SummarizerService. */
export interface OwnershipConflict {
  kind: string;
  name: string;
  /** `Kind/name` of its controller, if it has one. */
  controller?: string;
}

export function ownerReference(cr: SummarizerService): V1OwnerReference {
  if (!cr.metadata.uid) throw new Error(`SummarizerService ${cr.metadata.name} has no uid yet`);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cr.metadata.name,
    uid: cr.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Metadata of a child. Labels come from the CR's *name* only; the CR's own labels and
 * annotations (where Argo CD writes its tracking keys) are never copied.
 */
export function childMetadata(
  cr: SummarizerService,
  name: string,
  options: { component?: string; annotations?: Record<string, string> } = {},
): ChildMetadata {
  const metadata: ChildMetadata = {
    name,
    namespace: namespaceOf(cr),
    labels: standardLabels(cr.metadata.name, options.component),
    ownerReferences: [ownerReference(cr)],
  };
  if (options.annotations && Object.keys(options.annotations).length > 0) {
    metadata.annotations = options.annotations;
  }
  return metadata;
}

/** Group of an apiVersion (`apps/v1` → `apps`, `v1` → ``): versions of a kind are one object. */
function groupOf(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? '').indexOf('/');
  return slash === -1 ? '' : (apiVersion ?? '').slice(0, slash);
}

/** Identity of an object within a namespace: `group/Kind/name`. */
export function childKey(obj: ObjectRef): string {
  return `${groupOf(obj.apiVersion)}/${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function isControlledBy(obj: ObjectRef, uid: string): boolean {
  return controllerOf(obj)?.uid === uid;
}

/** Observed children controlled by `uid` that are no longer desired: delete them. */
export function unwantedChildren<T extends ObjectRef>(
  observed: readonly T[],
  desired: readonly DesiredObject[],
  uid: string,
): T[] {
  const wanted = new Set(desired.map(childKey));
  return observed.filter((obj) => isControlledBy(obj, uid) && !wanted.has(childKey(obj)));
}

/** Desired children whose name is taken by an object this resource does not control. */
export function ownershipConflicts(
  observed: readonly ObjectRef[],
  desired: readonly DesiredObject[],
  uid: string,
): OwnershipConflict[] {
  const byKey = new Map(observed.map((obj) => [childKey(obj), obj]));
  const conflicts: OwnershipConflict[] = [];
  for (const want of desired) {
    const existing = byKey.get(childKey(want));
    if (!existing || isControlledBy(existing, uid)) continue;
    const controller = controllerOf(existing);
    conflicts.push({
      kind: want.kind,
      name: want.metadata.name,
      ...(controller ? { controller: `${controller.kind}/${controller.name}` } : {}),
    });
  }
  return conflicts;
}

export function namespaceOf(cr: SummarizerService): string {
  if (!cr.metadata.namespace)
    throw new Error(`SummarizerService ${cr.metadata.name} has no namespace`);
  return cr.metadata.namespace;
}
