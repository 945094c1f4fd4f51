/**
 * `npm run bench:operator`: the operator measured against a real control plane, as a process
 * under deploy/'s RBAC. Prints a table per scenario and writes bench-results/operator.json.
 *
 *   npm run bench:operator -- [--scenario scale] [--sizes 100,1000] [--idle-seconds 60]
 *     [--resync-seconds S] [--workers N] [--create-concurrency 16] [--replicas 1]
 *     [--phase-timeout-seconds 300] [--watch all|namespace] [--runtime dist|tsx]
 *     [--operator-env LLMPLAN_X=Y]... [--keep-cluster] [--out bench-results/operator.json]
 *     [--max-minutes 45] [--cpu-profile] [--heap-snapshot] [--no-idle-touch]
 *
 * Scenarios (operator-context.ts: `Scenario`; add one by writing a module and listing it in
 * SCENARIOS):
 *   scale     issue 4: N resources at once → children, requests/reconcile, idle writes, RSS
 *   rollback  issue 5: failure signal (CrashLoopBackOff, image pull, deadline) → rollback applied
 *   load      issue 10: every pod's /metrics scraped (stub): CPU per scrape, idle writes, writes under load
 *   apiserver the yardstick: requests/s the API server alone answers (no operator)
 *
 * It measures and reports; it asserts nothing (the table marks each target met or not).
 * Cluster: see operator-cluster.ts (LLMPLAN_BENCH_KUBECONFIG, else the local `bench` one).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { KubeClient, loadClusterAccess } from '../../operator/runtime/index.js';
import { useCluster } from '../support/kube.js';
import { installOperatorRbac } from '../support/operator-harness.js';
import { apiserverScenario } from './operator-apiserver.js';
import { acquireCluster, fakeNodesFor } from './operator-cluster.js';
import {
  type BenchOptions,
  createContext,
  removeLeftovers,
  type Scenario,
  type ScenarioReport,
} from './operator-context.js';
import { loadScenario } from './operator-load.js';
import { rollbackScenario } from './operator-rollback.js';
import { scaleScenario } from './operator-scale.js';
import { printTable } from './table.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

const SCENARIOS: Record<string, Scenario> = {
  scale: scaleScenario,
  rollback: rollbackScenario,
  load: loadScenario,
  apiserver: apiserverScenario,
};

const log = (message: string) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

function positiveInt(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`--${flag}=${raw}: a positive integer is required`);
  return value;
}

function parseOptions(argv: string[]): {
  scenarios: string[];
  options: BenchOptions;
  keep: boolean;
  out: string;
  maxMinutes: number;
} {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenario: { type: 'string', default: 'scale' },
      sizes: { type: 'string', default: '100,1000' },
      'idle-seconds': { type: 'string', default: '60' },
      'resync-seconds': { type: 'string' },
      workers: { type: 'string' },
      'create-concurrency': { type: 'string', default: '16' },
      replicas: { type: 'string', default: '1' },
      'phase-timeout-seconds': { type: 'string', default: '300' },
      watch: { type: 'string', default: 'all' },
      runtime: { type: 'string', default: 'dist' },
      'keep-cluster': { type: 'boolean', default: false },
      'cpu-profile': { type: 'boolean', default: false },
      'heap-snapshot': { type: 'boolean', default: false },
      'no-idle-touch': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results/operator.json' },
      'max-minutes': { type: 'string', default: '45' },
      'operator-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const scenarios = values.scenario.split(',').filter((s) => s !== '');
  for (const s of scenarios) {
    if (!SCENARIOS[s])
      throw new Error(`--scenario ${s}: known scenarios are ${Object.keys(SCENARIOS).join(', ')}`);
  }
  if (values.watch !== 'all' && values.watch !== 'namespace')
    throw new Error('--watch: all or namespace');
  if (values.runtime !== 'dist' && values.runtime !== 'tsx')
    throw new Error('--runtime: dist or tsx');
  const resyncSeconds =
    values['resync-seconds'] === undefined
      ? undefined
      : positiveInt('resync-seconds', values['resync-seconds']);
  if (resyncSeconds !== undefined && resyncSeconds < 10) {
    throw new Error('--resync-seconds: the operator accepts 10 or more');
  }
  return {
    scenarios,
    keep: values['keep-cluster'],
    out: path.resolve(root, values.out),
    maxMinutes: positiveInt('max-minutes', values['max-minutes']),
    options: {
      sizes: values.sizes.split(',').map((s) => positiveInt('sizes', s.trim())),
      idleSeconds: positiveInt('idle-seconds', values['idle-seconds']),
      resyncSeconds,
      workers: values.workers === undefined ? undefined : positiveInt('workers', values.workers),
      createConcurrency: positiveInt('create-concurrency', values['create-concurrency']),
      replicas: Number(values.replicas),
      phaseTimeoutSeconds: positiveInt('phase-timeout-seconds', values['phase-timeout-seconds']),
      watch: values.watch,
      runtime: values.runtime,
      cpuProfile: values['cpu-profile'],
      heapSnapshot: values['heap-snapshot'],
      idleTouch: !values['no-idle-touch'],
      operatorEnv: Object.fromEntries(
        values['operator-env'].map((pair) => {
          const at = pair.indexOf('=');
          if (at <= 0) throw new Error(`--operator-env ${pair}: KEY=VALUE expected`);
          return [pair.slice(0, at), pair.slice(at + 1)];
        }),
      ),
    },
  };
}

/** Which operator code was measured: the shared checkout may hold uncommitted work. */
async function sourceState(): Promise<{ commit: string; uncommittedOperatorFiles: string[] }> {
  const git = async (...args: string[]) => (await run('git', args, { cwd: root })).stdout.trim();
  try {
    const changed = await git('status', '--porcelain', '--', 'operator', 'service');
    return {
      commit: await git('rev-parse', '--short', 'HEAD'),
      uncommittedOperatorFiles: changed.split('\n').filter((l) => l !== ''),
    };
  } catch {
    return { commit: 'unknown', uncommittedOperatorFiles: [] };
  }
}

