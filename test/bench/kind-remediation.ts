/**
 * Time from a real failure signal to the remediation applied, on the kind cluster
 * (real kubelet, the operator in-cluster as deploy/ installs it), beside the same
 * figure on the fake nodes (bench:operator --scenario rollback).
 *
 *   npm run bench:kind [-- --repeats 3 --out bench-results/kind-remediation.json]
 *
 * For each failure kind a SummarizerService in a namespace of its own first runs
 * healthy (but for the OOM case, which starts broken), then:
 *   imagepull — a tag the registry does not have: ErrImagePull        → rollback
 *   crashloop — spec.env with a value the service refuses at start     → rollback
 *   oomkilled — a memory limit (8Mi) below what Node.js needs: OOMKilled → memory bump
 * The benchmark watches the pods — one stream, so the two events keep the order in
 * which the API server wrote them — and records, on one clock,
 *   signal  — the first pod status the kubelet wrote with the failure's reason;
 *   applied — the first pod the remediation made (the new template's), or the first
 *             failing pod marked for deletion (a rollback scales the failing
 *             ReplicaSet down while the healthy pod still runs).
 * Needs the cluster up (`make kind-up`); root.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { summarizerServices } from '../../operator/api/summarizerservice.js';
import {
  builtin,
  KubeClient,
  type KubeObject,
  loadClusterAccess,
} from '../../operator/runtime/index.js';
import type { Row } from './operator-context.js';
import { latencies } from './operator-metrics.js';
import { waitFor, watchUntil } from './operator-rollback.js';
import { printTable } from './table.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const kindScript = path.join(root, 'hack/kind/kind.sh');
const SHARED_LMSTUDIO = { externalName: 'lmstudio.llmplan-dev.svc.cluster.local' };

interface Failure {
  name: string;
  signal: RegExp;
  /** The spec it starts from; undefined: it starts with `failing` directly. */
  healthy?: (image: Image) => Record<string, unknown>;
  failing: (image: Image) => Record<string, unknown>;
  /** Whether a pod's first container is of the remediated template. */
  applied: (container: V1Container) => boolean;
}
interface Image {
  repository: string;
  tag: string;
}

const base = (image: Image) => ({
  image: { ...image, pullPolicy: 'IfNotPresent' },
  lmstudio: SHARED_LMSTUDIO,
  resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  remediation: { cooldownSeconds: 0 },
});

const FAILURES: readonly Failure[] = [
  {
    name: 'imagepull (tag not in the registry)',
    signal: /^(ErrImagePull|ImagePullBackOff)$/,
    healthy: base,
    failing: (image) => ({ ...base(image), image: { ...image, tag: `missing-${Date.now()}` } }),
    applied: (c) => !/:missing-\d+$/.test(c.image ?? ''),
  },
  {
    name: 'crashloop (bad spec.env value)',
    signal: /^CrashLoopBackOff$/,
    healthy: base,
    failing: (image) => ({
      ...base(image),
      env: [{ name: 'LMSTUDIO_BREAKER_FAILURES', value: 'lots' }],
    }),
    applied: (c) => !(c.env ?? []).some((e) => e.name === 'LMSTUDIO_BREAKER_FAILURES'),
  },
  {
    name: 'oomkilled (8Mi limit)',
    signal: /^OOMKilled$/,
    failing: (image) => ({
      ...base(image),
      resources: { requests: { cpu: '20m', memory: '8Mi' }, limits: { memory: '8Mi' } },
      remediation: { cooldownSeconds: 0, oomMemoryBump: { factor: 2, maxMemory: '128Mi' } },
    }),
    applied: (c) =>
      c.resources?.limits?.memory !== undefined && c.resources.limits.memory !== '8Mi',
  },
];

interface Sample {
  failure: string;
  reason: string;
  changeToSignalMs: number;
  signalToAppliedMs: number;
}

function reasonsOf(pod: V1Pod): string[] {
  return (pod.status?.containerStatuses ?? []).flatMap((c) =>
    [c.state?.waiting?.reason, c.lastState?.terminated?.reason].filter((r): r is string => !!r),
  );
}

async function apply(client: KubeClient, namespace: string, spec: Record<string, unknown>) {
  await client.apply(
    summarizerServices,
    {
      apiVersion: 'llmplan.io/v1alpha1',
      kind: 'SummarizerService',
      metadata: { name: 'llmplan', namespace },
      spec,
    },
    { fieldManager: 'bench', force: true },
  );
}

