/**
 * Vitest global setup for the `cluster` project: makes sure a real control
 * plane is reachable, and tells the tests where it is.
 *
 * - LLMPLAN_TEST_KUBECONFIG set: tests run against that cluster (kind, a real
 *   one); nothing is started or stopped. (Not plain KUBECONFIG, so a shell
 *   pointed at production never receives test objects by accident.)
 * - else a local cluster already running (`make cluster-up`) is reused and left
 *   running;
 * - else one is started with hack/cluster/cluster.sh and stopped afterwards.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const clusterScript = path.join(root, 'hack/cluster/cluster.sh');

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    /** false when the cluster was substituted: fault tests that restart it skip. */
    localCluster: boolean;
  }
}

async function sh(...args: string[]): Promise<string> {
  const { stdout } = await run(clusterScript, args, { cwd: root, maxBuffer: 16 << 20 });
  return stdout.trim();
}

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const binDir = (await run(path.join(root, 'hack/cluster/build-bins.sh'))).stdout.trim();
  const kubectl = path.join(binDir, 'kubectl');
  const substituted = process.env.LLMPLAN_TEST_KUBECONFIG;
  if (substituted) {
    if (!existsSync(substituted)) {
      throw new Error(`LLMPLAN_TEST_KUBECONFIG=${substituted}: no such file`);
    }
    project.provide('kubeconfig', substituted);
    project.provide('kubectl', kubectl);
    project.provide('localCluster', false);
    return undefined;
  }
  // Same rule as cluster.sh: another LLMPLAN_CLUSTER_NAME is another cluster and directory.
  const name = process.env.LLMPLAN_CLUSTER_NAME ?? 'llmplan';
  const kubeconfig = path.join(
    root,
    name === 'llmplan' ? '.cluster' : `.cluster-${name}`,
    'kubeconfig',
  );
  const alreadyRunning = await sh('status').then(
    () => true,
    () => false,
  );
  if (!alreadyRunning) {
    await sh('up');
  }
  project.provide('kubeconfig', kubeconfig);
  project.provide('kubectl', kubectl);
  project.provide('localCluster', true);
  if (alreadyRunning || process.env.LLMPLAN_KEEP_CLUSTER === 'true') {
    return undefined;
  }
  return async () => {
    await sh('down');
  };
}
