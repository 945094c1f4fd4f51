/**
 * examples/argocd/health.lua judged by Argo CD itself: `argocd admin settings
 * resource-overrides health` runs the health customisation of examples/argocd/argocd-cm.yaml
 * in Argo CD's own Lua VM (gopher-lua with Argo CD's libraries) over every recorded state of
 * health_test.yaml. (test/gitops/health-lua.test.ts runs the same script in wasmoon, fast
 * and without Argo CD, and checks it against the status the operator computes.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { argocdBinDir, BUILD_TIMEOUT_MS } from '../support/argocd/argocd.js';

const run = promisify(execFile);
const examples = path.resolve(import.meta.dirname, '../../examples/argocd');
const { tests } = parse(readFileSync(path.join(examples, 'health_test.yaml'), 'utf8')) as {
  tests: { healthStatus: { status: string; message: string }; inputPath: string }[];
};

let argocd: string;
beforeAll(async () => {
  argocd = path.join(await argocdBinDir(), 'argocd');
}, BUILD_TIMEOUT_MS);

async function adminHealth(resource: string, argocdCm: string): Promise<string> {
  const { stdout } = await run(
    argocd,
    ['admin', 'settings', 'resource-overrides', 'health', resource, '--argocd-cm-path', argocdCm],
    // Offline: the settings come from the file; no kubeconfig is read.
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: '/dev/null' } },
  );
  return stdout;
}

/** STATUS and MESSAGE as `argocd admin settings resource-overrides health` prints them. */
async function health(resource: string, argocdCm: string): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await adminHealth(resource, argocdCm))
      .split('\n')
      .map((line) => /^(STATUS|MESSAGE): (.*)$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => [m[1]!.toLowerCase(), m[2]!]),
  );
}

describe('health.lua in Argo CD (argocd admin settings resource-overrides health)', () => {
  it('health_test.yaml lists every recorded state in testdata/', () => {
    const listed = tests.map((t) => t.inputPath).sort();
    const recorded = readdirSync(path.join(examples, 'testdata')).map((f) => `testdata/${f}`);
    expect(listed).toEqual(recorded.sort());
  });

  it.each(tests.map((t) => [t.inputPath, t.healthStatus] as const))(
    '%s',
    async (inputPath, expected) => {
      const got = await health(
        path.join(examples, inputPath),
        path.join(examples, 'argocd-cm.yaml'),
      );
      expect(got).toEqual(expected);
    },
  );

  it('the verdicts come from argocd-cm.yaml: a stock argocd-cm has no health for SummarizerService', async () => {
    const stock = path.join(mkdtempSync(path.join(tmpdir(), 'llmplan-argocd-cm-')), 'cm.yaml');
    writeFileSync(
      stock,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: argocd\ndata: {}\n',
    );
    const stdout = await adminHealth(path.join(examples, 'testdata/healthy.yaml'), stock);
    expect(stdout).toContain("Health script is not configured for 'llmplan.io/SummarizerService'");
  });
});
