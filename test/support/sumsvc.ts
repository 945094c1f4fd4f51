/**
 * Test helpers for SummarizerServices on the real API server, from the user's side: an
 * admin client (never the operator's identity), create/patch/read a resource, read its
 * children and Events, and wait for its status. Nothing here is mocked.
 */
import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1PodDisruptionBudget,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { expect } from 'vitest';
import type { Condition, SummarizerServiceStatus } from '../../operator/api/status.js';
import { API_VERSION, KIND } from '../../operator/api/summarizerservice.js';
import { summarizerServices } from '../../operator/reconcile/resources.js';
import {
  builtin,
  KubeClient,
  type KubeEvent,
  type KubeObject,
  type ResourceDescriptor,
} from '../../operator/runtime/index.js';
import { eventually, kubeConfig } from './kube.js';
import type { LogLine, OperatorProcess } from './operator-harness.js';

/** Field manager of what the tests write as "the user". */
export const USER_MANAGER = 'llmplan-tests';

export type Spec = Record<string, unknown>;

export interface SummarizerServiceObject extends KubeObject {
  spec: Spec;
  status?: SummarizerServiceStatus;
}

/** A client with the admin kubeconfig of the test cluster: the user, not the operator. */
export function adminClient(): KubeClient {
  return new KubeClient(kubeConfig(), { fieldManager: USER_MANAGER });
}

export function summarizerService(
  namespace: string,
  name: string,
  spec: Spec,
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): SummarizerServiceObject {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, ...metadata }, spec };
}

export async function createSummarizerService(
  client: KubeClient,
  obj: SummarizerServiceObject,
): Promise<SummarizerServiceObject> {
  return client.create<SummarizerServiceObject>(summarizerServices, obj);
}

export async function getSummarizerService(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<SummarizerServiceObject> {
  return client.get<SummarizerServiceObject>(summarizerServices, name, namespace);
}

/** A JSON merge patch of the spec (what `kubectl patch --type=merge` sends). */
export async function patchSpec(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Spec,
): Promise<SummarizerServiceObject> {
  return client.patch<SummarizerServiceObject>(summarizerServices, name, namespace, { spec });
}

export function condition(
  obj: { status?: SummarizerServiceStatus } | undefined,
  type: string,
): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the resource's status satisfies `check` (for the current generation). */
export async function waitForStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  check: (obj: SummarizerServiceObject) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<SummarizerServiceObject> {
  let last: SummarizerServiceObject | undefined;
  try {
    return await eventually(
      async () => {
        last = await getSummarizerService(client, namespace, name);
        const current = last.status?.observedGeneration === last.metadata.generation;
        return current && check(last) ? last : undefined;
      },
      { what, timeoutMs },
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last status: ${JSON.stringify(last?.status ?? null)}`,
    );
  }
}

export const kinds = {
  deployment: builtin.deployments,
  service: builtin.services,
  configMap: builtin.configMaps,
  serviceAccount: builtin.serviceAccounts,
  hpa: builtin.horizontalPodAutoscalers,
  pdb: builtin.podDisruptionBudgets,
  ingress: builtin.ingresses,
} as const;

/** The object types the kinds above answer with. */
export interface ChildTypes {
  deployment: V1Deployment;
  service: V1Service;
  configMap: V1ConfigMap;
  serviceAccount: V1ServiceAccount;
  hpa: V2HorizontalPodAutoscaler;
  pdb: V1PodDisruptionBudget;
  ingress: V1Ingress;
}

export async function findChild<K extends keyof ChildTypes>(
  client: KubeClient,
  kind: K,
  namespace: string,
  name: string,
): Promise<(ChildTypes[K] & KubeObject) | undefined> {
  return client.find<ChildTypes[K] & KubeObject>(kinds[kind], name, namespace);
}

export async function getChild<K extends keyof ChildTypes>(
  client: KubeClient,
  kind: K,
  namespace: string,
  name: string,
): Promise<ChildTypes[K] & KubeObject> {
  return client.get<ChildTypes[K] & KubeObject>(kinds[kind], name, namespace);
}

/** Waits until the child exists and satisfies `check`; returns it. */
export async function waitForChild<K extends keyof ChildTypes>(
  client: KubeClient,
  kind: K,
  namespace: string,
  name: string,
  check: (obj: ChildTypes[K] & KubeObject) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ChildTypes[K] & KubeObject> {
  let last: (ChildTypes[K] & KubeObject) | undefined;
  try {
    return await eventually(
      async () => {
        last = await findChild(client, kind, namespace, name);
        return last && check(last) ? last : undefined;
      },
      { what: `${kind} ${name}: ${what}`, timeoutMs },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last ?? null)}`);
  }
}

/** Waits until the child no longer exists. */
export async function waitForGone(
  client: KubeClient,
  kind: keyof ChildTypes,
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  await eventually(async () => (await findChild(client, kind, namespace, name)) === undefined, {
    what: `${kind} ${name} to be deleted`,
    timeoutMs,
  });
}

/** Every object of `resource` in `namespace` (all labels). */
export async function listAll(
  client: KubeClient,
  resource: ResourceDescriptor,
  namespace: string,
): Promise<KubeObject[]> {
  return (await client.list(resource, { namespace })).items;
}

/** events.k8s.io Events about one object, oldest first. */
export async function eventsAbout(
  client: KubeClient,
  namespace: string,
  kind: string,
  name: string,
): Promise<KubeEvent[]> {
  const list = await client.list<KubeEvent>(builtin.events, {
    namespace,
    fieldSelector: `regarding.kind=${kind},regarding.name=${name}`,
  });
  return list.items.sort((a, b) => (a.eventTime ?? '').localeCompare(b.eventTime ?? ''));
}

/** Waits until an Event about the SummarizerService with `reason` (and a note matching) exists. */
export async function waitForEvent(
  client: KubeClient,
  namespace: string,
  name: string,
  reason: string,
  note: RegExp = /.*/,
  timeoutMs = 30_000,
): Promise<KubeEvent> {
  return eventually(
    async () =>
      (await eventsAbout(client, namespace, KIND, name)).find(
        (e) => e.reason === reason && note.test(e.note ?? ''),
      ),
    { what: `an Event ${reason} matching ${note} about ${KIND} ${name}`, timeoutMs },
  );
}

/** Log lines that report an RBAC refusal. */
export function forbiddenLines(logs: readonly LogLine[]): LogLine[] {
  return logs.filter((l) => /forbidden|\b403\b/i.test(JSON.stringify(l)));
}

/**
 * The operator ran under deploy/'s RBAC and was never refused (RBAC is sufficient), from
 * log line `from` on.
 */
export function expectNoForbidden(operator: OperatorProcess, from = 0): void {
  expect(forbiddenLines(operator.logs.slice(from)).map((l) => JSON.stringify(l))).toEqual([]);
}
