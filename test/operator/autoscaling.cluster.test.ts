/**
 * The Deployment's replica count while autoscaling (issue 13), on the real API server with
 * the real HPA controller of kube-controller-manager: an autoscaled resource starts at its
 * minimum (never Kubernetes' default of 1), a spec change never takes the count back from
 * the HPA (server-side apply removes a field its only manager stops setting), switching
 * autoscaling on keeps max(minReplicas, current), and switching it off gives the count
 * back to spec.replicas.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER, REPLICAS_HANDOVER_MANAGER } from '../../operator/api/labels.js';
import {
  builtin,
  type KubeClient,
  type KubeObject,
  Watcher,
} from '../../operator/runtime/index.js';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  startOperator,
} from '../support/operator-harness.js';
import {
  adminClient,
  createSummarizerService,
  expectNoForbidden,
  getChild,
  patchSpec,
  summarizerService,
  waitForChild,
  waitForEvent,
  waitForGone,
} from '../support/sumsvc.js';

type Deployment = V1Deployment & KubeObject;

const kc = kubeConfig();
let client: KubeClient;
let ns: { name: string; dispose: () => Promise<void> };
let operator: OperatorProcess;
const stopWatching = new AbortController();
/** spec.replicas of every version of Deployment `prod` the API server stored, in order. */
const versions: number[] = [];
let watching: Promise<void>;

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  ns = await createTestNamespace(kc, 'op-autoscaling');
  operator = await startOperator({ namespaces: [ns.name] });
  const watcher = new Watcher<Deployment>(client, builtin.deployments, {
    namespace: ns.name,
    fieldSelector: 'metadata.name=prod',
  });
  let listed = false;
  watching = watcher.run(stopWatching.signal, (event) => {
    if (event.type === 'restarted') listed = true;
    if (event.type === 'applied') versions.push(event.object.spec?.replicas ?? 1);
  });
  await eventually(async () => listed, { what: 'the Deployment watch to start' });
});

afterAll(async () => {
  stopWatching.abort();
  await watching;
  const code = await operator?.stop('SIGTERM');
  await ns?.dispose();
  await client?.close();
  expect(code).toBe(0);
});

/** Field managers whose entry in managedFields holds spec.replicas. */
function replicasManagers(d: KubeObject): string[] {
  return (d.metadata.managedFields ?? [])
    .filter((m) => {
      const spec = (m.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.['f:spec'];
      return spec !== undefined && 'f:replicas' in spec;
    })
    .map((m) => `${m.manager}/${m.operation}${m.subresource ? `/${m.subresource}` : ''}`)
    .sort();
}

const tagOf = (d: Deployment) => d.spec?.template.spec?.containers[0]?.image?.split(':').pop();
const owner = (d: Deployment) => d.metadata.annotations?.['llmplan.io/replicas-owner'];

describe('replicas while autoscaling', () => {
  const name = 'prod';
  const autoscaling = { enabled: true, minReplicas: 3, maxReplicas: 20 };
  const deployment = (check: (d: Deployment) => boolean, what: string, timeoutMs?: number) =>
    waitForChild(client, 'deployment', ns.name, name, check, what, timeoutMs);

  it('created at minReplicas, kept through spec changes and the HPA’s own scaling, handed back when off', async () => {
    await createSummarizerService(
      client,
      summarizerService(ns.name, name, {
        replicas: 1,
        image: { repository: 'registry.local/summarizer', tag: 'v1' },
        autoscaling,
      }),
    );
    // Created at 3: the first version the API server stored already asks for 3 replicas.
    const created = await deployment(
      (d) => owner(d) === 'HorizontalPodAutoscaler',
      'created and handed over',
    );
    expect(created.spec?.replicas).toBe(3);
    expect(versions[0]).toBe(3);
    expect(replicasManagers(created)).toContain(`${REPLICAS_HANDOVER_MANAGER}/Apply`);
    await waitForEvent(
      client,
      ns.name,
      name,
      'Created',
      /^Created Deployment prod \(spec\.replicas 3 handed over to the HPA\)$/,
    );
    await deployment((d) => d.status?.readyReplicas === 3, '3 ready pods');

    // A spec change before the HPA ever wrote: the operator's apply drops replicas from its
    // own fields, and the count stays with the handover manager.
    await patchSpec(client, ns.name, name, { image: { tag: 'v2' } });
    const v2 = await deployment((d) => tagOf(d) === 'v2', 'v2 rolled out');
    expect(v2.spec?.replicas).toBe(3);
    expect(replicasManagers(v2)).toEqual([`${REPLICAS_HANDOVER_MANAGER}/Apply`]);

    // The HPA (kube-controller-manager, through the scale subresource) scales to 5 when its
    // minimum rises; then a spec change that lowers the minimum again leaves its 5 alone.
    await patchSpec(client, ns.name, name, { autoscaling: { minReplicas: 5 } });
    const scaled = await deployment((d) => d.spec?.replicas === 5, 'HPA scaled to 5', 60_000);
    expect(replicasManagers(scaled)).toEqual(['kube-controller-manager/Update/scale']);
    await patchSpec(client, ns.name, name, {
      image: { tag: 'v3' },
      autoscaling: { minReplicas: 3 },
    });
    const v3 = await deployment((d) => tagOf(d) === 'v3', 'v3 rolled out');
    expect(v3.spec?.replicas).toBe(5);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getChild(client, 'deployment', ns.name, name)).spec?.replicas).toBe(5);

    // Off: spec.replicas again, owned by the operator; the HPA goes.
    await patchSpec(client, ns.name, name, { replicas: 4, autoscaling: { enabled: false } });
    const off = await deployment(
      (d) => d.spec?.replicas === 4 && owner(d) === MANAGER,
      'spec.replicas 4 applied by the operator',
    );
    expect(replicasManagers(off)).toEqual([`${MANAGER}/Apply`]);
    await waitForGone(client, 'hpa', ns.name, name);

    // On again below the current count: max(minReplicas, current) keeps 4.
    await patchSpec(client, ns.name, name, { autoscaling: { enabled: true, minReplicas: 2 } });
    const on = await deployment(
      (d) =>
        owner(d) === 'HorizontalPodAutoscaler' && !replicasManagers(d).includes(`${MANAGER}/Apply`),
      'handed over again',
    );
    expect(on.spec?.replicas).toBe(4);
    expect(replicasManagers(on)).toEqual([`${REPLICAS_HANDOVER_MANAGER}/Apply`]);
    await waitForEvent(client, ns.name, name, 'Updated', /spec\.replicas 4 handed over to the HPA/);

    // Above it: the minimum at once, not after the HPA's first sync.
    await patchSpec(client, ns.name, name, { autoscaling: { enabled: false } });
    await deployment((d) => owner(d) === MANAGER, 'off again');
    await patchSpec(client, ns.name, name, { autoscaling: { enabled: true, minReplicas: 6 } });
    const raised = await deployment((d) => owner(d) === 'HorizontalPodAutoscaler', 'on at 6');
    expect(raised.spec?.replicas).toBe(6);

    // Every stored version, in order: never Kubernetes' default of 1, never a dip.
    await eventually(async () => versions.at(-1) === 6, { what: 'the watch to see 6' });
    expect(versions.filter((n, i) => n !== versions[i - 1])).toEqual([3, 5, 4, 6]);
    expectNoForbidden(operator);
  });
});
