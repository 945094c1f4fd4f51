/**
 * Remediation (docs/resource.md#remediation) on real pods: each failure is the real
 * thing (a kubelet that cannot pull, a process that exits, the kernel's OOM killer,
 * an LM Studio with no pods), judged by the operator running in-cluster under
 * deploy/'s RBAC, as `kind.sh up` installed it. Each scenario has a namespace of its
 * own; all but the outage share the dev namespace's inference server
 * (spec.lmstudio.externalName). The time from the failure signal (the pod status the
 * kubelet writes) to the action is logged.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  deployLmStudio,
  kindImages,
  localServiceImage,
  type PodSignals,
  portForward,
  runbook,
  SHARED_LMSTUDIO,
  serviceImage,
  summarizerPods,
  testNamespace,
  watchPodSignals,
} from '../support/kind.js';
import { eventually, kubectlOk } from '../support/kube.js';
import {
  actions,
  applySummarizerService,
  condition,
  deploymentOf,
  eventsFor,
  getRow,
  observe,
  waitHealthy,
} from '../support/kubectl-sumsvc.js';

/**
 * A namespace for one test, deleted when the test ends: the node's 2 CPUs are
 * mostly requested by the control plane, and pods pending for CPU would fail
 * the next test for the wrong reason.
 */
const image = localServiceImage;
const small = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/** Waits until the pod watch has seen `signal`; returns when it first appeared. */
async function signalSeen(
  signals: PodSignals,
  signal: RegExp,
  timeoutMs = 120_000,
): Promise<number> {
  return eventually(async () => signals.first(signal), {
    what: `a pod showing ${signal} (seen: ${signals.seen().join(', ') || 'nothing'})`,
    timeoutMs,
  });
}

