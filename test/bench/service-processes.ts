/**
 * The processes of `npm run bench:service` and how they are loaded: each server
 * in its own process (2 cores: the load generator, the server under test and
 * the fake LM Studio must not share an event loop), autocannon in the
 * benchmark's own, and CPU time per process from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { processCpuSeconds } from './operator-metrics.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const children: ChildProcess[] = [];

/** Starts a TypeScript entry point in its own process; stdout goes nowhere (as cheap as a log pipe). */
export function start(
  entry: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

export async function waitFor(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

export async function stopAll(): Promise<void> {
  for (const child of children) await stop(child);
}

export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

/**
 * The service as it was at git `ref` (e.g. the node:http version before
 * Express), extracted beside the checkout so it resolves the same node_modules.
 * Returns the entry point to start.
 */
export function serviceAtRef(ref: string): string {
  const dir = join(ROOT, 'bench-results', 'baseline', ref.replace(/[^\w.-]/g, '_'));
  mkdirSync(dir, { recursive: true });
  // The service imports contract/ (since a93dfd2): take it too where the ref has it.
  execFileSync('bash', [
    '-c',
    `paths=service; git -C '${ROOT}' cat-file -e '${ref}:contract' 2>/dev/null && paths="service contract"; git -C '${ROOT}' archive '${ref}' $paths | tar -x -C '${dir}'`,
  ]);
  return join(dir, 'service', 'main.ts');
}

export interface LoadResult {
  rps: number;
  /** 2xx answers per second. */
  okPerSecond: number;
  /** CPU milliseconds (user + system) per request: the server under test, the fake, autocannon. */
  cpuMsPerRequest: { server: number; fake: number; client: number };
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
}

/** CPU seconds a process has used (from /proc); NaN where unknown. */
const cpuSeconds = (pid: number | undefined) =>
  (pid === undefined ? undefined : processCpuSeconds(pid)) ?? Number.NaN;

export async function load(
  url: string,
  body: string,
  seconds: number,
  connections: number,
  processes: { server?: ChildProcess; fake?: ChildProcess } = {},
): Promise<LoadResult> {
  const serverBefore = cpuSeconds(processes.server?.pid);
  const fakeBefore = cpuSeconds(processes.fake?.pid);
  const clientBefore = process.cpuUsage();
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  });
  const clientUsed = process.cpuUsage(clientBefore);
  const perRequest = (cpuMs: number) => cpuMs / Math.max(1, result.requests.total);
  const duration = result.duration || seconds;
  return {
    rps: result.requests.total / duration,
    okPerSecond: result['2xx'] / duration,
    cpuMsPerRequest: {
      server: perRequest((cpuSeconds(processes.server?.pid) - serverBefore) * 1000),
      fake: perRequest((cpuSeconds(processes.fake?.pid) - fakeBefore) * 1000),
      client: perRequest((clientUsed.user + clientUsed.system) / 1000),
    },
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The median of each figure over rounds; errors summed. */
export function summarizeRuns(runs: LoadResult[]): LoadResult {
  return {
    rps: median(runs.map((r) => r.rps)),
    okPerSecond: median(runs.map((r) => r.okPerSecond)),
    cpuMsPerRequest: {
      server: median(runs.map((r) => r.cpuMsPerRequest.server)),
      fake: median(runs.map((r) => r.cpuMsPerRequest.fake)),
      client: median(runs.map((r) => r.cpuMsPerRequest.client)),
    },
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    mean: median(runs.map((r) => r.mean)),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}
