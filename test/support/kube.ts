/**
 * Helpers for tests that run against the real control plane: a KubeConfig for
 * it, a namespace of one's own, kubectl, and polling with a deadline.
 *
 * Under vitest the cluster comes from global-setup.ts (`inject`); a standalone
 * script (the operator benchmark) names it once with {@link useCluster}.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';
import { builtin, type KubeClient } from '../../operator/runtime/index.js';

const run = promisify(execFile);

let explicitCluster: { kubeconfig: string; kubectl: string } | undefined;

/** Outside vitest: the kubeconfig and kubectl binary every helper here uses. */
export function useCluster(cluster: { kubeconfig: string; kubectl: string }): void {
  explicitCluster = cluster;
}

export function kubeconfigPath(): string {
  return explicitCluster?.kubeconfig ?? inject('kubeconfig');
}

function kubectlPath(): string {
  return explicitCluster?.kubectl ?? inject('kubectl');
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a program to completion (bounded by `timeoutMs` if given); never throws on a non-zero exit. */
export async function runProgram(
  file: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  const child = run(file, args, {
    maxBuffer: 32 << 20,
    env: opts.env ?? process.env,
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
  });
  if (opts.input !== undefined) {
    child.child.stdin?.end(opts.input);
  }
  try {
    const { stdout, stderr } = await child;
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return {
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(error),
      code: typeof e.code === 'number' ? e.code : 1,
    };
  }
}

/** Runs kubectl against the test cluster; never throws on a non-zero exit. */
export function kubectl(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<KubectlResult> {
  return runProgram(kubectlPath(), ['--kubeconfig', kubeconfigPath(), ...args], opts);
}

/** kubectl that must succeed: throws with kubectl's stderr otherwise. */
export async function kubectlOk(args: string[], opts: { input?: string } = {}): Promise<string> {
  const result = await kubectl(args, opts);
  if (result.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

export const TEST_NAMESPACE_LABEL = 'llmplan.io/test';

/** Creates a fresh namespace; `dispose` deletes it (and everything in it). */
export async function createTestNamespace(
  kc: k8s.KubeConfig,
  prefix: string,
): Promise<{ name: string; dispose: () => Promise<void> }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: 'true' } } },
  });
  return {
    name,
    dispose: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or throws
 * after `timeoutMs` with the last observation, so a failing test says what it saw.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  {
    timeoutMs = 30_000,
    intervalMs = 250,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) {
        return value;
      }
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A 10-minute token for ServiceAccount `name` (TokenRequest), to act as it in a test. */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string> {
  const response = await client.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    },
  });
  return response.status.token;
}

/**
 * A kubeconfig file (in `dir`) that acts as a new ServiceAccount of `namespace` holding exactly
 * `rules` there: to run a CLI with the permissions a user would have.
 */
export async function kubeconfigWithRules(
  client: KubeClient,
  namespace: string,
  name: string,
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
  dir: string,
): Promise<string> {
  const metadata = { name, namespace };
  await client.create(builtin.serviceAccounts, { metadata });
  await client.create(builtin.roles, { metadata, rules });
  await client.create(builtin.roleBindings, {
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
  const token = await serviceAccountToken(client, namespace, name);
  const config = parse(readFileSync(kubeconfigPath(), 'utf8'));
  config.users = [{ name, user: { token } }];
  config.contexts = [
    { name, context: { cluster: config.clusters[0].name, user: name, namespace } },
  ];
  config['current-context'] = name;
  const file = path.join(dir, `kubeconfig-${name}`);
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}
