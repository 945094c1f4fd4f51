/**
 * The users' operations guide's Helm lines (../shared/seed/operations-guide.md, "배포 가이드"
 * and "업데이트 및 롤백"), as the tests run them against the users' chart
 * (charts/llmplan, verbatim): the `--set` / `--set-json` arguments, and the `config` Helm
 * records for them (the user's values: `--set` parses `true` to a boolean, `2` to a number,
 * `hosts[0].host` to a new one-element list; a list given with `--set-json` replaces the
 * chart's). test/helm/old-chart.tools.test.ts proves with the real `helm template` that
 * each line's arguments and its `config` render the same objects; the cluster tests check
 * that Helm records exactly this `config`.
 *
 * Where a line of the guide cannot work with the real chart it is ADAPTED, each time said
 * below (`adapted`), and nothing else is changed:
 * - `--set env.DEBUG=true|false` (dev, staging): `env` is a list in this chart; --set makes it
 *   a map ({DEBUG: true}), which the chart renders as the container's `env:`, and the API
 *   server refuses the Deployment (env must be a list). Users set env as a list: here with
 *   `--set-json`, the chart's own list with DEBUG changed.
 * - no `lmstudio.externalName` (dev, staging, prod): with lmstudio.enabled (the default) and
 *   no externalName the chart renders a headless Service and an EndpointSlice with the
 *   address `host.docker.internal`, which the API server refuses (not an IPv4 address): the
 *   install fails. Real releases set externalName (as the guide's first line does) or
 *   lmstudio.enabled=false; here the first line's externalName.
 * - `--set ingress.hosts[0].host=…` alone (prod): it replaces the hosts list with one host
 *   without paths; the chart renders the rule with `paths:` empty, which the API server
 *   refuses (paths: Required value). Here with the path the chart's default host has:
 *   `/`, Prefix.
 *
 * The release `llmplan` (namespace `llmplan`) has a history: revision 1 the guide's first
 * install line, revision 2 its `helm upgrade --reuse-values --set resources.limits.memory=4Gi`,
 * revision 3 `helm rollback llmplan 1` — which runs revision 1's values again: the release
 * runs a 2Gi limit, not 4Gi. Left out of that history, as not runnable as printed:
 * - `helm upgrade llmplan … --set image.tag=v0.1.1` (without --reuse-values): values given,
 *   so Helm starts from the chart's defaults again; lmstudio.externalName is lost, the
 *   EndpointSlice above is refused, the revision is `failed` (migrate refuses a release
 *   whose latest revision is not deployed, and says to roll back first);
 * - the OOM section's `helm upgrade llmplan … --reuse-values --set resources.limits.memory=2Gi
 *   --set resources.requests.memory=1Gi` and the monthly `--reuse-values --set
 *   image.tag=latest`: printed without `--namespace`, they look for the release in the
 *   current namespace (`has no deployed releases`); with `-n llmplan` they are GUIDE.oom and
 *   GUIDE.monthly below (values only; the tests map them, nothing installs them).
 */
import type { Values } from '../../../operator/ctl/migrate/helm-release.js';

export interface RunbookLine {
  /** The guide's line, as it prints it (chart reference shortened to `<chart>`). */
  guide: string;
  /** Release name: objects are named after it (the chart's fullname). */
  release: string;
  namespace: string;
  /** `--set` arguments as the tests pass them (the guide's, adapted where said). */
  set: string[];
  /** `--set-json` arguments (adaptations only). */
  setJson: string[];
  /** What Helm records as the user's values for this line. */
  config: Values;
  /** How the line differs from the guide's, and why (empty: as printed). */
  adapted: string[];
}

const EXTERNAL_NAME = 'lmstudio.internal.company.com';

/** The chart's own env list (values.yaml), with DEBUG as given. */
export const chartEnv = (debug: 'true' | 'false') => [
  { name: 'LMSTUDIO_BASE_URL', value: 'http://lmstudio:1234/v1' },
  { name: 'LMSTUDIO_API_KEY', value: 'lm-studio' },
  { name: 'DEBUG', value: debug },
];

const ENV_ADAPTED = (debug: string) =>
  `--set env.DEBUG=${debug} → --set-json env=[…] (the chart's list, DEBUG "${debug}"): env is a list in this chart, and a map is refused by the API server`;
