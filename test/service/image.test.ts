/**
 * Issue 2, point 10. No Docker engine here, so this proves what can be proven
 * without one: the Dockerfile's promises (Node 22, uid 1000, curl, its CMD), and
 * that the command it runs — the service compiled by service/tsconfig.build.json,
 * started with plain node — serves requests and drains on SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/service-harness.js';

const dockerfile = readFileSync(join(REPO_ROOT, 'service/Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.filter((line) => line.startsWith('FROM '));
const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1) ?? ''));

describe('service/Dockerfile', () => {
  it('is multi-stage on a Node 22 image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(instructions.find((line) => line.startsWith('ARG NODE_IMAGE='))).toMatch(/=node:22[-.]/);
  });

  it('runs as uid 1000, has curl, and starts node itself (no npm: it needs a writable cache)', () => {
    expect(finalStage).toContain('USER 1000:1000');
    expect(
      finalStage.find((line) => line.startsWith('RUN ') && line.includes('apt-get install')),
    ).toMatch(/\bcurl\b/);
    // npm would need a writable cache: the process is node itself.
    const cmd = finalStage.find((line) => line.startsWith('CMD '));
    expect(cmd?.startsWith('CMD ["node"')).toBe(true);
  });
});

describe('the image command', () => {
  const outDir = join(REPO_ROOT, 'dist', `.image-test-${process.pid}`);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('the compiled service starts with plain node, answers, and exits 0 on SIGTERM', async () => {
    execFileSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        'service/tsconfig.build.json',
        '--outDir',
        outDir,
      ],
      {
        cwd: REPO_ROOT,
      },
    );
    const cmd = finalStage.find((line) => line.startsWith('CMD ')) ?? '';
    const args = JSON.parse(cmd.slice(4)) as string[];
    const entry = args.at(-1) ?? '';
    expect(entry).toBe('dist/service/main.js');
    const compiled = join(outDir, entry.replace(/^dist\//, ''));
    expect(existsSync(compiled)).toBe(true);

    const child = spawn(process.execPath, [...args.slice(1, -1), compiled], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const closed = once(child, 'close');
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      closed.then(() => reject(new Error(`exited before listening:\n${out}`)));
    });
    const live = await fetch(`http://127.0.0.1:${port}/livez`);
    expect(live.status).toBe(200);
    child.kill('SIGTERM');
    const [code] = await closed;
    expect(code).toBe(0);
  }, 60_000);
});
