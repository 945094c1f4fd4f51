/**
 * GitOps end to end (issue 12): replica counts that legitimately differ from Git. With the
 * ignoreDifferences of examples/argocd/ (`/spec/replicas`), `kubectl scale sumsvc` is not
 * drift and self-heal leaves it alone; the next sync applies spec.replicas again only where
 * Git sets it. The HPA's changes to the Deployment are not Argo CD's business at all.
 * See scenarios.ts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BUILD_TIMEOUT_MS,
  refreshed,
  syncCount,
  syncedAnd,
  waitForApplication,
} from '../support/argocd/argocd.js';
import { GitOpsScenarios, NAME, sleep } from '../support/argocd/scenarios.js';
import { kubectlOk } from '../support/kube.js';

let gitops: GitOpsScenarios<'set' | 'unset' | 'hpa'>;

beforeAll(async () => {
  gitops = await GitOpsScenarios.start(['set', 'unset', 'hpa'] as const);
  await gitops.ensureOperator();
}, BUILD_TIMEOUT_MS);
afterAll(() => gitops?.stop());

describe.skipIf(!inject('localCluster'))('replicas that differ from Git, end to end', () => {
  it('`kubectl scale sumsvc` is not drift (ignoreDifferences); it lasts until a sync applies the spec.replicas Git sets', async () => {
    const first = await gitops.commit('set', { replicas: 2 }, 'set: 2 replicas');
    const app = await gitops.createApplication('set');
    await waitForApplication(app, syncedAnd('Healthy'), { what: 'Healthy', revision: first });

    await kubectlOk(['scale', 'sumsvc', NAME, '-n', gitops.ns.set, '--replicas=4']);
    const before = await syncCount(app);
    expect(await refreshed(app)).toMatchObject({ sync: 'Synced' });
    await sleep(5_000);
    expect(await refreshed(app)).toMatchObject({ sync: 'Synced' });
    expect(await syncCount(app)).toBe(before);
    expect((await gitops.live('set')).spec.replicas).toBe(4);
    await waitForApplication(app, syncedAnd('Healthy', /^Available: 4\/4/), {
      what: '4 replicas',
    });

    // The next sync (any commit) applies Git's spec.replicas: 2 again.
    const next = await gitops.commit('set', { replicas: 2, debug: true }, 'set: debug');
    await waitForApplication(app, syncedAnd('Healthy', /^Available: 2\/2/), {
      what: 'synced back to 2 replicas',
      revision: next,
    });
    expect((await gitops.live('set')).spec.replicas).toBe(2);
  });

  it('where Git leaves spec.replicas out, `kubectl scale sumsvc` stays across syncs', async () => {
    const first = await gitops.commit('unset', {}, 'unset: v1');
    const app = await gitops.createApplication('unset');
    await waitForApplication(app, syncedAnd('Healthy'), { what: 'Healthy', revision: first });
    await kubectlOk(['scale', 'sumsvc', NAME, '-n', gitops.ns.unset, '--replicas=3']);
    const next = await gitops.commit('unset', { debug: true }, 'unset: debug');
    await waitForApplication(app, syncedAnd('Healthy', /^Available: 3\/3/), {
      what: 'Healthy with 3 replicas after a sync',
      revision: next,
    });
    expect((await gitops.live('unset')).spec.replicas).toBe(3);
  });

  it('the HPA’s replica changes (the Deployment’s scale) are not drift, and nobody takes them back', async () => {
    const first = await gitops.commit(
      'hpa',
      { replicas: 2, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } },
      'hpa: autoscaling',
    );
    const app = await gitops.createApplication('hpa');
    await waitForApplication(app, syncedAnd('Healthy'), { what: 'Healthy', revision: first });
    const before = await syncCount(app);
    // What the HPA controller does: write the Deployment's scale subresource.
    await kubectlOk(['scale', 'deployment', NAME, '-n', gitops.ns.hpa, '--replicas=5']);
    expect(await refreshed(app)).toMatchObject({ sync: 'Synced' });
    await sleep(10_000);
    expect(await refreshed(app)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    expect((await gitops.deployment('hpa')).replicas).toBe(5);
    expect(await syncCount(app)).toBe(before);
  });
});
