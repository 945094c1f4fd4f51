/**
 * What the migrate tests add to a guide line (runbook.ts) when they install the users' chart
 * with a real helm: the environment's own settings, in one place, so that
 * test/helm/old-chart.tools.test.ts renders exactly these values sets with the real
 * `helm template`, for the fixture and for the users' original chart.
 */
import { envWithBaseUrl, type RunbookLine } from './runbook.js';

export interface Extra {
  set: string[];
  setJson: string[];
}

/**
 * The local control plane (kwok: no real pods): LM Studio is the fake on the host's
 * loopback, reached through the chart's ExternalName Service; the pods' URL
 * (env LMSTUDIO_BASE_URL, the only one the chart's pods read) names the fake's port, and the
 * line's own env list (DEBUG included) is kept.
 */
export function kwokSettings(line: RunbookLine, fakePort: number): Extra {
  return {
    set: ['lmstudio.externalName=127.0.0.1', `lmstudio.service.port=${fakePort}`],
    setJson: [`env=${JSON.stringify(envWithBaseUrl(line, `http://lmstudio:${fakePort}/v1`))}`],
  };
}

/** Release llmplan-prod's second revision in migrate.cluster.test.ts (`--reuse-values`). */
export const KWOK_UPGRADE_SET = ['podAnnotations.team=nlp'];

/** The refusal case of migrate.cluster.test.ts: two values a SummarizerService cannot take. */
export const KWOK_REFUSED_SET = [
  'serviceAccount.annotations.iam\\.example/role=summarizer',
  'resources.limits.memory=null',
];

/**
 * The kind cluster (real pods): this checkout's summarizer image (never a moving tag), 5m of
 * CPU requested per pod (the one node has about 100m left), the shared inference server as
 * LM Studio through the chart's ExternalName Service (the pods call http://lmstudio:1234/v1,
 * the chart's env); for prod an HPA pinned at its minimum of 3.
 */
export function kindSettings(
  line: RunbookLine,
  image: { repository: string; tag: string },
  lmstudioExternalName: string,
): Extra {
  return {
    set: [
      `image.repository=${image.repository}`,
      `image.tag=${image.tag}`,
      'resources.requests.cpu=5m',
      `lmstudio.externalName=${lmstudioExternalName}`,
      ...(line.release === 'llmplan-prod' ? ['autoscaling.maxReplicas=3'] : []),
    ],
    setJson: [],
  };
}