async function healthy(client: KubeClient, namespace: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const cr = (await client.get(summarizerServices, 'llmplan', namespace)) as KubeObject & {
      status?: { currentRevision?: string; lastHealthyRevision?: string };
    };
    if (cr.status?.currentRevision && cr.status.lastHealthyRevision === cr.status.currentRevision)
      return;
    if (Date.now() > deadline) throw new Error(`${namespace}: never healthy`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function measure(
  client: KubeClient,
  image: Image,
  failure: Failure,
  i: number,
): Promise<Sample> {
  const namespace = `bench-kind-${i}-${Date.now().toString(36)}`;
  await client.create(builtin.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  try {
    if (failure.healthy) {
      await apply(client, namespace, failure.healthy(image));
      await healthy(client, namespace);
    }
    const stop = new AbortController();
    let signalAt: number | undefined;
    let reason = '';
    let appliedAt: number | undefined;
    // The pod of the healthy revision, still running through a failed rollout.
    const healthyPod = (
      (await client.list(builtin.pods, { namespace })).items as Array<V1Pod & KubeObject>
    )[0]?.metadata.uid;
    const watch = watchUntil<V1Pod & KubeObject>(
      client,
      builtin.pods,
      namespace,
      stop.signal,
      (pod, at) => {
        const match = reasonsOf(pod).find((r) => failure.signal.test(r));
        if (match && signalAt === undefined) {
          signalAt = at;
          reason = match;
        }
        const container = pod.spec?.containers?.[0];
        if (!container || signalAt === undefined || appliedAt !== undefined) return;
        const remediated = failure.applied(container);
        if (remediated ? pod.metadata.uid !== healthyPod : pod.metadata.deletionTimestamp) {
          appliedAt = at;
        }
      },
    );
    const changedAt = performance.now();
    try {
      await apply(client, namespace, failure.failing(image));
      await waitFor(
        () => (signalAt !== undefined && appliedAt !== undefined ? true : undefined),
        240_000,
        `${failure.name} remediated`,
      );
    } finally {
      stop.abort();
      await watch.catch(() => undefined);
    }
    return {
      failure: failure.name,
      reason,
      changeToSignalMs: Math.round(signalAt! - changedAt),
      signalToAppliedMs: Math.round(appliedAt! - signalAt!),
    };
  } finally {
    await client.delete(builtin.namespaces, namespace, undefined).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '3' },
      out: { type: 'string', default: 'bench-results/kind-remediation.json' },
    },
  });
  const repeats = Number(values.repeats);
  const kubeconfig = (await run(kindScript, ['kubeconfig'], { cwd: root })).stdout.trim();
  await run(kindScript, ['status'], { cwd: root }).catch(() => {
    throw new Error('no kind cluster answers: run make kind-up first');
  });
  const images = readFileSync(path.join(path.dirname(kubeconfig), 'images.env'), 'utf8');
  const ref = /^SERVICE_IMAGE=(.+)$/m.exec(images)?.[1] ?? '';
  const image = {
    repository: ref.slice(0, ref.lastIndexOf(':')),
    tag: ref.slice(ref.lastIndexOf(':') + 1),
  };
  const client = new KubeClient(loadClusterAccess({ kubeconfig }), { userAgent: 'llmplan-bench' });
  const samples: Sample[] = [];
  for (let i = 0; i < repeats; i++) {
    for (const failure of FAILURES) {
      const sample = await measure(client, image, failure, i);
      console.log(`${failure.name}: ${sample.reason} → applied in ${sample.signalToAppliedMs} ms`);
      samples.push(sample);
    }
  }
  const rows: Row[] = FAILURES.map((failure) => {
    const mine = samples.filter((s) => s.failure === failure.name);
    const applied = latencies(mine.map((s) => s.signalToAppliedMs));
    const signal = latencies(mine.map((s) => s.changeToSignalMs));
    return {
      failure: failure.name,
      runs: applied.count,
      'spec change → signal p50 (ms)': signal.p50,
      'signal → remediation applied p50 (ms)': applied.p50,
      'signal → remediation applied max (ms)': applied.max,
    };
  });
  printTable('kind: real failure signal → remediation applied (operator in-cluster)', rows);
  const machine = {
    cpus: cpus().length,
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(`\nmachine: ${machine.cpus} CPUs, load ${machine.loadAverageAtEnd.join(' ')}`);
  mkdirSync(path.dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ date: new Date().toISOString(), machine, image: ref, samples }, null, 2)}\n`,
  );
  console.log(`wrote ${values.out}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
