/**
 * The old runbook's three `helm install` lines (README, examples/*.yaml), as the `--set`
 * arguments users type and as the `config` Helm records for them (what `--set` parses to:
 * `true` a boolean, `2` a number, `hosts[0].host` a new one-element list). The tests that
 * install them with a real helm check that the recorded config is exactly this.
 */
export interface RunbookLine {
  namespace: string;
  set: string[];
  config: Record<string, unknown>;
}

export const RUNBOOK: Record<'dev' | 'staging' | 'prod', RunbookLine> = {
  dev: {
    namespace: 'llmplan-dev',
    set: [
      'image.tag=main',
      'resources.requests.cpu=250m',
      'resources.requests.memory=256Mi',
      'debug=true',
    ],
    config: {
      image: { tag: 'main' },
      resources: { requests: { cpu: '250m', memory: '256Mi' } },
      debug: true,
    },
  },
  staging: {
    namespace: 'llmplan-staging',
    set: ['image.tag=latest', 'replicas=2'],
    config: { image: { tag: 'latest' }, replicas: 2 },
  },
  prod: {
    namespace: 'llmplan-prod',
    set: [
      'image.tag=v0.1.0',
      'replicas=3',
      'autoscaling.enabled=true',
      'autoscaling.minReplicas=3',
      'autoscaling.maxReplicas=20',
      'resources.limits.memory=2Gi',
      'ingress.enabled=true',
      'ingress.hosts[0].host=llmplan.company.com',
      'lmstudio.externalName=lmstudio.internal.company.com',
    ],
    config: {
      image: { tag: 'v0.1.0' },
      replicas: 3,
      autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 },
      resources: { limits: { memory: '2Gi' } },
      ingress: { enabled: true, hosts: [{ host: 'llmplan.company.com' }] },
      lmstudio: { externalName: 'lmstudio.internal.company.com' },
    },
  },
};

/** `--set a=b` arguments for helm. */
export const setArgs = (set: readonly string[]): string[] => set.flatMap((s) => ['--set', s]);
