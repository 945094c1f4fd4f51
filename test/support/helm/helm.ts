/**
 * A real helm (v3, hack/helm/build-helm.sh: built from its Go module, cached) for the tests of
 * charts/ and of `llmplanctl migrate helm`. Its config, cache and data live in a temporary
 * directory, so the tests never read or write the user's helm setup.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type KubectlResult, kubeconfigPath, runProgram } from '../kube.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
export const OPERATOR_CHART = path.join(root, 'charts/llmplan-operator');
/** The users' chart, verbatim (charts/README.md): what they install with the guide's lines. */
export const OLD_CHART = path.join(root, 'test/support/helm/charts/llmplan');

let binary: Promise<string> | undefined;
const home = mkdtempSync(path.join(tmpdir(), 'llmplan-helm-'));

/** Path of the helm binary (built on first use, then cached under ~/.cache/llmplan/helm). */
export function helmBinary(): Promise<string> {
  binary ??= run(path.join(root, 'hack/helm/build-helm.sh'), { maxBuffer: 1 << 20 }).then(
    ({ stdout }) => path.join(stdout.trim(), 'helm'),
  );
  return binary;
}

/** Runs helm (against the test cluster unless `cluster: false`); never throws on a non-zero exit. */
export async function helm(
  args: string[],
  options: { cluster?: boolean } = {},
): Promise<KubectlResult> {
  const cluster = options.cluster ?? true;
  return runProgram(
    await helmBinary(),
    [...(cluster ? ['--kubeconfig', kubeconfigPath()] : []), ...args],
    {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
      },
    },
  );
}

/** helm that must succeed. */
export async function helmOk(args: string[], options: { cluster?: boolean } = {}): Promise<string> {
  const result = await helm(args, options);
  if (result.code !== 0) {
    throw new Error(`helm ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
