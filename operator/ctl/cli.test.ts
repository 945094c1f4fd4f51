import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { programName, run } from './cli.js';

async function invoke(argv: string[], env: NodeJS.ProcessEnv = { HOME: '/nonexistent' }) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    program: 'llmplanctl',
    env,
    io: {
      out: (text) => {
        stdout += text;
      },
      err: (text) => {
        stderr += text;
      },
      now: () => new Date('2026-01-01T00:00:00Z'),
    },
  });
  return { code, stdout, stderr };
}

describe('run', () => {
  it('prints the usage on stdout for help, exit 0', async () => {
    const result = await invoke(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: llmplanctl COMMAND NAME/);
    expect((await invoke(['rollback', '-h'])).stdout).toMatch(/^Usage: llmplanctl rollback/);
  });

  it('exits 2 with the error and the usage on stderr for a bad command line', async () => {
    for (const [argv, error] of [
      [[], 'error: missing command'],
      [['bogus', 'x'], 'error: unknown command "bogus"'],
      [['status'], 'error: status needs the name of a SummarizerService'],
    ] as const) {
      const result = await invoke([...argv]);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^${error}\\n\\nUsage: llmplanctl`));
    }
  });

  it('exits 1 naming a kubeconfig that does not exist', async () => {
    const result = await invoke(['status', 'x', '--kubeconfig', '/no/such/kubeconfig']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: kubeconfig /no/such/kubeconfig (from --kubeconfig): no such file\n',
    });
  });

  it('exits 1 when the API server cannot be reached, naming it and the kubeconfig', async () => {
    // Port 1 on localhost: nothing listens, the connection is refused at once.
    const dir = mkdtempSync(path.join(tmpdir(), 'llmplanctl-cli-'));
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(
      kubeconfig,
      `current-context: a
contexts: [{name: a, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: t}}]
`,
    );
    const result = await invoke(['pause', 'x', '--kubeconfig', kubeconfig]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: cannot reach the API server at https://127\\.0\\.0\\.1:1 \\(from ${kubeconfig} \\(from --kubeconfig\\)\\): .+\n$`,
      ),
    );
  });
});

describe('programName', () => {
  it('is "kubectl llmplan" when started as the kubectl plugin', () => {
    expect(programName('/usr/local/bin/kubectl-llmplan')).toBe('kubectl llmplan');
    expect(programName('/repo/bin/llmplanctl')).toBe('llmplanctl');
    expect(programName('/repo/operator/ctl/main.ts')).toBe('llmplanctl');
    expect(programName(undefined)).toBe('llmplanctl');
  });
});
