/**
 * Adoption: a SummarizerService takes over an existing object of a child's name only when
 * that object opts in — annotation `llmplan.io/adopt: <SummarizerService name>`, which
 * `llmplanctl migrate helm` writes on a Helm release's objects — and has no controller.
 * Every other same-name object stays an OwnershipConflict, left untouched.
 *
 * Taking over = the fields of the object's imperative writers (Helm, kubectl) move into the
 * operator's Apply entry (runtime/managed-fields.ts), then the reconciler's usual forced
 * apply sets the controller owner reference and the standard labels, and removes
 * everything the desired child does not have: Helm's labels and annotations, the marker
 * itself, a container or ConfigMap key of the old chart. The object keeps its uid (a
 * Service its ClusterIP and endpoints): it is updated, never deleted and recreated.
 */
import { ANNOTATIONS, FIELD_MANAGER } from '../api/labels.js';
import {
  controllerOf,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
  takeOverFields,
} from '../runtime/index.js';

/** Whether `live` (not controlled by the resource) may be adopted by SummarizerService `crName`. */
export function isAdoptable(live: KubeObject, crName: string): boolean {
  return (
    controllerOf(live) === undefined && live.metadata.annotations?.[ANNOTATIONS.adopt] === crName
  );
}

/**
 * Prepares an adoptable object for the operator's apply: re-read (cached copies carry no
 * managedFields), then its imperative writers' fields handed to the operator's field manager.
 * The caller applies the desired child next.
 */
export async function adopt(
  client: KubeClient,
  resource: ResourceDescriptor,
  live: KubeObject,
  apiVersion: string,
  signal?: AbortSignal,
): Promise<KubeObject> {
  const fresh = await client.get(resource, live.metadata.name ?? '', live.metadata.namespace, {
    signal,
  });
  return takeOverFields(client, resource, fresh, { manager: FIELD_MANAGER, apiVersion, signal });
}
