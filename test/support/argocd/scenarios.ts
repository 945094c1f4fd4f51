/**
 * What a GitOps end-to-end test file works with: Argo CD on the test cluster (started if it
 * is not running), a Git repository of its own, one namespace and Application per scenario,
 * the fake LM Studio as every SummarizerService's backend, and the operator (a process under
 * deploy/'s RBAC) watching those namespaces. Transitions it times are printed at the end,
 * never asserted (timing is for benchmarks).
 */
import { stringify } from 'yaml';
import { FakeLmStudio } from '../fakes/lmstudio.js';
import { createTestNamespace, kubeConfig, kubectlOk } from '../kube.js';
import { installOperatorRbac, type OperatorProcess, startOperator } from '../operator-harness.js';
import {
  applicationFromExample,
  argocdMemory,
  createApplication,
  deleteApplications,
  startArgocd,
} from './argocd.js';
import { GitRepo } from './git.js';

export const NAME = 'llmplan';

/** What a scenario commits: spec fields, with `tag` for spec.image.tag. */
export type Wanted = { tag?: string } & Record<string, unknown>;

export interface LiveSummarizerService {
  metadata: {
    generation: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { replicas?: number; paused?: boolean; image: { tag: string } };
  status?: { observedGeneration?: number };
}

export class GitOpsScenarios<S extends string> {
  private operator: OperatorProcess | undefined;
  private readonly apps: string[] = [];
  private readonly timings: Array<[string, number]> = [];

  private constructor(
    /** Each scenario's namespace; its Application has the same name. */
    readonly ns: Record<S, string>,
    private readonly disposers: Array<() => Promise<void>>,
    readonly repo: GitRepo,
    private readonly fake: FakeLmStudio,
    private readonly argocd: { stop: () => Promise<void> },
  ) {}

  /** Argo CD is built on first use: run from a hook with BUILD_TIMEOUT_MS. */
  static async start<S extends string>(scenarios: readonly S[]): Promise<GitOpsScenarios<S>> {
    const argocd = await startArgocd();
    await installOperatorRbac();
    const fake = await FakeLmStudio.start();
    const repo = await GitRepo.create();
    const ns = {} as Record<S, string>;
    const disposers: Array<() => Promise<void>> = [];
    const kc = kubeConfig();
    for (const scenario of scenarios) {
      const namespace = await createTestNamespace(kc, `gitops-${scenario}`);
      ns[scenario] = namespace.name;
      disposers.push(namespace.dispose);
    }
    return new GitOpsScenarios(ns, disposers, repo, fake, argocd);
  }

  async stop(): Promise<void> {
    await deleteApplications(this.apps);
    await this.operator?.stop();
    await this.fake.stop();
    await Promise.all(this.disposers.map((d) => d()));
    this.repo.dispose();
    if (this.timings.length > 0) {
      const rows = this.timings.map(
        ([what, ms]) => `  ${what.padEnd(56)} ${(ms / 1000).toFixed(1)}`,
      );
      console.info(`Argo CD transitions (s):\n${rows.join('\n')}`);
      console.info(`Argo CD processes:\n${await argocdMemory()}`);
    }
    await this.argocd.stop();
  }

  /** The operator for every scenario's namespace, started on first call. */
  async ensureOperator(): Promise<OperatorProcess> {
    this.operator ??= await startOperator({
      namespaces: Object.values(this.ns),
      env: { LLMPLAN_BACKEND_PROBE_SECONDS: '1', LLMPLAN_RESYNC_SECONDS: '10' },
    });
    return this.operator;
  }

  /** Commits the scenario's SummarizerService (`<scenario>/sumsvc.yaml`); returns the commit. */
  commit(scenario: S, { tag = 'v1', ...spec }: Wanted, message: string, name = NAME) {
    const manifest = stringify({
      apiVersion: 'llmplan.io/v1alpha1',
      kind: 'SummarizerService',
      metadata: { name, namespace: this.ns[scenario] },
      spec: {
        image: { repository: 'registry.local/summarizer', tag },
        lmstudio: { externalName: '127.0.0.1', port: this.fake.port },
        remediation: { cooldownSeconds: 0 },
        ...spec,
      },
    });
    return this.repo.commit({ [`${scenario}/sumsvc.yaml`]: manifest }, message);
  }

  /** The scenario's Application (from the staging example), syncing `<scenario>/`. */
  async createApplication(scenario: S): Promise<string> {
    const name = this.ns[scenario];
    await createApplication(
      applicationFromExample({ name, repoURL: this.repo.url, path: scenario, namespace: name }),
    );
    this.apps.push(name);
    return name;
  }

  async live(scenario: S, name = NAME): Promise<LiveSummarizerService> {
    const json = await kubectlOk(['get', 'sumsvc', name, '-n', this.ns[scenario], '-o', 'json']);
    return JSON.parse(json) as LiveSummarizerService;
  }

  async deployment(scenario: S): Promise<{ replicas?: number; image?: string }> {
    const d = JSON.parse(
      await kubectlOk(['get', 'deployment', NAME, '-n', this.ns[scenario], '-o', 'json']),
    ) as { spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } } };
    return { replicas: d.spec.replicas, image: d.spec.template.spec.containers[0]?.image };
  }

  /** Awaits `wait` and records how long `what` took since `started`. */
  async timed<T>(what: string, started: number, wait: Promise<T>): Promise<T> {
    const result = await wait;
    this.timings.push([what, Date.now() - started]);
    return result;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
