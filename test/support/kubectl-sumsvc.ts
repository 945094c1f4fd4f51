/**
 * What the end-to-end tests do as a user would, through kubectl: server-side apply the
 * SummarizerService `llmplan`, change its image tag, read it back with its conditions,
 * history, Events and Deployment. Used on both clusters (fake nodes and kind).
 */
import type { HistoryEntry, SummarizerServiceStatus } from '../../operator/api/status.js';
import { eventually, kubectlOk } from './kube.js';

export const NAME = 'llmplan';

/** Server-side applies SummarizerService `llmplan` in `ns` with this spec (field manager e2e). */
export async function applySummarizerService(
  ns: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const object = {
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: { name: NAME, namespace: ns },
    spec,
  };
  await kubectlOk(['apply', '--server-side', '--field-manager=e2e', '-f', '-'], {
    input: JSON.stringify(object),
  });
}

/** `kubectl patch --type=merge` of SummarizerService NAME's spec with `spec`. */
export async function patchSpec(ns: string, spec: Record<string, unknown>): Promise<void> {
  await kubectlOk([
    'patch',
    'sumsvc',
    NAME,
    '-n',
    ns,
    '--type=merge',
    '-p',
    JSON.stringify({ spec }),
  ]);
}

/** `kubectl patch --type=merge` of spec.image.tag: a new rollout. */
export async function setTag(ns: string, tag: string): Promise<void> {
  await patchSpec(ns, { image: { tag } });
}

/** Sets a (fake-node) pod's Ready condition through its status subresource. */
export async function setPodReady(ns: string, pod: string, value: 'True' | 'False'): Promise<void> {
  await kubectlOk([
    'patch',
    'pod',
    pod,
    '-n',
    ns,
    '--subresource=status',
    '--type=strategic',
    '-p',
    JSON.stringify({
      status: {
        conditions: [
          { type: 'Ready', status: value, lastTransitionTime: new Date().toISOString() },
        ],
      },
    }),
  ]);
}

/** The SummarizerService as `kubectl get -o json` prints it. */
export async function getSummarizerService<T>(ns: string): Promise<T> {
  return JSON.parse(await kubectlOk(['get', 'sumsvc', NAME, '-n', ns, '-o', 'json'])) as T;
}

/** `kubectl get sumsvc llmplan`, the table a user reads, as column → value (and the raw text). */
export async function getRow(ns: string): Promise<{ text: string; row: Record<string, string> }> {
  const text = await kubectlOk(['get', 'sumsvc', NAME, '-n', ns]);
  const [header = '', line = ''] = text.trim().split('\n');
  const values = line.trim().split(/\s+/);
  const row = Object.fromEntries(
    header
      .trim()
      .split(/\s+/)
      .map((h, i) => [h, values[i] ?? '']),
  );
  return { text, row };
}

/** The parts of SummarizerService `llmplan` the end-to-end tests read. */
export interface Observed {
  metadata: { generation?: number };
  spec: { image: { tag: string } };
  status?: SummarizerServiceStatus;
}

export const observe = (ns: string) => getSummarizerService<Observed>(ns);

/** The first container of Deployment `llmplan`: image, memory limit, and the replica count. */
export async function deploymentOf(
  ns: string,
): Promise<{ image: string; memory?: string; replicas?: number }> {
  const d = JSON.parse(await kubectlOk(['get', 'deployment', NAME, '-n', ns, '-o', 'json'])) as {
    spec: {
      replicas?: number;
      template: {
        spec: {
          containers: Array<{ image: string; resources?: { limits?: { memory?: string } } }>;
        };
      };
    };
  };
  const container = d.spec.template.spec.containers[0]!;
  return {
    image: container.image,
    memory: container.resources?.limits?.memory,
    replicas: d.spec.replicas,
  };
}

export const condition = (o: Observed, type: string) =>
  o.status?.conditions?.find((c) => c.type === type);

/** Waits until the current revision is the last healthy one and Ready is True. */
export async function waitHealthy(ns: string, what: string, timeoutMs = 60_000): Promise<Observed> {
  return eventually(
    async () => {
      const o = await observe(ns);
      const current = o.status?.currentRevision;
      return current &&
        o.status?.lastHealthyRevision === current &&
        condition(o, 'Ready')?.status === 'True'
        ? o
        : undefined;
    },
    { what, timeoutMs },
  );
}

/** The notes of the SummarizerService's Events with this reason. */
export async function eventsFor(ns: string, reason: string): Promise<string[]> {
  const list = JSON.parse(
    await kubectlOk(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json']),
  ) as { items: Array<{ reason?: string; note?: string; regarding?: { kind?: string } }> };
  return list.items
    .filter((e) => e.reason === reason && e.regarding?.kind === 'SummarizerService')
    .map((e) => e.note ?? '');
}

/** status.history, or its entries of one action. */
export const actions = (o: Observed, action?: string): HistoryEntry[] =>
  (o.status?.history ?? []).filter((h) => !action || h.action === action);
