/**
 * Runs the real operator as a separate process against the test cluster, under
 * exactly the RBAC of deploy/: the ServiceAccount, ClusterRole and Role are
 * applied from `kubectl kustomize deploy`, and the process authenticates with a
 * token of that ServiceAccount, never with the admin kubeconfig.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { FakeLmStudio } from './fakes/lmstudio.js';
import { createTestNamespace, eventually, kubeConfig, kubectlOk } from './kube.js';

const root = path.resolve(import.meta.dirname, '../..');
export const OPERATOR_NAMESPACE = 'llmplan-system';
export const OPERATOR_SERVICE_ACCOUNT = 'llmplan-operator';

/** Kinds from deploy/ that describe the in-cluster Deployment; tests run the process instead. */
const RUNS_AS_PROCESS = new Set(['Deployment', 'Service']);

let installed: Promise<void> | undefined;

/** Applies deploy/ (CRD, namespace, ServiceAccount, RBAC) once per test file. */
export function installOperatorRbac(): Promise<void> {
  installed ??= (async () => {
    const rendered = await kubectlOk(['kustomize', path.join(root, 'deploy')]);
    const docs = parseAllDocuments(rendered)
      .map((d) => d.toJS() as k8s.KubernetesObject)
      .filter((o) => !RUNS_AS_PROCESS.has(o.kind ?? ''));
    const input = docs.map((d) => JSON.stringify(d)).join('\n');
    await kubectlOk(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=llmplan-tests', '-f', '-'],
      {
        input,
      },
    );
    await crdEstablished();
  })();
  return installed;
}

const crdEstablished = () =>
  kubectlOk([
    'wait',
    '--for=condition=Established',
    'crd/summarizerservices.llmplan.io',
    '--timeout=60s',
  ]);

/** Applies crds/summarizerservice.yaml alone (no RBAC) and waits until the API serves it. */
export async function installCrd(): Promise<void> {
  await kubectlOk([
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=llmplan-tests',
    '-f',
    path.join(root, 'crds/summarizerservice.yaml'),
  ]);
  await crdEstablished();
}

/** A kubeconfig that authenticates as the operator's ServiceAccount. */
export async function operatorKubeconfig(): Promise<string> {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: OPERATOR_SERVICE_ACCOUNT,
    namespace: OPERATOR_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig has no current cluster');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'llmplan-op-')), 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: {
          server: cluster.server,
          ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}),
          ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}),
          ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name: 'operator', user: { token: token.status?.token } }],
    contexts: [{ name: 'operator', context: { cluster: 'test', user: 'operator' } }],
    'current-context': 'operator',
  };
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

export interface LogLine {
  level?: string | number;
  msg?: string;
  [key: string]: unknown;
}

