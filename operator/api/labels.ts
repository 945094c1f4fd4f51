/**
 * Label and annotation keys the operator writes, and the names it gives things.
 *
 * Argo CD: the pods carry `app.kubernetes.io/instance=<cr name>`, and Argo CD's tracking
 * label or annotation is never copied onto children
 * (docs/resource.md#what-the-operator-owns). Both hold:
 * - children get labels built here from the CR's *name*, never a copy of the CR's
 *   `metadata.labels` or `metadata.annotations` (which is where Argo CD writes its
 *   `app.kubernetes.io/instance=<application>` label or `argocd.argoproj.io/tracking-id`);
 * - user-supplied pod labels/annotations are filtered through `withoutArgoTracking`;
 * - with Argo CD's label tracking (the default before Argo CD 3.0) an Application named
 *   like a CR would claim the children by their instance label; the children's controller
 *   ownerReference keeps Argo CD from pruning them, and examples/argocd names Applications
 *   `llmplan-<env>` and configures annotation tracking (the default since 3.0).
 */

/** `app.kubernetes.io/name` of everything the operator creates. */
export const APP_NAME = 'llmplan';
/** Value of `app.kubernetes.io/managed-by` and the server-side-apply field manager. */
export const MANAGER = 'llmplan-operator';
export const FIELD_MANAGER = MANAGER;
/**
 * The field manager that hands a Deployment's `spec.replicas` over to the HPA: the
 * operator's own apply leaves the field out while autoscaling, and server-side apply would
 * remove a field its only manager stops setting. See reconcile/replicas.ts.
 */
export const REPLICAS_HANDOVER_MANAGER = 'llmplan-replicas-handover';

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
} as const;

/** Annotations under the operator's own prefix. */
export const ANNOTATIONS = {
  /** sha256 (short) of the ConfigMap data, on the pod template: a config change rolls the pods. */
  configHash: 'llmplan.io/config-hash',
  /** Hash of the pod template the Deployment serves (after remediation overrides). */
  templateHash: 'llmplan.io/template-hash',
  /** Revision the served template came from: the spec's, or the rollback target's. */
  revision: 'llmplan.io/revision',
  /**
   * Hash of the whole object the operator last applied to a child. A subset comparison
   * cannot see a field the operator stopped setting; the hash changes when it does.
   */
  appliedHash: 'llmplan.io/applied-hash',
  /**
   * Who sets the Deployment's spec.replicas: `llmplan-operator` (autoscaling off, its
   * apply sets the field) or, written by the handover manager, `HorizontalPodAutoscaler`
   * (see reconcile/replicas.ts).
   */
  replicasOwner: 'llmplan.io/replicas-owner',
  /**
   * The opt-in to adoption (issue 11): on an existing object that has no controller, the
   * name of the SummarizerService that may take it over. `llmplanctl migrate helm` sets it
   * on a Helm release's objects; nothing else is ever adopted (see reconcile/adopt.ts).
   */
  adopt: 'llmplan.io/adopt',
} as const;

/** Values of {@link ANNOTATIONS.replicasOwner}. */
export const REPLICAS_OWNER = { operator: MANAGER, hpa: 'HorizontalPodAutoscaler' } as const;

/** Argo CD's tracking keys: never written by the operator onto a child. */
export const ARGOCD_TRACKING_KEYS: readonly string[] = [
  'argocd.argoproj.io/tracking-id',
  'argocd.argoproj.io/instance',
];

/** Labels the operator owns; the CRD refuses them in `spec.podLabels`. */
export const RESERVED_POD_LABELS: readonly string[] = [
  LABELS.name,
  LABELS.instance,
  LABELS.managedBy,
];

/** Components, so `kubectl get all -l app.kubernetes.io/component=summarizer` finds the app. */
export const COMPONENTS = { summarizer: 'summarizer', backend: 'lmstudio-backend' } as const;

/** Labels that select the pods of one SummarizerService (Deployment selector, Service, PDB). */
export function selectorLabels(crName: string): Record<string, string> {
  return { [LABELS.name]: APP_NAME, [LABELS.instance]: crName };
}

/** The standard labels of every child of one SummarizerService. */
export function standardLabels(
  crName: string,
  component: string = COMPONENTS.summarizer,
): Record<string, string> {
  return { ...selectorLabels(crName), [LABELS.managedBy]: MANAGER, [LABELS.component]: component };
}

/** `a=b,c=d`, the form of `status.selector` used by the scale subresource. */
export function labelSelectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** A copy of `map` without Argo CD's tracking keys. */
export function withoutArgoTracking(
  map: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) {
    if (!ARGOCD_TRACKING_KEYS.includes(key)) out[key] = value;
  }
  return out;
}

/** Child names (docs/resource.md#what-the-operator-owns). */
export const childNames = {
  deployment: (crName: string) => crName,
  service: (crName: string) => crName,
  hpa: (crName: string) => crName,
  ingress: (crName: string) => crName,
  serviceAccount: (crName: string) => crName,
  pdb: (crName: string) => crName,
  configMap: (crName: string) => `${crName}-config`,
  /** ControllerRevision of one pod template (issue 5). */
  controllerRevision: (crName: string, revision: string) => `${crName}-${revision}`,
} as const;

/** Name of the container in the pod template; the runbook's `kubectl exec` lands in it. */
export const CONTAINER_NAME = 'summarizer';
/** Name of the container port and of the Service port. */
export const HTTP_PORT_NAME = 'http';
