/**
 * Issue 5's measurement: time from the failure signal to the rollback applied.
 *
 * For each failure kind, a SummarizerService rolls out a healthy v1, then a failing v2 on
 * the fake nodes. The benchmark watches the pods and the Deployment itself and records
 *   signal   — the first pod of v2 whose container waits in CrashLoopBackOff /
 *              ImagePullBackOff / ErrImagePull, or the Deployment reporting
 *              Progressing=False/ProgressDeadlineExceeded (a rollout that never gets ready);
 *   applied  — the Deployment's pod template serving v1's image again;
 * both as the moment the benchmark's watch delivered the event (the same clock, the same
 * delay for both). Target: ≤ 5 s.
 */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { summarizerServices } from '../../operator/api/summarizerservice.js';
import {
  builtin,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
} from '../../operator/runtime/index.js';
import type { BenchContext, Row, Scenario, ScenarioReport } from './operator-context.js';
import { latencies } from './operator-metrics.js';

interface Kind {
  name: string;
  tag: string;
  signal: 'pod' | 'deadline';
}

const KINDS: readonly Kind[] = [
  { name: 'crashloop', tag: 'v2-crashloop', signal: 'pod' },
  { name: 'imagepull', tag: 'v2-imagepull', signal: 'pod' },
  { name: 'notready (deadline 10 s)', tag: 'v2-notready', signal: 'deadline' },
];
const POD_SIGNALS = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull']);
const REPEATS = 3;
const TARGET_MS = 5_000;

interface Sample {
  kind: string;
  signalReason: string;
  signalToRollbackMs: number;
  specChangeToSignalMs: number;
}

/** Runs a watch until `until` resolves, calling `onEvent` with each object and its arrival time. */
export async function watchUntil<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceDescriptor,
  namespace: string,
  signal: AbortSignal,
  onEvent: (obj: T, at: number) => void,
): Promise<void> {
  try {
    for await (const event of client.watch<T>(resource, {
      namespace,
      signal,
      timeoutSeconds: 300,
    })) {
      if (event.type === 'ADDED' || event.type === 'MODIFIED')
        onEvent(event.object, performance.now());
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

export async function waitFor<T>(
  probe: () => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measureOnce(ctx: BenchContext, namespace: string, kind: Kind): Promise<Sample> {
  const { client } = ctx;
  await client.apply(
    summarizerServices,
    {
      apiVersion: 'llmplan.io/v1alpha1',
      kind: 'SummarizerService',
      metadata: { name: 'llmplan', namespace },
      spec: {
        image: { repository: 'registry.local/summarizer', tag: 'v1' },
        remediation: { cooldownSeconds: 0, progressDeadlineSeconds: 10 },
      },
    },
    { fieldManager: 'bench', force: true },
  );
  const healthy = async () => {
    const cr = (await client.get(summarizerServices, 'llmplan', namespace)) as KubeObject & {
      status?: { currentRevision?: string; lastHealthyRevision?: string };
    };
    return (
      cr.status?.lastHealthyRevision !== undefined &&
      cr.status.lastHealthyRevision === cr.status.currentRevision
    );
  };
  const start = Date.now();
  while (!(await healthy())) {
    if (Date.now() - start > ctx.options.phaseTimeoutSeconds * 1000)
      throw new Error('v1 never became healthy');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const stop = new AbortController();
  let signalAt: number | undefined;
  let signalReason = '';
  let appliedAt: number | undefined;
  let changedAt = 0;
  const v2Image = `registry.local/summarizer:${kind.tag}`;
  const v1Image = 'registry.local/summarizer:v1';
  let sawV2Template = false;
  const watches = [
    watchUntil<V1Pod & KubeObject>(client, builtin.pods, namespace, stop.signal, (pod, at) => {
      if (signalAt !== undefined || kind.signal !== 'pod') return;
      const status = pod.status?.containerStatuses?.[0];
      const reason = status?.state?.waiting?.reason;
      if (status?.image === v2Image && reason && POD_SIGNALS.has(reason)) {
        signalAt = at;
        signalReason = reason;
      }
    }),
    watchUntil<V1Deployment & KubeObject>(
      client,
      builtin.deployments,
      namespace,
      stop.signal,
      (d, at) => {
        const image = d.spec?.template?.spec?.containers?.[0]?.image;
        if (image === v2Image) sawV2Template = true;
        if (
          kind.signal === 'deadline' &&
          signalAt === undefined &&
          d.status?.conditions?.some(
            (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
          )
        ) {
          signalAt = at;
          signalReason = 'ProgressDeadlineExceeded';
        }
        if (sawV2Template && image === v1Image && appliedAt === undefined) appliedAt = at;
      },
    ),
  ];
  try {
    changedAt = performance.now();
    await client.patch(
      summarizerServices,
      'llmplan',
      namespace,
      { spec: { image: { tag: kind.tag } } },
      { type: 'merge' },
    );
    const timeoutMs = ctx.options.phaseTimeoutSeconds * 1000;
    await waitFor(
      () => (appliedAt !== undefined && signalAt !== undefined ? true : undefined),
      timeoutMs,
      `the rollback of ${kind.name}`,
    );
  } finally {
    stop.abort();
    await Promise.allSettled(watches);
  }
  return {
    kind: kind.name,
    signalReason,
    signalToRollbackMs: Math.round((appliedAt ?? 0) - (signalAt ?? 0)),
    specChangeToSignalMs: Math.round((signalAt ?? 0) - changedAt),
  };
}

export const rollbackScenario: Scenario = {
  description:
    'issue 5: failure signal → rollback applied (crashloop, imagepull, progress deadline)',
  async run(ctx): Promise<ScenarioReport> {
    const samples: Sample[] = [];
    const namespaces: string[] = [];
    for (let i = 0; i < REPEATS * KINDS.length; i++) {
      namespaces.push(await ctx.createNamespace('bench-rollback'));
    }
    const operator = await ctx.startOperator(namespaces, { LLMPLAN_BACKEND_PROBE: 'false' });
    try {
      let n = 0;
      for (let i = 0; i < REPEATS; i++) {
        for (const kind of KINDS) {
          const namespace = namespaces[n++]!;
          const sample = await measureOnce(ctx, namespace, kind);
          ctx.log(
            `${kind.name}: ${sample.signalReason} → rollback applied in ${sample.signalToRollbackMs} ms`,
          );
          samples.push(sample);
        }
      }
    } finally {
      ctx.saveLogs('operator-rollback', operator);
      await operator.stop();
      for (const namespace of namespaces) await ctx.deleteNamespace(namespace);
    }
    const rows: Row[] = KINDS.map((kind) => {
      const mine = latencies(
        samples.filter((s) => s.kind === kind.name).map((s) => s.signalToRollbackMs),
      );
      const spec = samples.filter((s) => s.kind === kind.name).map((s) => s.specChangeToSignalMs);
      return {
        failure: kind.name,
        runs: mine.count,
        'signal → rollback p50 (ms)': mine.p50,
        'signal → rollback max (ms)': mine.max,
        'spec change → signal (ms, kwok)': Math.round(
          spec.reduce((a, b) => a + b, 0) / Math.max(1, spec.length),
        ),
      };
    });
    const worst = Math.max(...samples.map((s) => s.signalToRollbackMs));
    return {
      rows,
      targets: [
        {
          what: 'failure signal → rollback applied (worst run)',
          target: `≤ ${TARGET_MS} ms`,
          measured: `${worst} ms`,
          met: worst <= TARGET_MS,
        },
      ],
      results: { samples },
    };
  },
};