export interface OperatorProcess {
  child: ChildProcess;
  logs: LogLine[];
  /** Raw lines that were not JSON (should stay empty: logs are structured). */
  rawLines: string[];
  metricsUrl: string;
  healthUrl: string;
  /** Every line the process printed, kept on disk for a failed test's post-mortem. */
  logFile: string;
  waitForLog(
    predicate: (line: LogLine) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<LogLine>;
  /** Prometheus text from /metrics. */
  metrics(): Promise<string>;
  /** Sum of a metric's samples whose labels include `labels`. */
  metricValue(name: string, labels?: Record<string, string>): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  namespaces: string[];
  leaderElect?: boolean;
  leaseName?: string;
  identity?: string;
  env?: Record<string, string>;
  kubeconfig?: string;
  /** Node arguments that run the operator. Default: operator/main.ts through tsx. */
  nodeArgs?: string[];
}

/** Starts `operator/main.ts` in its own process and waits until it serves /readyz. */
export async function startOperator(options: StartOptions): Promise<OperatorProcess> {
  const kubeconfig = options.kubeconfig ?? (await operatorKubeconfig());
  const nodeArgs = options.nodeArgs ?? ['--import', 'tsx', path.join(root, 'operator/main.ts')];
  const child = spawn(process.execPath, nodeArgs, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KUBECONFIG: kubeconfig,
      LLMPLAN_NAMESPACES: options.namespaces.join(','),
      LLMPLAN_LEADER_ELECT: String(options.leaderElect ?? false),
      LLMPLAN_LEASE_NAMESPACE: OPERATOR_NAMESPACE,
      LLMPLAN_LEASE_NAME: options.leaseName ?? 'llmplan-operator-test',
      LLMPLAN_POD_NAME:
        options.identity ?? `test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      LLMPLAN_BIND_ADDRESS: '127.0.0.1:0',
      LLMPLAN_LOG_LEVEL: 'debug',
      // A process warning (e.g. MaxListenersExceeded) then names where it came from.
      NODE_OPTIONS: '--trace-warnings',
      // Fake nodes run nothing: through the API server's pod proxy a scrape would make the
      // API server dial fake pod IPs, which route off this machine. Tests that read load
      // pass a stub (test/support/fakes/pod-metrics.ts) instead.
      LLMPLAN_LOAD_SCRAPE: 'off',
      ...options.env,
    },
  });
  const logs: LogLine[] = [];
  const rawLines: string[] = [];
  const waiters = new Set<() => void>();
  const logFile = path.join(path.dirname(kubeconfig), `operator-${child.pid ?? 'x'}.log`);
  const onLine = (line: string) => {
    appendFileSync(logFile, `${line}\n`);
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      rawLines.push(line);
    }
    for (const wake of waiters) wake();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const waitForLog = (predicate: (line: LogLine) => boolean, what: string, timeoutMs = 30_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`operator log never showed ${what}; last lines:\n${tail()}`));
      }, timeoutMs);
      const onExit = () => {
        cleanup();
        reject(new Error(`operator exited before ${what}; last lines:\n${tail()}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });
  const tail = () =>
    [...logs.slice(-15).map((l) => JSON.stringify(l)), ...rawLines.slice(-5)].join('\n');

  const serving = await waitForLog(
    (l) =>
      typeof l.msg === 'string' &&
      l.msg.startsWith('serving /metrics') &&
      typeof l.port === 'number',
    'the metrics and health server listening',
  );
  const metricsUrl = `http://127.0.0.1:${String(serving.port)}`;
  const healthUrl = metricsUrl;
  await eventually(async () => (await fetch(`${healthUrl}/readyz`)).ok, {
    what: 'operator /readyz',
    timeoutMs: 30_000,
  });

  const metrics = async () => (await fetch(`${metricsUrl}/metrics`)).text();
  return {
    child,
    logs,
    rawLines,
    metricsUrl,
    healthUrl,
    logFile,
    waitForLog,
    metrics,
    async metricValue(name, labels = {}) {
      return sumMetric(await metrics(), name, labels);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
  };
}

/** Sums the samples of `name` whose label set includes `labels` (Prometheus text format). */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    const matches = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (matches) total += Number(match[3]);
  }
  return total;
}

export interface OperatorFixture {
  ns: { name: string; dispose: () => Promise<void> };
  fake: FakeLmStudio;
  operator: OperatorProcess;
  /** Stops the operator (resolves with its exit code), the fake, and deletes the namespace. */
  close(): Promise<number | null>;
}

/**
 * The usual setup of a test file: deploy/'s RBAC, a namespace of its own, a fake LM Studio,
 * and the operator watching that namespace (LM Studio probed every second, resync every 10 s).
 */
export async function operatorForNamespace(prefix: string): Promise<OperatorFixture> {
  await installOperatorRbac();
  const ns = await createTestNamespace(kubeConfig(), prefix);
  const fake = await FakeLmStudio.start();
  const operator = await startOperator({
    namespaces: [ns.name],
    env: { LLMPLAN_BACKEND_PROBE_SECONDS: '1', LLMPLAN_RESYNC_SECONDS: '10' },
  });
  return {
    ns,
    fake,
    operator,
    async close() {
      const code = await operator.stop('SIGTERM');
      await fake.stop();
      await ns.dispose();
      return code;
    },
  };
}
