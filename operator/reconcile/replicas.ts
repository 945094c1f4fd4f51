/**
 * The Deployment's `spec.replicas` while autoscaling (issue 13).
 *
 * The HPA owns the count then, so the operator's apply leaves the field out. Two traps:
 * - a Deployment created without `replicas` starts at Kubernetes' default of 1 and stays
 *   there until the HPA's first sync (15 s to minutes), whatever `minReplicas` says;
 * - server-side apply removes a field its only manager stops setting: had the operator
 *   applied `replicas` (at create, or while autoscaling was off) and the HPA not written
 *   a different count since, the next apply without it would drop the Deployment to 1.
 *
 * So the field is handed over, the way the Kubernetes docs hand a field to an HPA: a
 * second field manager, {@link REPLICAS_HANDOVER_MANAGER}, applies the count alone —
 * the HPA's minimum for a new Deployment (created at that count, never at 1), or
 * max(minReplicas, current) when autoscaling is switched on — together with the
 * annotation `llmplan.io/replicas-owner: HorizontalPodAutoscaler`. From then on the
 * operator's apply does not mention the field, and the field stays: the handover manager
 * holds it until the HPA's first write to the scale subresource takes it over.
 *
 * The annotation is what makes this level-triggered: while autoscaling, a Deployment
 * without it (just created, created by an older operator, or a crash between the two
 * writes) is handed over again, idempotently. With autoscaling off, the operator's apply
 * sets `replicas` and the annotation (`llmplan-operator`) itself, by force, and so takes
 * both back.
 */
import { ANNOTATIONS, REPLICAS_HANDOVER_MANAGER, REPLICAS_OWNER } from '../api/labels.js';
import type { KubeClient, KubeObject, ResourceDescriptor } from '../runtime/index.js';

type WithReplicas = KubeObject & { spec?: { replicas?: number } };

/**
 * The count to hand over to the HPA before the operator applies an autoscaled
 * Deployment, or undefined when it has been handed over already.
 */
export function replicasToHandOver(
  live: KubeObject | undefined,
  minReplicas: number,
): number | undefined {
  if (live?.metadata.annotations?.[ANNOTATIONS.replicasOwner] === REPLICAS_OWNER.hpa) {
    return undefined;
  }
  if (!live) return minReplicas;
  return Math.max(minReplicas, (live as WithReplicas).spec?.replicas ?? 1);
}

/** What the handover manager applies: the count and the annotation, nothing else. */
export function handoverObject(deployment: KubeObject, replicas: number): KubeObject {
  const { name, namespace } = deployment.metadata;
  return {
    apiVersion: deployment.apiVersion,
    kind: deployment.kind,
    metadata: { name, namespace, annotations: { [ANNOTATIONS.replicasOwner]: REPLICAS_OWNER.hpa } },
    spec: { replicas },
  } as KubeObject;
}

export interface Handover {
  /** The Deployment afterwards. */
  object: KubeObject;
  replicas: number;
}

/**
 * Hands `spec.replicas` of an autoscaled Deployment over if needed, creating the
 * Deployment (the operator's apply of `desired` with that count) when it does not exist
 * yet. Undefined: nothing to do. The caller's apply of `desired` follows either way.
 */
export async function handOverReplicas(
  client: KubeClient,
  resource: ResourceDescriptor,
  desired: KubeObject,
  live: KubeObject | undefined,
  minReplicas: number,
  signal?: AbortSignal,
): Promise<Handover | undefined> {
  const replicas = replicasToHandOver(live, minReplicas);
  if (replicas === undefined) return undefined;
  if (!live) {
    const spec = (desired as WithReplicas).spec ?? {};
    const created = { ...desired, spec: { ...spec, replicas } } as KubeObject;
    await client.apply(resource, created, { force: true, signal });
  }
  const object = await client.apply(resource, handoverObject(desired, replicas), {
    fieldManager: REPLICAS_HANDOVER_MANAGER,
    force: true,
    signal,
  });
  return { object, replicas };
}
