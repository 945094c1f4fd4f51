/**
 * What every operator-benchmark scenario gets: the cluster, an admin client, a way to run
 * the real operator (as a process, under deploy/'s RBAC, as tests do), namespaces that are
 * cleaned up, and the shape a scenario reports in. A scenario is one function
 * (`Scenario.run`); operator.ts lists them and prints / writes what they return.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  builtin,
  isNotFound,
  type KubeClient,
  type KubeObject,
  sleep,
} from '../../operator/runtime/index.js';
import { type OperatorProcess, startOperator } from '../support/operator-harness.js';
import type { BenchCluster } from './operator-cluster.js';
import { type MemoryReading, readMemory } from './operator-metrics.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** Label on every namespace the benchmark creates (leftovers of an interrupted run are removed). */
export const BENCH_NAMESPACE_LABEL = 'llmplan.io/bench';

/** Options shared by the scenarios (from the command line). */
export interface BenchOptions {
  sizes: number[];
  idleSeconds: number;
  /**
   * Informer resync period; undefined: the operator's default (600 s), as deployed. A short one
   * (e.g. 20) puts resyncs into the idle window, at the price of churn that shows in RSS.
   */
  resyncSeconds: number | undefined;
  /** undefined: the operator's default. */
  workers: number | undefined;
  createConcurrency: number;
  replicas: number;
  /** Bound on each waiting phase (children, Ready, namespace deletion). */
  phaseTimeoutSeconds: number;
  /** `all`: the operator watches every namespace (deploy/'s default); `namespace`: only the benchmark's. */
  watch: 'all' | 'namespace';
  /** `dist`: compiled JavaScript, as the image runs it; `tsx`: the TypeScript sources through tsx. */
  runtime: 'dist' | 'tsx';
  /** Write a V8 CPU profile of each operator process to bench-results/profiles/. */
  cpuProfile: boolean;
  /** Write a V8 heap snapshot of the operator at the end of each idle window (bench-results/profiles/). */
  heapSnapshot: boolean;
  /**
   * At the start of the idle window, annotate every resource's ConfigMap once (as another tool
   * might): each resource gets a reconcile that has nothing to change, so "0 idle writes" is
   * proven by reconciles rather than by their absence (the default resync is 600 s).
   */
  idleTouch: boolean;
  /** Extra operator environment (LLMPLAN_* options), for experiments. */
  operatorEnv: Record<string, string>;
}

export interface OperatorUnderTest extends OperatorProcess {
  pid: number;
  memory(): MemoryReading | undefined;
  /** With options.heapSnapshot: asks for a heap snapshot and waits until it is written. */
  heapSnapshot(): Promise<string | undefined>;
}

/** A table row: column → cell. */
export type Row = Record<string, string | number>;

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface ScenarioReport {
  /** One row per measured case (a size, a failure kind…). */
  rows: Row[];
  targets: TargetCheck[];
  /** Everything measured, written to the JSON file under the scenario's name. */
  results: unknown;
}

export interface BenchContext {
  cluster: BenchCluster;
  /** Admin client (the benchmark's own requests never count against the operator). */
  client: KubeClient;
  options: BenchOptions;
  log(message: string): void;
  /** Starts the operator; `namespaces` is ignored when options.watch is `all`. */
  startOperator(namespaces: string[], env?: Record<string, string>): Promise<OperatorUnderTest>;
  createNamespace(prefix: string): Promise<string>;
  /** Writes the operator's log lines to bench-results/<name>.log (for investigating a figure). */
  saveLogs(name: string, operator: OperatorProcess): void;
  /** Deletes a namespace and waits until it is gone (bounded); false if it was not gone in time. */
  deleteNamespace(name: string): Promise<boolean>;
}

export interface Scenario {
  description: string;
  run(ctx: BenchContext): Promise<ScenarioReport>;
}

/** Compiles operator/ (and service/, which it shares a tsconfig with) once, like the image does. */
async function buildOperator(log: (m: string) => void): Promise<string[]> {
  const outDir = path.join(root, 'bench-results/.operator-build');
  const main = path.join(outDir, 'operator/main.js');
  log(`compiling the operator into ${path.relative(root, outDir)} (tsc -p tsconfig.build.json)`);
  try {
    await run(
      path.join(root, 'node_modules/.bin/tsc'),
      ['-p', 'tsconfig.build.json', '--outDir', outDir],
      { cwd: root, maxBuffer: 16 << 20 },
    );
  } catch (error) {
    // Type errors elsewhere in the tree still emit JavaScript; only a missing entry point is fatal.
    const stdout = (error as { stdout?: string }).stdout ?? '';
    if (!existsSync(main)) throw new Error(`tsc produced no ${main}:\n${stdout}`);
    log(
      `tsc reported errors but emitted the operator; first lines:\n${stdout.split('\n').slice(0, 5).join('\n')}`,
    );
  }
  return ['--enable-source-maps', main];
}

