/**
 * Load-driven remediation (docs/resource.md#remediation) on real pods with real traffic: the
 * operator runs in-cluster (as `kind.sh up` installed it: deploy/, defaults, the pods'
 * /metrics read at pod IP:port every 15 s), the load comes from the load generator in a pod
 * (test/support/load/loadgen-main.ts in the test-tools image), and LM Studio is either the fake one
 * with spare capacity (fixed latency, no parallel limit) or the real inference server with
 * one slot. Each scenario has its own namespace, deleted when it ends; pods ask for little
 * CPU (one 2-CPU node).
 *
 * The times printed (saturation → scale-up, calm → revert) are what docs/operator.md reports.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse, stringify } from 'yaml';
import { scraperFor } from '../../operator/load/scrape.js';
import { KubeClient, loadClusterAccess } from '../../operator/runtime/index.js';
import {
  deployLmStudio,
  kindImages,
  localServiceImage,
  runbook,
  summarizerPods,
  testNamespace,
} from '../support/kind.js';
import { eventually, kubeConfig, kubeconfigPath, kubectlOk } from '../support/kube.js';
import {
  actions,
  applySummarizerService,
  condition,
  deploymentOf,
  eventsFor,
  getRow,
  type Observed,
  observe,
  waitHealthy,
} from '../support/kubectl-sumsvc.js';
import { operatorKubeconfig } from '../support/operator-harness.js';

const run = promisify(execFile);
const _kc = kubeConfig();
const root = path.resolve(import.meta.dirname, '../..');

const image = localServiceImage;
const small = {
  requests: { cpu: '20m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};
const tiny = { requests: { cpu: '20m', memory: '48Mi' }, limits: { memory: '128Mi' } };

/** The fake LM Studio as Deployment and Service `lmstudio` (port 1234) in `ns`. */
async function deployFakeLmStudio(ns: string, args: string[]): Promise<void> {
  const labels = { 'app.kubernetes.io/name': 'lmstudio' };
  const objects = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'lmstudio', labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'fake-lmstudio',
                image: kindImages().tools,
                args: [
                  'dist/test/support/fakes/lmstudio-main.js',
                  '--host',
                  '0.0.0.0',
                  '--port',
                  '1234',
                  ...args,
                ],
                ports: [{ name: 'http', containerPort: 1234 }],
                readinessProbe: { httpGet: { path: '/v1/models', port: 'http' }, periodSeconds: 2 },
                resources: tiny,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lmstudio', labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 1234, targetPort: 'http' }] },
    },
  ];
  await kubectlOk(['apply', '-n', ns, '-f', '-'], {
    input: objects.map((o) => stringify(o)).join('---\n'),
  });
  await kubectlOk(['rollout', 'status', '-n', ns, 'deployment/lmstudio', '--timeout=120s']);
}

interface Load {
  /** When the generator's first requests went out (its "load started" line). */
  startedAt: number;
  stop(): Promise<number>;
}

