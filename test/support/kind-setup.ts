/**
 * Vitest global setup for the `kind` project: the real cluster (hack/kind/kind.sh
 * up: builds or reuses every image, creates or reuses the kind cluster, installs
 * the operator with `kubectl apply -k deploy/` and examples/dev.yaml with the real
 * inference server). Leaves a cluster it found running; deletes one it created,
 * unless LLMPLAN_KEEP_CLUSTER=true.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const kindScript = path.join(root, 'hack/kind/kind.sh');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Image references of this checkout's builds, in the cluster's registry. */
    kindImages: { service: string; operator: string; llm: string; tools: string };
    /** The podman container that is the kind node (for what only the node can do). */
    kindNode: string;
  }
}

/** kind.sh up, its progress lines passed through (the first run builds for minutes). */
function kindUp(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(kindScript, ['up'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`hack/kind/kind.sh up exited ${code}`)),
    );
  });
}

function readImages(kubeconfig: string): {
  service: string;
  operator: string;
  llm: string;
  tools: string;
} {
  const env = Object.fromEntries(
    readFileSync(path.join(path.dirname(kubeconfig), 'images.env'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => line.split('=', 2) as [string, string]),
  );
  return {
    service: env.SERVICE_IMAGE!,
    operator: env.OPERATOR_IMAGE!,
    llm: env.LLM_IMAGE!,
    tools: env.TOOLS_IMAGE!,
  };
}

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const alreadyRunning = await run(kindScript, ['status'], { cwd: root }).then(
    () => true,
    () => false,
  );
  await kindUp();
  const binDir = (await run(path.join(root, 'hack/cluster/build-bins.sh'))).stdout.trim();
  const kubeconfig = (await run(kindScript, ['kubeconfig'], { cwd: root })).stdout.trim();
  project.provide('kubeconfig', kubeconfig);
  project.provide('kubectl', path.join(binDir, 'kubectl'));
  project.provide('localCluster', false);
  project.provide('kindImages', readImages(kubeconfig));
  project.provide('kindNode', `${process.env.LLMPLAN_KIND_NAME ?? 'llmplan'}-control-plane`);
  if (alreadyRunning || process.env.LLMPLAN_KEEP_CLUSTER === 'true') return undefined;
  return async () => {
    await run(kindScript, ['down'], { cwd: root });
  };
}