export async function createContext(
  cluster: BenchCluster,
  client: KubeClient,
  options: BenchOptions,
  log: (message: string) => void,
): Promise<BenchContext> {
  const entry =
    options.runtime === 'dist'
      ? await buildOperator(log)
      : ['--import', 'tsx', path.join(root, 'operator/main.ts')];
  const profileDir = path.join(root, 'bench-results/profiles');
  if (options.cpuProfile || options.heapSnapshot) mkdirSync(profileDir, { recursive: true });
  const profileArgs = [
    ...(options.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ...(options.heapSnapshot
      ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profileDir}`]
      : []),
  ];
  const nodeArgs = [...profileArgs, ...entry];
  const namespaceGone = async (name: string, deadline: number) => {
    while (Date.now() < deadline) {
      try {
        await client.get(builtin.namespaces, name);
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
      await sleep(1000);
    }
    return false;
  };

  return {
    cluster,
    client,
    options,
    log,
    async startOperator(namespaces, env = {}) {
      const operator = await startOperator({
        namespaces: options.watch === 'all' ? [] : namespaces,
        leaderElect: false, // Lease renewals would be writes in the idle window.
        nodeArgs,
        env: {
          LLMPLAN_LOG_LEVEL: 'info',
          ...(options.resyncSeconds
            ? { LLMPLAN_RESYNC_SECONDS: String(options.resyncSeconds) }
            : {}),
          ...(options.workers ? { LLMPLAN_WORKERS: String(options.workers) } : {}),
          ...options.operatorEnv,
          ...env,
        },
      });
      const pid = operator.child.pid;
      if (pid === undefined) throw new Error('the operator process has no pid');
      return {
        ...operator,
        pid,
        memory: () => readMemory(pid),
        heapSnapshot: async () => {
          if (!options.heapSnapshot) return undefined;
          const before = new Set(existsSync(profileDir) ? readdirSync(profileDir) : []);
          process.kill(pid, 'SIGUSR2');
          // The snapshot is written synchronously by the operator; /healthz answers again after.
          for (let i = 0; i < 600; i++) {
            await sleep(1000);
            const written = readdirSync(profileDir).find(
              (f) => f.endsWith('.heapsnapshot') && !before.has(f),
            );
            if (written && (await fetch(`${operator.healthUrl}/healthz`).catch(() => undefined))) {
              log(`heap snapshot: ${path.relative(root, path.join(profileDir, written))}`);
              return written;
            }
          }
          return undefined;
        },
      };
    },
    saveLogs(name, operator) {
      const file = path.join(root, 'bench-results', `${name}.log`);
      mkdirSync(path.dirname(file), { recursive: true });
      const lines = [...operator.logs.map((l) => JSON.stringify(l)), ...operator.rawLines];
      writeFileSync(file, `${lines.join('\n')}\n`);
      log(`operator log: ${path.relative(root, file)} (${lines.length} lines)`);
    },
    async createNamespace(prefix) {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await client.create(builtin.namespaces, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { [BENCH_NAMESPACE_LABEL]: 'true' } },
      });
      return name;
    },
    async deleteNamespace(name) {
      await client.delete(builtin.namespaces, name, undefined, { ignoreNotFound: true });
      return namespaceGone(name, Date.now() + options.phaseTimeoutSeconds * 1000);
    },
  };
}

/** Deletes namespaces an interrupted run left behind, so sizes never overlap. */
export async function removeLeftovers(ctx: BenchContext): Promise<void> {
  const list = await ctx.client.list<KubeObject>(builtin.namespaces, {
    labelSelector: `${BENCH_NAMESPACE_LABEL}=true`,
  });
  for (const ns of list.items) {
    const name = ns.metadata.name ?? '';
    ctx.log(`removing namespace ${name} left by an earlier run`);
    await ctx.deleteNamespace(name);
  }
}
