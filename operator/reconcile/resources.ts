/**
 * REST descriptors of every kind the SummarizerService owns (and its own, from api/), so the reconciler
 * can address a desired object by its apiVersion/kind.
 */

import { MANAGED_CHILD_KINDS } from '../desired/children.js';
import { builtin, type ResourceDescriptor } from '../runtime/index.js';

export { summarizerServices } from '../api/summarizerservice.js';

const CHILD_DESCRIPTORS: readonly ResourceDescriptor[] = [
  builtin.serviceAccounts,
  builtin.configMaps,
  builtin.services,
  builtin.deployments,
  builtin.horizontalPodAutoscalers,
  builtin.podDisruptionBudgets,
  builtin.ingresses,
];

const byApiVersionKind = new Map(
  CHILD_DESCRIPTORS.map((d) => [`${d.group ? `${d.group}/` : ''}${d.version}/${d.kind}`, d]),
);

/** Descriptor of a child kind; throws for a kind the operator does not manage (a bug). */
export function childResource(apiVersion: string, kind: string): ResourceDescriptor {
  const descriptor = byApiVersionKind.get(`${apiVersion}/${kind}`);
  if (!descriptor) throw new Error(`no descriptor for child ${apiVersion} ${kind}`);
  return descriptor;
}

/** Every managed child kind, in MANAGED_CHILD_KINDS order (checked at load). */
export const childResources: readonly ResourceDescriptor[] = MANAGED_CHILD_KINDS.map((k) =>
  childResource(k.apiVersion, k.kind),
);