/** A load generator pod sending to Service llmplan:8000 with `concurrency` clients. */
async function startLoad(
  ns: string,
  name: string,
  concurrency: number,
  extra: string[] = [],
): Promise<Load> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'loadgen' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'loadgen',
          image: kindImages().tools,
          args: [
            'dist/test/support/load/loadgen-main.js',
            '--url',
            'http://llmplan:8000',
            '--concurrency',
            String(concurrency),
            '--seconds',
            '900',
            ...extra,
          ],
          resources: tiny,
        },
      ],
    },
  };
  await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(pod) });
  onTestFinished(async () => {
    await kubectlOk(['delete', 'pod', name, '-n', ns, '--ignore-not-found', '--wait=false']);
  });
  await eventually(
    async () =>
      (await kubectlOk(['logs', '-n', ns, name]).catch(() => '')).includes('load started'),
    { what: `load generator ${name} running`, timeoutMs: 120_000, intervalMs: 500 },
  );
  const startedAt = Date.now();
  return {
    startedAt,
    async stop() {
      await kubectlOk(['delete', 'pod', name, '-n', ns, '--wait=true', '--timeout=60s']);
      return Date.now();
    },
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Waits for the operator's status to show `check`, polling as a user would. */
async function until(ns: string, what: string, check: (o: Observed) => boolean, timeoutMs: number) {
  let last: Observed | undefined;
  try {
    return await eventually(
      async () => {
        last = await observe(ns);
        return check(last) ? last : undefined;
      },
      { what, timeoutMs, intervalMs: 1_000 },
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last status.load: ${JSON.stringify(last?.status?.load)}; remediation: ${JSON.stringify(last?.status?.remediation)}; state ${last?.status?.state}`,
    );
  }
}

describe('load on real pods', () => {
  it('saturated pods in front of an LM Studio with spare capacity: scale-up to scaleUp.replicas, back after the cooldown', async () => {
    const ns = await testNamespace('kind-load');
    await deployFakeLmStudio(ns, ['--latency-ms', '500']);
    await applySummarizerService(ns, {
      image: image(),
      resources: small,
      replicas: 2,
      // Two LM Studio calls at a time per pod, a short queue: a few clients saturate them.
      lmstudio: { maxConcurrency: 2 },
      env: [
        { name: 'MAX_QUEUED_REQUESTS', value: '4' },
        { name: 'QUEUE_TIMEOUT', value: '3' },
      ],
      remediation: { cooldownSeconds: 30, scaleUp: { replicas: 4, afterSeconds: 30 } },
    });
    await waitHealthy(ns, 'two pods healthy', 180_000);

    // spec.lmstudio.maxConcurrency reached the pods: the service itself says 2.
    const limit = await runbook(
      `kubectl exec -n ${ns} deployment/llmplan -- curl -s http://localhost:8000/metrics | grep '^lmstudio_concurrency_limit '`,
    );
    expect(limit.stdout.trim()).toBe('lmstudio_concurrency_limit 2');
    await until(
      ns,
      'load read from both pods',
      (o) => o.status?.load?.podsReporting === 2,
      120_000,
    );
    expect((await observe(ns)).status?.load?.concurrency).toBe(4);

    // One client at a time first: LM Studio's usual latency is learnt.
    const light = await startLoad(ns, 'loadgen-light', 1);
    const learnt = await until(
      ns,
      "LM Studio's baseline learnt",
      (o) => (o.status?.load?.backendBaselineMs ?? 0) > 0,
      180_000,
    );
    expect(learnt.status?.load?.backendBaselineMs).toBeGreaterThanOrEqual(450);
    await light.stop();

    const heavy = await startLoad(ns, 'loadgen-heavy', 24);
    const saturated = await until(
      ns,
      'status.load Saturated',
      (o) => o.status?.load?.state === 'Saturated',
      120_000,
    );
    const seenSaturated = Date.now();
    const scaled = await until(
      ns,
      'a scale-up',
      (o) => o.status?.remediation?.scaleUp !== undefined,
      240_000,
    );
    const recorded = Date.now();
    expect(actions(scaled, 'ScaleUp')).toEqual([
      expect.objectContaining({ reason: 'Saturated', from: '2', to: '4' }),
    ]);
    expect(actions(scaled, 'ScaleUp')[0]?.message).toMatch(
      /pod\(s\) saturated: .*LM Studio 0\.\d+ s per call \(baseline 0\.\d+ s/,
    );
    await eventually(async () => (await deploymentOf(ns)).replicas === 4, {
      what: 'Deployment at 4 replicas',
      timeoutMs: 30_000,
    });
    const applied = Date.now();
    await eventually(
      async () =>
        (await summarizerPods(ns)).filter((p) => p.status.containerStatuses?.[0]?.ready).length ===
        4,
      { what: 'four pods ready', timeoutMs: 180_000 },
    );
    const ready = Date.now();
    expect((await getRow(ns)).row.STATUS).toBe('ScaledUp');
    expect(await eventsFor(ns, 'ScaleUp')).toHaveLength(1);
    console.info(
      `kind: load started → Saturated in status ${seconds(seenSaturated - heavy.startedAt)}; → scale-up recorded ${seconds(recorded - heavy.startedAt)}, applied (Deployment replicas 4) ${seconds(applied - heavy.startedAt)}, 4 pods ready ${seconds(ready - heavy.startedAt)} (afterSeconds 30, scrape every 15 s); Saturated seen at ${saturated.status?.load?.observedTime}`,
    );

    // The user's view while it runs.
    const top = await run(path.join(root, 'bin/llmplanctl'), ['top', 'llmplan', '-n', ns], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      timeout: 60_000,
    });
    expect(top.stdout).toMatch(/POD +STATE +IN-FLIGHT/);
    console.info(`kind: llmplanctl top during the load:\n${top.stdout}`);

    const stopped = await heavy.stop();
    const back = await until(
      ns,
      'the scale-up reverted',
      (o) => actions(o, 'ScaleUpReverted').length === 1,
      300_000,
    );
    const reverted = Date.now();
    expect(back.status?.remediation?.scaleUp).toBeUndefined();
    expect(actions(back, 'ScaleUpReverted')[0]?.reason).toBe('Calm');
    await eventually(async () => (await deploymentOf(ns)).replicas === 2, {
      what: 'Deployment back at 2 replicas',
      timeoutMs: 30_000,
    });
    console.info(
      `kind: load stopped → scale-up reverted ${seconds(reverted - stopped)} (cooldownSeconds 30, scrape every 15 s)`,
    );
    expect(actions(back, 'ScaleUp')).toHaveLength(1);

    // Resource advice from the real metrics-server's samples of these pods (one LIST a
    // minute, advice after three): in status, printed as a patch, never applied.
    const advised = await until(
      ns,
      'status.recommendations with resources',
      (o) => o.status?.recommendations?.resources !== undefined,
      240_000,
    );
    const advice = advised.status!.recommendations!;
    expect(advice.message).toMatch(/metrics-server/);
    expect(advice.cpuObserved).toMatch(/^\d+(\.\d+)?m?$/);
    expect(advice.memoryObserved).toMatch(/^\d+(\.\d+)?(Ki|Mi|Gi)?$/);
    const recommend = await run(
      path.join(root, 'bin/llmplanctl'),
      ['recommend', 'llmplan', '-n', ns],
      { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, timeout: 60_000 },
    );
    expect(parse(recommend.stdout)).toEqual({ spec: { resources: advice.resources } });
    const template = JSON.parse(
      await kubectlOk(['get', 'deployment', 'llmplan', '-n', ns, '-o', 'json']),
    ) as { spec: { template: { spec: { containers: Array<{ resources: unknown }> } } } };
    expect(template.spec.template.spec.containers[0]?.resources).toEqual(small);
    console.info(
      `kind: resource advice from metrics-server: ${advice.message}; observed cpu ${advice.cpuObserved}, memory ${advice.memoryObserved} → ${JSON.stringify(advice.resources)}`,
    );
  });

  it('the real inference server (one slot) as the bottleneck: no scale-up; BackendSaturated and an Event with the figures', async () => {
    const ns = await testNamespace('kind-backend-load');
    await deployLmStudio(ns);
    await applySummarizerService(ns, {
      image: image(),
      resources: small,
      replicas: 2,
      lmstudio: { maxConcurrency: 2 },
      remediation: { cooldownSeconds: 0, scaleUp: { replicas: 4, afterSeconds: 15 } },
    });
    await waitHealthy(ns, 'two pods healthy', 180_000);

    const light = await startLoad(ns, 'loadgen-light', 1);
    const learnt = await until(
      ns,
      "LM Studio's baseline learnt",
      (o) => (o.status?.load?.backendBaselineMs ?? 0) > 0,
      240_000,
    );
    await light.stop();
    const heavy = await startLoad(ns, 'loadgen-heavy', 8);
    const saturated = await until(
      ns,
      'BackendSaturated=True',
      (o) => condition(o, 'BackendSaturated')?.status === 'True',
      240_000,
    );
    console.info(
      `kind: real inference server, baseline ${learnt.status?.load?.backendBaselineMs} ms; BackendSaturated ${seconds(Date.now() - heavy.startedAt)} after the load started: ${condition(saturated, 'BackendSaturated')?.message}`,
    );
    expect(condition(saturated, 'BackendSaturated')?.message).toMatch(
      /^LM Studio is the bottleneck: [\d.]+ s per call, ×[\d.]+ its light-load baseline/,
    );
    await eventually(async () => (await eventsFor(ns, 'BackendSaturated')).length > 0, {
      what: 'an Event BackendSaturated',
      timeoutMs: 30_000,
    });
    expect((await eventsFor(ns, 'BackendSaturated'))[0]).toMatch(
      /more pods would only deepen its queue/,
    );
    // Well past afterSeconds under load: no scale-up.
    await new Promise((resolve) => setTimeout(resolve, 45_000));
    const held = await observe(ns);
    expect(actions(held, 'ScaleUp')).toEqual([]);
    expect((await deploymentOf(ns)).replicas).toBe(2);
    expect(held.status?.load?.state).toBe('BackendSaturated');
    await heavy.stop();
  });

  it('one pod with its own bad LM Studio URL: only that pod is restarted', async () => {
    const ns = await testNamespace('kind-bad-pod');
    await deployFakeLmStudio(ns, ['--latency-ms', '200']);
    const spec = {
      image: image(),
      resources: small,
      replicas: 3,
      remediation: { cooldownSeconds: 0, podRestart: { afterSeconds: 30 } },
    };
    await applySummarizerService(ns, spec);
    await waitHealthy(ns, 'three pods healthy', 180_000);

    // While paused (the operator changes nothing), one pod starts with a bad LM Studio
    // URL: the ConfigMap is changed, a pod replaced, the ConfigMap put back.
    await applySummarizerService(ns, { ...spec, paused: true });
    await until(ns, 'paused', (o) => o.status?.state === 'Paused', 60_000);
    const patchUrl = (url: string) =>
      kubectlOk([
        'patch',
        'configmap',
        'llmplan-config',
        '-n',
        ns,
        '--type=merge',
        '-p',
        JSON.stringify({ data: { LMSTUDIO_BASE_URL: url } }),
      ]);
    await patchUrl('http://lmstudio-nowhere:1234/v1');
    const before = await summarizerPods(ns);
    await kubectlOk(['delete', 'pod', before[0]!.metadata.name, '-n', ns, '--wait=true']);
    const bad = await eventually(
      async () => {
        const pods = await summarizerPods(ns);
        const fresh = pods.find((p) => !before.some((b) => b.metadata.uid === p.metadata.uid));
        return fresh?.status.containerStatuses?.[0]?.ready ? fresh : undefined;
      },
      { what: 'the replacement pod ready (with the bad URL)', timeoutMs: 120_000 },
    );
    await patchUrl('http://lmstudio:1234/v1');
    await applySummarizerService(ns, spec);
    const siblings = (await summarizerPods(ns)).filter((p) => p.metadata.uid !== bad.metadata.uid);
    expect(siblings).toHaveLength(2);

    // A new connection per request: every pod, the bad one included, gets its share.
    const load = await startLoad(ns, 'loadgen', 6, ['--fresh-connections']);
    const restarted = await until(
      ns,
      'a pod restart',
      (o) => actions(o, 'PodRestart').length > 0,
      240_000,
    );
    console.info(
      `kind: load started → PodRestart recorded ${seconds(Date.now() - load.startedAt)} (podRestart.afterSeconds 30): ${actions(restarted, 'PodRestart')[0]?.message}`,
    );
    expect(actions(restarted, 'PodRestart')).toEqual([
      expect.objectContaining({
        from: bad.metadata.name,
        reason: expect.stringMatching(/BackendUnreachableFromPod|ErrorsOutOfLine/),
      }),
    ]);
    await eventually(
      async () => !(await summarizerPods(ns)).some((p) => p.metadata.uid === bad.metadata.uid),
      { what: `pod ${bad.metadata.name} gone`, timeoutMs: 90_000 },
    );
    const after = await summarizerPods(ns);
    for (const sibling of siblings) {
      expect(after.map((p) => p.metadata.uid)).toContain(sibling.metadata.uid);
    }
    expect(await eventsFor(ns, 'PodRestart')).toHaveLength(1);
    await eventually(
      async () =>
        (await summarizerPods(ns)).filter((p) => p.status.containerStatuses?.[0]?.ready).length ===
        3,
      { what: 'three pods ready again', timeoutMs: 120_000 },
    );
    await load.stop();
    expect(actions(await observe(ns), 'PodRestart')).toHaveLength(1);
  });

  it("outside the cluster: a pod's /metrics through the API server's pod proxy, only with the optional role", async () => {
    const ns = await testNamespace('kind-proxy');
    await deployFakeLmStudio(ns, []);
    await applySummarizerService(ns, { image: image(), resources: small });
    await waitHealthy(ns, 'one pod healthy', 180_000);
    const [pod] = await summarizerPods(ns);
    const asOperator = new KubeClient(
      loadClusterAccess({ kubeconfig: await operatorKubeconfig() }),
    );
    onTestFinished(() => asOperator.close());
    const scraper = scraperFor({ kind: 'apiserver', client: asOperator });
    const target = {
      namespace: ns,
      name: pod!.metadata.name,
      ip: pod!.status.podIP ?? '',
      port: 8000,
    };
    expect(await scraper.scrape(target, 5_000)).toEqual({
      ok: false,
      kind: 'unreachable',
      reason: expect.stringMatching(
        /^the operator may not use pods\/proxy \(apply deploy\/optional\/pods-proxy-rbac.yaml/,
      ),
    });
    const optional = path.join(root, 'deploy/optional/pods-proxy-rbac.yaml');
    await kubectlOk(['apply', '-f', optional]);
    onTestFinished(async () => {
      await kubectlOk(['delete', '-f', optional, '--ignore-not-found']);
    });
    // Allowed now: the API server takes the request, dials the pod and returns its page.
    const page = await eventually(
      async () => {
        const result = await scraper.scrape(target, 5_000);
        if (!result.ok) throw new Error(`${result.kind}: ${result.reason}`);
        return result.text;
      },
      { what: 'the pod read through the API server', timeoutMs: 30_000 },
    );
    expect(page).toMatch(/^summary_queue_depth 0$/m);
  });
});