describe('remediation on real pods', () => {
  it('a tag that does not exist: real ErrImagePull, rolled back to the last healthy revision', async () => {
    const ns = await testNamespace('kind-pull');
    await applySummarizerService(ns, {
      image: image(),
      lmstudio: SHARED_LMSTUDIO,
      resources: small,
      remediation: { cooldownSeconds: 0 },
    });
    const healthy = await waitHealthy(ns, 'the first revision healthy', 180_000);
    const missing = `no-such-tag-${Date.now().toString(36)}`;
    const signals = await watchPodSignals(ns);
    onTestFinished(() => signals.stop());
    await applySummarizerService(ns, {
      image: { ...image(), tag: missing },
      lmstudio: SHARED_LMSTUDIO,
      resources: small,
      remediation: { cooldownSeconds: 0 },
    });
    const seen = await signalSeen(signals, /ErrImagePull|ImagePullBackOff/);
    const rolledBack = await eventually(
      async () => {
        const o = await observe(ns);
        return o.status?.remediation?.rollback ? o : undefined;
      },
      { what: 'a rollback', timeoutMs: 120_000, intervalMs: 200 },
    );
    console.info(`ErrImagePull seen → rollback recorded: ${Date.now() - seen} ms`);
    expect(rolledBack.status?.lastHealthyRevision).toBe(healthy.status?.currentRevision);
    expect(rolledBack.status?.failedRevision).toBe(rolledBack.status?.currentRevision);
    expect(rolledBack.spec.image.tag).toBe(missing); // the user's spec is left alone
    expect(actions(rolledBack, 'Rollback')[0]?.reason).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect((await deploymentOf(ns)).image).toBe(
      `${serviceImage().repository}:${serviceImage().tag}`,
    );
    await eventually(
      async () => {
        const pods = await summarizerPods(ns);
        return (
          pods.length === 1 &&
          pods.every((p) => p.spec.containers[0]!.image.endsWith(`:${serviceImage().tag}`)) &&
          pods.every((p) => p.status.containerStatuses?.[0]?.ready)
        );
      },
      { what: 'only ready pods of the healthy image', timeoutMs: 120_000 },
    );
    expect((await getRow(ns)).row).toMatchObject({
      READY: 'True',
      STATUS: 'RolledBack',
      TAG: missing,
      SERVING: serviceImage().tag,
    });
    expect(await eventsFor(ns, 'Rollback')).toHaveLength(1);
  });

  it('a bad spec.env value: the service exits at start, real CrashLoopBackOff, rolled back', async () => {
    const ns = await testNamespace('kind-crash');
    const spec = {
      image: image(),
      lmstudio: SHARED_LMSTUDIO,
      resources: small,
      remediation: { cooldownSeconds: 0 },
    };
    await applySummarizerService(ns, spec);
    const healthy = await waitHealthy(ns, 'the first revision healthy', 180_000);
    const signals = await watchPodSignals(ns);
    onTestFinished(() => signals.stop());
    await applySummarizerService(ns, {
      ...spec,
      env: [{ name: 'LMSTUDIO_BREAKER_FAILURES', value: 'lots' }],
    });
    const seen = await signalSeen(signals, /CrashLoopBackOff|Error/);
    const rolledBack = await eventually(
      async () => {
        const o = await observe(ns);
        return o.status?.remediation?.rollback ? o : undefined;
      },
      { what: 'a rollback', timeoutMs: 180_000, intervalMs: 200 },
    );
    console.info(`crash seen → rollback recorded: ${Date.now() - seen} ms`);
    expect(rolledBack.status?.lastHealthyRevision).toBe(healthy.status?.currentRevision);
    expect(actions(rolledBack, 'Rollback')[0]?.reason).toMatch(/CrashLoopBackOff/);
    // The crash is the configuration's: the CRITICAL line names the variable.
    const crashed = (await summarizerPods(ns)).find((p) =>
      (p.status.containerStatuses ?? []).some((c) => c.restartCount > 0),
    );
    if (crashed) {
      const logs = await runbook(
        `kubectl logs -n ${ns} ${crashed.metadata.name} --previous | grep CRITICAL || true`,
      );
      expect(logs.stdout).toMatch(/LMSTUDIO_BREAKER_FAILURES/);
    }
    await eventually(async () => condition(await observe(ns), 'Ready')?.status === 'True', {
      what: 'Ready on the healthy revision',
      timeoutMs: 120_000,
    });
    expect(condition(await observe(ns), 'Degraded')?.reason).toBe('RolledBack');
  });

  it('pods that never become ready (a tag that holds another program): ProgressDeadlineExceeded, rolled back', async () => {
    const ns = await testNamespace('kind-deadline');
    const spec = {
      image: image(),
      lmstudio: SHARED_LMSTUDIO,
      resources: {
        requests: { cpu: '20m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '512Mi' },
      },
      remediation: { cooldownSeconds: 0, progressDeadlineSeconds: 20 },
    };
    await applySummarizerService(ns, spec);
    const healthy = await waitHealthy(ns, 'the first revision healthy', 180_000);
    // The wrong image under the tag: a program that runs, does not crash, and never
    // answers on the summarizer's port (the startup probe allows it 60 s). Only the
    // Deployment's progress deadline says the rollout failed.
    const llm = kindImages().llm;
    const colon = llm.lastIndexOf(':');
    await applySummarizerService(ns, {
      ...spec,
      image: {
        repository: llm.slice(0, colon),
        tag: llm.slice(colon + 1),
        pullPolicy: 'IfNotPresent',
      },
    });
    const changed = Date.now();
    const rolledBack = await eventually(
      async () => {
        const o = await observe(ns);
        return o.status?.remediation?.rollback ? o : undefined;
      },
      { what: 'a rollback', timeoutMs: 120_000, intervalMs: 500 },
    );
    console.info(
      `never-ready rollout → rollback recorded ${Date.now() - changed} ms after the change`,
    );
    expect(actions(rolledBack, 'Rollback')[0]?.reason).toBe('ProgressDeadlineExceeded');
    expect(rolledBack.status?.lastHealthyRevision).toBe(healthy.status?.currentRevision);
    await eventually(async () => condition(await observe(ns), 'Ready')?.status === 'True', {
      what: 'Ready on the healthy revision',
      timeoutMs: 120_000,
    });
  });

  it('a memory limit below what Node.js needs: real OOMKilled, the limit raised until it runs', async () => {
    const ns = await testNamespace('kind-oom');
    const signals = await watchPodSignals(ns);
    onTestFinished(() => signals.stop());
    await applySummarizerService(ns, {
      image: image(),
      lmstudio: SHARED_LMSTUDIO,
      resources: {
        requests: { cpu: '50m', memory: '8Mi' },
        limits: { cpu: '500m', memory: '8Mi' },
      },
      remediation: { cooldownSeconds: 0, oomMemoryBump: { factor: 2, maxMemory: '128Mi' } },
    });
    const seen = await signalSeen(signals, /OOMKilled/, 180_000);
    const bumped = await eventually(
      async () => {
        const o = await observe(ns);
        return actions(o, 'MemoryBump').length > 0 ? o : undefined;
      },
      { what: 'a memory bump', timeoutMs: 120_000, intervalMs: 200 },
    );
    console.info(`OOMKilled seen → first memory bump recorded: ${Date.now() - seen} ms`);
    expect(actions(bumped, 'MemoryBump')[0]).toMatchObject({ from: '8Mi', to: '16Mi' });
    const healthy = await waitHealthy(ns, 'Ready after memory bumps', 300_000);
    const bumps = actions(healthy, 'MemoryBump');
    console.info(`memory bumps until it ran: ${bumps.map((b) => `${b.from}→${b.to}`).join(', ')}`);
    const limit = (await deploymentOf(ns)).memory;
    expect(limit).toBe(healthy.status?.remediation?.memoryBump?.memoryLimit);
    expect(['16Mi', '32Mi', '64Mi', '128Mi']).toContain(limit);
    expect(condition(healthy, 'Degraded')?.reason).toBe('MemoryBumped');
    // It really runs at that limit and answers (through a port-forward: a process
    // exec'd into the pod would count against the same tight limit).
    const forward = await portForward(ns, 'deployment/llmplan', 8000);
    try {
      const live = await fetch(`${forward.url}/livez`);
      expect(live.status).toBe(200);
    } finally {
      forward.stop();
    }
  });

  it('LM Studio scaled to zero: BackendReachable=False, no rollback, nothing touched; back when it returns', async () => {
    const ns = await testNamespace('kind-backend');
    await deployLmStudio(ns);
    await applySummarizerService(ns, {
      image: image(),
      resources: small,
      remediation: { cooldownSeconds: 0, progressDeadlineSeconds: 30 },
    });
    await waitHealthy(ns, 'healthy with its own LM Studio', 180_000);
    await eventually(
      async () => condition(await observe(ns), 'BackendReachable')?.status === 'True',
      { what: 'BackendReachable=True', timeoutMs: 120_000 },
    );
    const before = await summarizerPods(ns);
    const deploymentBefore = await deploymentOf(ns);

    await kubectlOk(['scale', 'deployment/lmstudio', '-n', ns, '--replicas=0']);
    const down = Date.now();
    const unreachable = await eventually(
      async () => {
        const c = condition(await observe(ns), 'BackendReachable');
        return c?.status === 'False' ? c : undefined;
      },
      { what: 'BackendReachable=False', timeoutMs: 120_000, intervalMs: 500 },
    );
    console.info(`LM Studio scaled to zero → BackendReachable=False: ${Date.now() - down} ms`);
    expect(unreachable.message).toMatch(/LM ?Studio/i);
    const health = await runbook(
      `kubectl exec -n ${ns} deployment/llmplan -- curl -s -o /dev/null -w '%{http_code}' http://localhost:8000/api/v1/summary/health`,
    );
    expect(health.stdout).toBe('503');
    // Past the progress deadline, the operator still leaves the Deployment alone, and
    // no pod restarted: livez does not follow LM Studio.
    await new Promise((resolve) => setTimeout(resolve, 35_000));
    const held = await observe(ns);
    expect(actions(held)).toHaveLength(0);
    expect(held.status?.remediation?.rollback).toBeUndefined();
    expect(await deploymentOf(ns)).toEqual(deploymentBefore);
    const after = await summarizerPods(ns);
    expect(after.map((p) => p.metadata.uid)).toEqual(before.map((p) => p.metadata.uid));
    expect(after.every((p) => p.status.containerStatuses?.[0]?.restartCount === 0)).toBe(true);

    await kubectlOk(['scale', 'deployment/lmstudio', '-n', ns, '--replicas=1']);
    const up = Date.now();
    await eventually(
      async () => condition(await observe(ns), 'BackendReachable')?.status === 'True',
      { what: 'BackendReachable=True again', timeoutMs: 180_000, intervalMs: 500 },
    );
    console.info(`LM Studio back → BackendReachable=True: ${Date.now() - up} ms`);
    await eventually(
      async () =>
        (
          await runbook(
            `kubectl exec -n ${ns} deployment/llmplan -- curl -s -o /dev/null -w '%{http_code}' http://localhost:8000/api/v1/summary/health`,
          )
        ).stdout === '200',
      { what: 'health 200 again', timeoutMs: 60_000, intervalMs: 1_000 },
    );
  });
});
