/**
 * GitOps end to end (issue 12), the sync and health of a SummarizerService as real Argo CD
 * reports them: Progressing until the operator reports, Healthy once it does, Degraded after
 * the operator rolled a crashing commit back (Synced all along: the spec in the cluster is
 * Git's), no sync loop with self-heal on, Suspended while paused. See scenarios.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  application,
  argocdRepo,
  BUILD_TIMEOUT_MS,
  syncCount,
  syncedAnd,
  waitForApplication,
} from '../support/argocd/argocd.js';
import { GitOpsScenarios, NAME, sleep } from '../support/argocd/scenarios.js';
import { eventually, kubectlOk } from '../support/kube.js';

const run = promisify(execFile);
let gitops: GitOpsScenarios<'main' | 'paused'>;

beforeAll(async () => {
  gitops = await GitOpsScenarios.start(['main', 'paused'] as const);
}, BUILD_TIMEOUT_MS);
afterAll(() => gitops?.stop());

describe('the Applications of examples/argocd/, from the launcher', () => {
  it('sync examples/ from the cluster’s gitops.git: dev and staging automatically, prod on demand', async () => {
    const gitDir = await argocdRepo();
    const head = (await run('git', ['--git-dir', gitDir, 'rev-parse', 'main'])).stdout.trim();
    for (const env of ['dev', 'staging']) {
      // No operator watches llmplan-<env> in the tests (`make up` runs one): Progressing then.
      const view = await waitForApplication(
        `llmplan-${env}`,
        (v) => v.sync === 'Synced' && ['Progressing', 'Healthy'].includes(v.health ?? ''),
        { what: 'Synced', revision: head },
      );
      expect(view.resources).toEqual([
        `Namespace//llmplan-${env}`,
        `SummarizerService/llmplan-${env}/llmplan`,
      ]);
    }
    const prod = await waitForApplication('llmplan-prod', (v) => v.sync === 'OutOfSync', {
      what: 'OutOfSync (manual sync)',
      revision: head,
    });
    expect(prod.health).toBe('Missing');
  });
});

describe.skipIf(!inject('localCluster'))('sync and health, end to end', () => {
  let app: string;

  it('Synced and Progressing until the operator reports, then Healthy; a commit rolls out to Healthy', async () => {
    const first = await gitops.commit('main', { replicas: 2 }, 'main: v1');
    app = await gitops.createApplication('main');
    const waiting = await waitForApplication(app, syncedAnd('Progressing'), {
      what: 'Synced and Progressing without an operator',
      revision: first,
    });
    expect(waiting.message).toBe('Waiting for the operator to observe generation 1');
    expect(waiting.resources).toEqual([`SummarizerService/${gitops.ns.main}/${NAME}`]);

    const started = Date.now();
    await gitops.ensureOperator();
    await gitops.timed(
      'operator started → Healthy',
      started,
      waitForApplication(app, syncedAnd('Healthy'), { what: 'Healthy' }),
    );

    const committed = Date.now();
    const second = await gitops.commit('main', { replicas: 2, tag: 'v2' }, 'main: v2');
    const healthy = await gitops.timed(
      'commit (new tag) → Synced + Healthy',
      committed,
      waitForApplication(app, syncedAnd('Healthy'), { what: 'Healthy at v2', revision: second }),
    );
    expect(healthy.message).toMatch(/^Available: 2\/2 replicas ready/);
    expect(await gitops.deployment('main')).toMatchObject({
      image: 'registry.local/summarizer:v2',
    });
    const sr = await gitops.live('main');
    expect(sr.status?.observedGeneration).toBe(sr.metadata.generation);
  });

  it('a crashing tag: the operator rolls back, the Application is Degraded and still Synced, no sync loop for a minute; a revert commit → Healthy', async () => {
    const operator = await gitops.ensureOperator();
    const syncsBefore = await syncCount(app);
    const reconcilesBefore = await operator.metricValue('controller_runtime_reconcile_total');
    const committed = Date.now();
    const crash = await gitops.commit(
      'main',
      { replicas: 2, tag: 'v3-crashloop' },
      'main: v3-crashloop',
    );
    const degraded = await gitops.timed(
      'commit (crashing tag) → Degraded (rolled back)',
      committed,
      waitForApplication(app, syncedAnd('Degraded', /^RolledBack: /), {
        what: 'Degraded, RolledBack',
        revision: crash,
        timeoutMs: 90_000,
      }),
    );
    expect(degraded.sync).toBe('Synced'); // the spec in the cluster is Git's
    expect((await gitops.live('main')).spec.image.tag).toBe('v3-crashloop');
    expect(await gitops.deployment('main')).toMatchObject({
      image: 'registry.local/summarizer:v2',
    });

    // A minute from the commit: the operator keeps reconciling (status, children), Argo CD
    // keeps comparing, and the one sync is the commit's.
    await sleep(Math.max(0, committed + 60_000 - Date.now()));
    expect(await syncCount(app)).toBe(syncsBefore + 1);
    expect(await application(app)).toMatchObject({ sync: 'Synced', health: 'Degraded' });
    expect(
      (await operator.metricValue('controller_runtime_reconcile_total')) - reconcilesBefore,
    ).toBeGreaterThanOrEqual(5);

    const reverting = Date.now();
    const reverted = await gitops.repo.revert(crash);
    await gitops.timed(
      'revert commit → Healthy',
      reverting,
      waitForApplication(app, syncedAnd('Healthy'), {
        what: 'Healthy after the revert',
        revision: reverted,
      }),
    );
    expect((await gitops.live('main')).spec.image.tag).toBe('v2');
  });

  it('self-heal puts a hand edit of the spec back', async () => {
    const before = await syncCount(app);
    const edited = Date.now();
    await kubectlOk([
      'patch',
      'sumsvc',
      NAME,
      '-n',
      gitops.ns.main,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { image: { tag: 'hand-edit' } } }),
    ]);
    await gitops.timed(
      'hand edit of spec.image.tag → put back by self-heal',
      edited,
      eventually(async () => (await gitops.live('main')).spec.image.tag === 'v2', {
        what: "Git's tag back",
      }),
    );
    await waitForApplication(app, syncedAnd('Healthy'), { what: 'Synced and Healthy' });
    expect(await syncCount(app)).toBeGreaterThan(before);
  });

  it('spec.paused: true → Suspended; removing the line does not resume (Argo CD sees no diff), paused: false does', async () => {
    await gitops.ensureOperator();
    const first = await gitops.commit('paused', { replicas: 2 }, 'paused: v1');
    const paused = await gitops.createApplication('paused');
    await waitForApplication(paused, syncedAnd('Healthy'), { what: 'Healthy', revision: first });

    const pausing = Date.now();
    const pause = await gitops.commit('paused', { replicas: 2, paused: true }, 'pause');
    await gitops.timed(
      'commit (paused: true) → Suspended',
      pausing,
      waitForApplication(paused, syncedAnd('Suspended'), { what: 'Suspended', revision: pause }),
    );

    const removed = await gitops.commit('paused', { replicas: 2 }, 'remove paused');
    await waitForApplication(paused, syncedAnd('Suspended'), {
      what: 'Synced at the commit without paused, still Suspended',
      revision: removed,
    });
    expect((await gitops.live('paused')).spec.paused).toBe(true);

    const resume = await gitops.commit('paused', { replicas: 2, paused: false }, 'paused: false');
    await waitForApplication(paused, syncedAnd('Healthy'), { what: 'resumed', revision: resume });
    expect((await gitops.live('paused')).spec.paused).toBe(false);
  });
});
