/**
 * The cluster the operator benchmark runs on, chosen as the tests choose theirs:
 *
 * - LLMPLAN_BENCH_KUBECONFIG set: that cluster (kind, a real one); nothing is started,
 *   stopped or scaled;
 * - else the local control plane named by LLMPLAN_CLUSTER_NAME (default `bench`, so a
 *   benchmark never shares the tests' `llmplan` cluster): reused when it answers, else
 *   started with hack/cluster/cluster.sh and stopped at the end (unless kept); it gets
 *   enough fake nodes and ClusterIPs for the largest size.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const clusterScript = path.join(root, 'hack/cluster/cluster.sh');

export interface BenchCluster {
  /** Human-readable: which cluster, and whether this run started it. */
  description: string;
  kubeconfig: string;
  kubectl: string;
  /** True for the local control plane (fake nodes can be added). */
  local: boolean;
  /** Control-plane process ids by component (local cluster only), to account for their CPU. */
  processes(): Record<string, number>;
  /** Stops the cluster if this run started it and it is not to be kept. */
  release(): Promise<void>;
}

/** Enough kwok nodes (110 pods each) for `pods` pods, plus one spare. */
export function fakeNodesFor(pods: number): number {
  return Math.max(2, Math.ceil(pods / 100) + 1);
}

/**
 * kube-apiserver's default Service range, 10.0.0.0/24, holds 254 ClusterIPs; a thousand
 * SummarizerServices need a thousand. A ServiceCIDR object (networking.k8s.io/v1) adds
 * 10.1.0.0/20 to the local cluster at run time, as an administrator would widen a real one.
 */
async function widenServiceRange(kubectl: string, kubeconfig: string): Promise<void> {
  const serviceCidr = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'ServiceCIDR',
    metadata: { name: 'llmplan-bench' },
    spec: { cidrs: ['10.1.0.0/20'] },
  };
  const child = run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '-f', '-']);
  child.child.stdin?.end(JSON.stringify(serviceCidr));
  await child;
  await run(kubectl, [
    '--kubeconfig',
    kubeconfig,
    'wait',
    '--for=condition=Ready',
    'servicecidr/llmplan-bench',
    '--timeout=30s',
  ]);
}

/** kwokctl records a pid file per component under its work directory. */
function controlPlanePids(state: string, name: string): Record<string, number> {
  const dir = path.join(state, 'kwok/clusters', name, 'pids');
  const pids: Record<string, number> = {};
  try {
    for (const file of readdirSync(dir)) {
      const pid = Number(readFileSync(path.join(dir, file), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) pids[file.replace(/\.pid$/, '')] = pid;
    }
  } catch {
    // No pid files: CPU of the control plane is simply not reported.
  }
  return pids;
}

export async function acquireCluster(options: {
  fakeNodes: number;
  keep: boolean;
}): Promise<BenchCluster> {
  const binDir = (await run(path.join(root, 'hack/cluster/build-bins.sh'))).stdout.trim();
  const kubectl = path.join(binDir, 'kubectl');
  const substituted = process.env.LLMPLAN_BENCH_KUBECONFIG;
  if (substituted) {
    if (!existsSync(substituted)) {
      throw new Error(`LLMPLAN_BENCH_KUBECONFIG=${substituted}: no such file`);
    }
    return {
      description: `external cluster from LLMPLAN_BENCH_KUBECONFIG=${substituted} (not started or scaled by the benchmark)`,
      kubeconfig: substituted,
      kubectl,
      local: false,
      processes: () => ({}),
      release: async () => undefined,
    };
  }
  const name = process.env.LLMPLAN_CLUSTER_NAME ?? 'bench';
  const env = {
    ...process.env,
    LLMPLAN_CLUSTER_NAME: name,
    LLMPLAN_FAKE_NODES: String(options.fakeNodes),
  };
  const sh = async (...args: string[]) =>
    (await run(clusterScript, args, { cwd: root, env, maxBuffer: 16 << 20 })).stdout.trim();
  const alreadyRunning = await sh('status').then(
    () => true,
    () => false,
  );
  // `up` is idempotent: on a running cluster it only adds the missing fake nodes.
  await sh('up');
  const kubeconfig = path.join(
    root,
    name === 'llmplan' ? '.cluster' : `.cluster-${name}`,
    'kubeconfig',
  );
  await widenServiceRange(kubectl, kubeconfig);
  const stopAtEnd = !alreadyRunning && !options.keep;
  return {
    description: `local control plane "${name}" (${alreadyRunning ? 'reused, left running' : stopAtEnd ? 'started by this run, stopped at the end' : 'started by this run, kept'}), ${options.fakeNodes}+ kwok nodes, KUBECONFIG=${kubeconfig}`,
    kubeconfig,
    kubectl,
    local: true,
    processes: () => controlPlanePids(path.dirname(kubeconfig), name),
    release: async () => {
      if (stopAtEnd) await sh('down');
    },
  };
}