const EXTERNAL_NAME_ADAPTED = `+ --set lmstudio.externalName=${EXTERNAL_NAME} (the guide's first line's): without it the chart renders an EndpointSlice with address host.docker.internal, which the API server refuses`;

export const RUNBOOK: Record<'llmplan' | 'dev' | 'staging' | 'prod', RunbookLine> = {
  /** 프로덕션 배포, "1. Helm을 통한 배포": revision 1 of release llmplan. */
  llmplan: {
    guide:
      'helm install llmplan <chart> --namespace llmplan --set image.tag=v0.1.0 --set resources.limits.memory=2Gi --set resources.limits.cpu=1000m --set lmstudio.externalName=lmstudio.internal.company.com',
    release: 'llmplan',
    namespace: 'llmplan',
    set: [
      'image.tag=v0.1.0',
      'resources.limits.memory=2Gi',
      'resources.limits.cpu=1000m',
      `lmstudio.externalName=${EXTERNAL_NAME}`,
    ],
    setJson: [],
    config: {
      image: { tag: 'v0.1.0' },
      resources: { limits: { memory: '2Gi', cpu: '1000m' } },
      lmstudio: { externalName: EXTERNAL_NAME },
    },
    adapted: [],
  },
  /** 개발 환경. */
  dev: {
    guide:
      'helm install llmplan-dev <chart> --namespace llmplan-dev --create-namespace --set image.tag=main --set resources.requests.cpu=250m --set resources.requests.memory=256Mi --set env.DEBUG=true',
    release: 'llmplan-dev',
    namespace: 'llmplan-dev',
    set: [
      'image.tag=main',
      'resources.requests.cpu=250m',
      'resources.requests.memory=256Mi',
      `lmstudio.externalName=${EXTERNAL_NAME}`,
    ],
    setJson: [`env=${JSON.stringify(chartEnv('true'))}`],
    config: {
      image: { tag: 'main' },
      resources: { requests: { cpu: '250m', memory: '256Mi' } },
      env: chartEnv('true'),
      lmstudio: { externalName: EXTERNAL_NAME },
    },
    adapted: [ENV_ADAPTED('true'), EXTERNAL_NAME_ADAPTED],
  },
  /** 스테이징 환경. */
  staging: {
    guide:
      'helm install llmplan-staging <chart> --namespace llmplan-staging --create-namespace --set image.tag=latest --set replicaCount=2 --set env.DEBUG=false',
    release: 'llmplan-staging',
    namespace: 'llmplan-staging',
    set: ['image.tag=latest', 'replicaCount=2', `lmstudio.externalName=${EXTERNAL_NAME}`],
    setJson: [`env=${JSON.stringify(chartEnv('false'))}`],
    config: {
      image: { tag: 'latest' },
      replicaCount: 2,
      env: chartEnv('false'),
      lmstudio: { externalName: EXTERNAL_NAME },
    },
    adapted: [ENV_ADAPTED('false'), EXTERNAL_NAME_ADAPTED],
  },
  /** 프로덕션 환경. */
  prod: {
    guide:
      'helm install llmplan-prod <chart> --namespace llmplan-prod --create-namespace --set image.tag=v0.1.0 --set replicaCount=3 --set autoscaling.enabled=true --set autoscaling.minReplicas=3 --set autoscaling.maxReplicas=20 --set resources.limits.memory=2Gi --set ingress.enabled=true --set ingress.hosts[0].host=llmplan.company.com',
    release: 'llmplan-prod',
    namespace: 'llmplan-prod',
    set: [
      'image.tag=v0.1.0',
      'replicaCount=3',
      'autoscaling.enabled=true',
      'autoscaling.minReplicas=3',
      'autoscaling.maxReplicas=20',
      'resources.limits.memory=2Gi',
      'ingress.enabled=true',
      'ingress.hosts[0].host=llmplan.company.com',
      'ingress.hosts[0].paths[0].path=/',
      'ingress.hosts[0].paths[0].pathType=Prefix',
      `lmstudio.externalName=${EXTERNAL_NAME}`,
    ],
    setJson: [],
    config: {
      image: { tag: 'v0.1.0' },
      replicaCount: 3,
      autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 },
      resources: { limits: { memory: '2Gi' } },
      ingress: {
        enabled: true,
        hosts: [{ host: 'llmplan.company.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
      },
      lmstudio: { externalName: EXTERNAL_NAME },
    },
    adapted: [
      '+ --set ingress.hosts[0].paths[0].path=/ --set ingress.hosts[0].paths[0].pathType=Prefix: a host without paths renders a rule the API server refuses',
      EXTERNAL_NAME_ADAPTED,
    ],
  },
};

/** A `helm upgrade … --reuse-values --set …` of release llmplan (namespace llmplan). */
export interface UpgradeLine {
  guide: string;
  set: string[];
  /** The user's values after it: the previous revision's with these over them. */
  config: Values;
  adapted: string[];
}

/** 업데이트: "설정만 변경" — revision 2 of release llmplan. */
export const UPGRADE_MEMORY: UpgradeLine = {
  guide:
    'helm upgrade llmplan <chart> --namespace llmplan --reuse-values --set resources.limits.memory=4Gi',
  set: ['resources.limits.memory=4Gi'],
  config: {
    image: { tag: 'v0.1.0' },
    resources: { limits: { memory: '4Gi', cpu: '1000m' } },
    lmstudio: { externalName: EXTERNAL_NAME },
  },
  adapted: [],
};

/** The other --reuse-values lines, with the `-n llmplan` they lack (values only). */
export const GUIDE_OTHER_UPGRADES: Record<'oom' | 'monthly', UpgradeLine> = {
  /** 메모리 부족 (OOMKilled) "해결 방법", after revision 1. */
  oom: {
    guide:
      'helm upgrade llmplan <chart> --reuse-values --set resources.limits.memory=2Gi --set resources.requests.memory=1Gi',
    set: ['resources.limits.memory=2Gi', 'resources.requests.memory=1Gi'],
    config: {
      image: { tag: 'v0.1.0' },
      resources: { limits: { memory: '2Gi', cpu: '1000m' }, requests: { memory: '1Gi' } },
      lmstudio: { externalName: EXTERNAL_NAME },
    },
    adapted: ['+ -n llmplan: printed without a namespace'],
  },
  /** 정기 업데이트 "보안 업데이트", after revision 1. */
  monthly: {
    guide: 'helm upgrade llmplan <chart> --reuse-values --set image.tag=latest',
    set: ['image.tag=latest'],
    config: {
      image: { tag: 'latest' },
      resources: { limits: { memory: '2Gi', cpu: '1000m' } },
      lmstudio: { externalName: EXTERNAL_NAME },
    },
    adapted: ['+ -n llmplan: printed without a namespace'],
  },
};

/**
 * Release llmplan's history as the guide leaves it: the user's values of each revision.
 * Revision 3 is `helm rollback llmplan 1 -n llmplan`: Helm copies revision 1's config.
 */
export const LLMPLAN_HISTORY: { revision: number; guide: string; config: Values }[] = [
  { revision: 1, guide: RUNBOOK.llmplan.guide, config: RUNBOOK.llmplan.config },
  { revision: 2, guide: UPGRADE_MEMORY.guide, config: UPGRADE_MEMORY.config },
  { revision: 3, guide: 'helm rollback llmplan 1 -n llmplan', config: RUNBOOK.llmplan.config },
];

/** `--set a=b` arguments for helm. */
export const setArgs = (set: readonly string[]): string[] => set.flatMap((s) => ['--set', s]);

/**
 * A line's helm value arguments, with a test's own settings after the line's: its --set-json
 * then the test's (a later --set-json of the same key wins), then its --set then the test's.
 * (Helm applies every --set-json before any --set.)
 */
export const lineArgs = (
  line: RunbookLine,
  extra: { set?: readonly string[]; setJson?: readonly string[] } = {},
): string[] => [
  ...[...line.setJson, ...(extra.setJson ?? [])].flatMap((s) => ['--set-json', s]),
  ...setArgs([...line.set, ...(extra.set ?? [])]),
];

/** The env list a line runs (its own, else the chart's), with LMSTUDIO_BASE_URL replaced. */
export function envWithBaseUrl(
  line: RunbookLine,
  baseUrl: string,
): { name: string; value: string }[] {
  const env =
    (line.config.env as { name: string; value: string }[] | undefined) ?? chartEnv('false');
  return env.map((e) => (e.name === 'LMSTUDIO_BASE_URL' ? { ...e, value: baseUrl } : e));
}
