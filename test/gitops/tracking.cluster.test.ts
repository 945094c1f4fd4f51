/**
 * GitOps end to end (issue 12): Argo CD neither claims nor prunes what the operator creates,
 * with annotation tracking (examples/argocd/argocd-cm.yaml) and with label tracking. The
 * children carry no tracking annotation, and their instance label is the SummarizerService's
 * name; Argo CD leaves objects with owner references out of what an Application manages.
 * See scenarios.ts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ARGOCD_NAMESPACE,
  BUILD_TIMEOUT_MS,
  syncedAnd,
  waitForApplication,
} from '../support/argocd/argocd.js';
import { GitOpsScenarios, NAME } from '../support/argocd/scenarios.js';
import { eventually, kubectlOk } from '../support/kube.js';

type Scenario = 'annotation' | 'label';
const TRACKING_ID = 'argocd.argoproj.io/tracking-id';
const INSTANCE = 'app.kubernetes.io/instance';
const CHILD_KINDS = [
  'ConfigMap',
  'ControllerRevision',
  'Deployment',
  'Pod',
  'PodDisruptionBudget',
  'ReplicaSet',
  'Service',
  'ServiceAccount',
];
/** The children that outlive a rollout (pods, ReplicaSets and revisions do not). */
const LASTING_KINDS = [
  'ConfigMap',
  'Deployment',
  'PodDisruptionBudget',
  'Service',
  'ServiceAccount',
];

let gitops: GitOpsScenarios<Scenario>;

beforeAll(async () => {
  gitops = await GitOpsScenarios.start(['annotation', 'label'] as const);
  await gitops.ensureOperator();
}, BUILD_TIMEOUT_MS);
afterAll(() => gitops?.stop());

interface Child {
  kind: string;
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
}

/** Everything in the namespace labelled as part of `instance`, but the SummarizerService. */
async function children(scenario: Scenario, instance: string): Promise<Child[]> {
  const kinds =
    'deployments,replicasets,pods,services,configmaps,serviceaccounts,poddisruptionbudgets,controllerrevisions';
  const list = JSON.parse(
    await kubectlOk([
      'get',
      kinds,
      '-n',
      gitops.ns[scenario],
      '-l',
      `${INSTANCE}=${instance}`,
      '-o',
      'json',
    ]),
  ) as { items: Child[] };
  return list.items;
}

const uids = (objects: Child[]) =>
  Object.fromEntries(
    objects
      .filter((c) => LASTING_KINDS.includes(c.kind))
      .map((c) => [`${c.kind}/${c.metadata.name}`, c.metadata.uid]),
  );

/** argocd-cm's application.resourceTrackingMethod (the controller watches argocd-cm). */
async function setTrackingMethod(method: Scenario): Promise<void> {
  await kubectlOk([
    'patch',
    'configmap',
    'argocd-cm',
    '-n',
    ARGOCD_NAMESPACE,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { 'application.resourceTrackingMethod': method } }),
  ]);
}

/**
 * Syncs a SummarizerService named `name` until Healthy, then a second commit (a sync with
 * prune: true): Argo CD manages the SummarizerService alone, and every child keeps its UID.
 * `inForce` checks, between the two, that the tracking method under test is in effect.
 */
async function syncTwiceAndCompare(
  scenario: Scenario,
  name: string,
  inForce: () => Promise<unknown>,
): Promise<Child[]> {
  const first = await gitops.commit(scenario, { replicas: 2 }, `${scenario}: v1`, name);
  const app = await gitops.createApplication(scenario);
  await waitForApplication(app, syncedAnd('Healthy'), { what: 'Healthy', revision: first });
  const before = await children(scenario, name);
  expect(new Set(before.map((c) => c.kind))).toEqual(new Set(CHILD_KINDS));
  for (const child of before) expect(child.metadata.ownerReferences ?? []).not.toHaveLength(0);
  await inForce();

  const spec = { replicas: 2, remediation: { cooldownSeconds: 1 } };
  const next = await gitops.commit(scenario, spec, `${scenario}: a sync with prune`, name);
  const view = await waitForApplication(app, syncedAnd('Healthy'), {
    what: 'synced again',
    revision: next,
  });
  expect(view.resources).toEqual([`SummarizerService/${gitops.ns[scenario]}/${name}`]);
  expect(uids(await children(scenario, name))).toEqual(uids(before));
  return before;
}

describe.skipIf(!inject('localCluster'))('what Argo CD tracks, end to end', () => {
  it('annotation tracking: the children carry no tracking annotation; Argo CD neither claims nor prunes them', async () => {
    const before = await syncTwiceAndCompare('annotation', NAME, async () =>
      expect((await gitops.live('annotation')).metadata.annotations).toHaveProperty(TRACKING_ID),
    );
    for (const child of before)
      expect(child.metadata.annotations ?? {}).not.toHaveProperty(TRACKING_ID);
  });

  it('label tracking: an Application named like the SummarizerService, whose instance label the children carry, neither claims nor prunes them', async () => {
    const name = gitops.ns.label; // the Application's name, the SummarizerService's and the label
    await setTrackingMethod('label');
    try {
      // Argo CD labels the SummarizerService it tracks: then the setting is in force.
      const before = await syncTwiceAndCompare('label', name, () =>
        eventually(
          async () => (await gitops.live('label', name)).metadata.labels?.[INSTANCE] === name,
          { what: 'the tracking label on the SummarizerService' },
        ),
      );
      for (const child of before) expect(child.metadata.labels?.[INSTANCE]).toBe(name);
    } finally {
      await setTrackingMethod('annotation');
    }
  });
});