async function main(): Promise<void> {
  const { scenarios, options, keep, out, maxMinutes } = parseOptions(process.argv.slice(2));
  const watchdog = setTimeout(() => {
    log(
      `still running after --max-minutes ${maxMinutes}; giving up (the cluster may need hack/cluster/cluster.sh down)`,
    );
    process.exit(3);
  }, maxMinutes * 60_000);
  watchdog.unref();

  const largest = Math.max(...options.sizes) * Math.max(1, options.replicas);
  const cluster = await acquireCluster({ fakeNodes: fakeNodesFor(largest), keep });
  log(`cluster: ${cluster.description}`);
  // Before compiling: the code measured is the code as it was when the run started.
  const source = await sourceState();
  const reports: Record<string, ScenarioReport> = {};
  try {
    useCluster({ kubeconfig: cluster.kubeconfig, kubectl: cluster.kubectl });
    await installOperatorRbac();
    const client = new KubeClient(loadClusterAccess({ kubeconfig: cluster.kubeconfig }), {
      qps: 1000,
      burst: 2000,
      userAgent: 'llmplan-bench',
    });
    const ctx = await createContext(cluster, client, options, log);
    await removeLeftovers(ctx);
    for (const name of scenarios) {
      const scenario = SCENARIOS[name];
      if (!scenario) continue;
      log(`scenario ${name}: ${scenario.description}`);
      reports[name] = await scenario.run(ctx);
    }
  } finally {
    await cluster.release();
  }

  const machine = {
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
  for (const [name, report] of Object.entries(reports)) {
    printTable(`operator benchmark — ${name}`, report.rows);
    console.log('');
    for (const t of report.targets) {
      console.log(`${t.met ? 'met   ' : 'MISSED'}  ${t.what}: ${t.measured} (target ${t.target})`);
    }
  }
  console.log(
    `\nmachine: ${machine.cpus} CPUs, load ${machine.loadAverageAtEnd.join(' ')}; cluster: ${cluster.description}`,
  );
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine,
        cluster: cluster.description,
        source,
        // null: the operator's own default (600 s).
        options: { ...options, resyncSeconds: options.resyncSeconds ?? null },
        scenarios: Object.fromEntries(
          Object.entries(reports).map(([n, r]) => [n, { targets: r.targets, results: r.results }]),
        ),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${path.relative(root, out)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
