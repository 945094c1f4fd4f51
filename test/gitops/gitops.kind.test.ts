/**
 * GitOps on the real cluster: real Argo CD (hack/argocd/argocd.sh, host processes
 * against the kind API server) syncs a SummarizerService from Git; the operator
 * installed in-cluster by deploy/ runs it on real pods of this checkout's image.
 * A commit that crashes the service at start is rolled back by the operator and
 * Argo CD shows Degraded, still Synced (the spec in the cluster is Git's); the
 * revert is Healthy again. The fast cluster's GitOps tests
 * (hack/argocd/) cover the rest on fake nodes.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  applicationFromExample,
  BUILD_TIMEOUT_MS,
  createApplication,
  deleteApplications,
  startArgocd,
  syncedAnd,
  waitForApplication,
} from '../support/argocd/argocd.js';
import { GitRepo } from '../support/argocd/git.js';
import { SHARED_LMSTUDIO, serviceImage } from '../support/kind.js';
import { createTestNamespace, kubeConfig } from '../support/kube.js';
import { deploymentOf } from '../support/kubectl-sumsvc.js';

let argocd: { stop: () => Promise<void> };
let repo: GitRepo;
let ns: { name: string; dispose: () => Promise<void> };
const app = () => ns.name;

beforeAll(async () => {
  // Without the example Applications: one node's CPU is counted (hack/kind/README.md).
  argocd = await startArgocd({ examples: false });
  repo = await GitRepo.create();
  ns = await createTestNamespace(kubeConfig(), 'kind-gitops');
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await deleteApplications(ns ? [app()] : []);
  await ns?.dispose();
  repo?.dispose();
  await argocd?.stop();
});

function commit(env: Array<{ name: string; value: string }>, message: string): Promise<string> {
  const manifest = stringify({
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: { name: 'llmplan', namespace: ns.name },
    spec: {
      image: { ...serviceImage(), pullPolicy: 'IfNotPresent' },
      lmstudio: SHARED_LMSTUDIO,
      resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      remediation: { cooldownSeconds: 0 },
      env,
    },
  });
  return repo.commit({ 'llmplan/sumsvc.yaml': manifest }, message);
}

describe('Argo CD on the kind cluster', () => {
  it('Healthy on real pods; a crashing commit → rolled back, Degraded and Synced; the revert → Healthy', async () => {
    const first = await commit([], 'llmplan: the summarizer');
    await createApplication(
      applicationFromExample({
        name: app(),
        repoURL: repo.url,
        path: 'llmplan',
        namespace: ns.name,
      }),
    );
    let started = Date.now();
    await waitForApplication(app(), syncedAnd('Healthy'), {
      what: 'Synced and Healthy',
      revision: first,
      timeoutMs: 240_000,
    });
    console.info(`commit → Synced + Healthy on real pods: ${Date.now() - started} ms`);
    const healthyImage = (await deploymentOf(ns.name)).image;

    const crash = await commit(
      [{ name: 'LMSTUDIO_BREAKER_FAILURES', value: 'lots' }],
      'llmplan: a value the service refuses at start',
    );
    started = Date.now();
    const degraded = await waitForApplication(app(), syncedAnd('Degraded', /RolledBack/), {
      what: 'Synced and Degraded (RolledBack)',
      revision: crash,
      timeoutMs: 240_000,
    });
    console.info(`crashing commit → Degraded (RolledBack), Synced: ${Date.now() - started} ms`);
    expect(degraded.sync).toBe('Synced');
    // The operator serves the healthy template again; Git's spec stays in the cluster.
    expect((await deploymentOf(ns.name)).image).toBe(healthyImage);

    const revert = await commit([], 'Revert: llmplan back to the working configuration');
    started = Date.now();
    await waitForApplication(app(), syncedAnd('Healthy'), {
      what: 'Healthy after the revert',
      revision: revert,
      timeoutMs: 240_000,
    });
    console.info(`revert commit → Healthy: ${Date.now() - started} ms`);
  });
});
