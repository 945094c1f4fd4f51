/**
 * Argo CD for the tests: the launcher (hack/argocd/argocd.sh) against the test cluster,
 * Applications made from the examples of examples/argocd/, and reading their sync and
 * health the way `kubectl get applications` shows them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { eventually, kubeconfigPath, kubectlOk } from '../kube.js';
import { sumMetric } from '../operator-harness.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const launcher = path.join(root, 'hack/argocd/argocd.sh');
export const ARGOCD_NAMESPACE = 'argocd';
const REFRESH = 'argocd.argoproj.io/refresh';

/** A cold build of Argo CD takes about 5 minutes on 2 cores: hooks that may build wait this long. */
export const BUILD_TIMEOUT_MS = 15 * 60_000;

async function launch(command: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(launcher, [command], {
    cwd: root,
    env: { ...process.env, LLMPLAN_ARGOCD_KUBECONFIG: kubeconfigPath(), ...env },
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** The directory of the argocd binary (built on first use, then cached). */
export async function argocdBinDir(): Promise<string> {
  const { stdout } = await run(path.join(root, 'hack/argocd/build.sh'), { cwd: root });
  return stdout.trim();
}

/**
 * Starts Argo CD against the test cluster unless it runs; `stop` undoes only what this did.
 * `examples: false`: without the Applications of examples/argocd/ (the launcher applies
 * them by default, as `make argocd-up` does).
 */
export async function startArgocd({
  examples = true,
} = {}): Promise<{ stop: () => Promise<void> }> {
  const running = await launch('status').then(
    () => true,
    () => false,
  );
  await launch('up', examples ? {} : { LLMPLAN_ARGOCD_EXAMPLES: 'false' });
  return {
    stop: async () => {
      if (!running) await launch('down');
    },
  };
}

export const argocdMemory = () => launch('memory');
/** The bare Git repository the launcher serves to the Applications of examples/argocd/. */
export const argocdRepo = async () => (await launch('repo')).trim();
/** The application controller's /metrics (it listens inside Argo CD's network namespace). */
export const argocdMetrics = () => launch('metrics');

/** Syncs (succeeded or failed) Argo CD ran for an Application since the controller started. */
export async function syncCount(app: string): Promise<number> {
  return sumMetric(await argocdMetrics(), 'argocd_app_sync_total', { name: app });
}

export interface ApplicationOptions {
  name: string;
  repoURL: string;
  /** Directory of the repository the Application syncs. */
  path: string;
  namespace: string;
}

/**
 * An Application as a user makes one from examples/argocd/application-staging.yaml: its
 * sync policy, sync options and ignoreDifferences unchanged; only the source and the
 * destination namespace are this test's.
 */
export function applicationFromExample(options: ApplicationOptions): Record<string, unknown> {
  const example = parse(
    readFileSync(path.join(root, 'examples/argocd/application-staging.yaml'), 'utf8'),
  ) as { spec: Record<string, unknown> & { destination: Record<string, unknown> } };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: options.name, namespace: ARGOCD_NAMESPACE },
    spec: {
      ...example.spec,
      source: { repoURL: options.repoURL, targetRevision: 'main', path: options.path },
      destination: { ...example.spec.destination, namespace: options.namespace },
    },
  };
}

export async function createApplication(app: Record<string, unknown>): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--field-manager=llmplan-tests', '-f', '-'], {
    input: JSON.stringify(app),
  });
}

/** Deletes Applications without touching what they synced (no resources finalizer). */
export async function deleteApplications(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await kubectlOk([
    'delete',
    'applications.argoproj.io',
    '-n',
    ARGOCD_NAMESPACE,
    '--ignore-not-found',
    '--wait=false',
    ...names,
  ]);
}

export interface ApplicationView {
  sync?: string;
  /** The commit the comparison was made against. */
  revision?: string;
  health?: string;
  /** The health message of its SummarizerService (the Application's own names the resource). */
  message?: string;
  /** The top-level resources Argo CD manages for it: `Kind/namespace/name`. */
  resources: string[];
  conditions: string[];
  /** When the controller last compared it (second resolution). */
  reconciledAt?: string;
  /** A refresh was asked for and not yet done. */
  refreshPending: boolean;
}

interface ApplicationObject {
  metadata: { annotations?: Record<string, string> };
  status?: {
    reconciledAt?: string;
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    resources?: Array<{
      kind: string;
      namespace?: string;
      name: string;
      health?: { status?: string; message?: string };
    }>;
    conditions?: Array<{ type: string; message?: string }>;
  };
}

export async function application(name: string): Promise<ApplicationView> {
  const app = JSON.parse(
    await kubectlOk([
      'get',
      'applications.argoproj.io',
      name,
      '-n',
      ARGOCD_NAMESPACE,
      '-o',
      'json',
    ]),
  ) as ApplicationObject;
  const { status } = app;
  return {
    reconciledAt: status?.reconciledAt,
    refreshPending: app.metadata.annotations?.[REFRESH] !== undefined,
    sync: status?.sync?.status,
    revision: status?.sync?.revision,
    health: status?.health?.status,
    message: status?.resources?.find((r) => r.kind === 'SummarizerService')?.health?.message,
    resources: (status?.resources ?? []).map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`),
    conditions: (status?.conditions ?? []).map((c) => `${c.type}: ${c.message ?? ''}`),
  };
}

/** Asks the controller to re-read Git and compare now (it polls every 30 s otherwise). */
export async function hardRefresh(name: string): Promise<void> {
  await kubectlOk([
    'annotate',
    'applications.argoproj.io',
    name,
    '-n',
    ARGOCD_NAMESPACE,
    '--overwrite',
    `${REFRESH}=hard`,
  ]);
}

/** A hard refresh, and its result: the comparison made after it. */
export async function refreshed(name: string): Promise<ApplicationView> {
  const before = (await application(name)).reconciledAt ?? '';
  // reconciledAt has second resolution: make sure the next one is a later second.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await hardRefresh(name);
  return eventually(
    async () => {
      const view = await application(name);
      return !view.refreshPending && (view.reconciledAt ?? '') > before ? view : undefined;
    },
    { what: `Application ${name}: a hard refresh done`, timeoutMs: 30_000 },
  );
}

/**
 * Polls the Application until `accept` holds. With `revision`, first makes Argo CD compare
 * against that commit: a hard refresh, repeated every 5 s until the comparison names it.
 */
export async function waitForApplication(
  name: string,
  accept: (view: ApplicationView) => boolean,
  { what, timeoutMs = 60_000, revision }: { what: string; timeoutMs?: number; revision?: string },
): Promise<ApplicationView> {
  let last: ApplicationView | undefined;
  let refreshedAt = 0;
  try {
    return await eventually(
      async () => {
        last = await application(name);
        if (revision && last.revision !== revision && Date.now() - refreshedAt > 5_000) {
          refreshedAt = Date.now();
          await hardRefresh(name);
        }
        return (!revision || last.revision === revision) && accept(last) ? last : undefined;
      },
      { what: `Application ${name}: ${what}`, timeoutMs, intervalMs: 250 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}

/** A predicate for waitForApplication: Synced, this health, the SummarizerService's message. */
export const syncedAnd =
  (health: string, message?: RegExp) =>
  (view: ApplicationView): boolean =>
    view.sync === 'Synced' &&
    view.health === health &&
    (!message || message.test(view.message ?? ''));
