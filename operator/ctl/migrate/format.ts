/**
 * `llmplanctl migrate helm`, what it prints (pure): the release, the SummarizerService, every
 * value and what became of it, the objects, and the steps — which `--dry-run` lists without
 * taking them.
 */
import { stringify } from 'yaml';
import { ANNOTATIONS } from '../../api/labels.js';
import type { Finding } from './helm-values.js';
import { describeRef, type Plan } from './plan.js';
import { MIGRATED_TO_LABEL } from './read.js';
import { DRAIN_LABEL, DRAIN_SECONDS, PAUSE_MANAGER } from './steps.js';

/** What the cluster holds now that the steps depend on. */
export interface Observed {
  /** The release's ReplicaSets (its pod template). */
  replicaSets: string[];
  /** The release's pods. */
  pods: string[];
}

const LABEL: Record<Finding['kind'], string> = {
  mapped: 'mapped',
  covered: 'covered',
  'not-mapped': 'no effect',
  unmappable: 'CANNOT MAP',
};

export function formatFindings(findings: readonly Finding[]): string {
  const order: Finding['kind'][] = ['unmappable', 'mapped', 'covered', 'not-mapped'];
  const sorted = [...findings].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return sorted
    .map((f) => {
      const target = f.to ? ` → ${f.to}` : '';
      const why = f.why ? ` (${f.why})` : '';
      return `  ${LABEL[f.kind].padEnd(11)} ${f.value} = ${f.shown}${target}${why}`;
    })
    .join('\n');
}

const list = (items: readonly string[]) => (items.length > 0 ? items.join(', ') : 'none');

export function formatSteps(plan: Plan, observed: Observed): string[] {
  const adopt = plan.adopt.map(describeRef);
  const steps: string[] = [];
  if (plan.apiKeySecret) {
    steps.push(
      `create Secret ${plan.apiKeySecret.name} holding the release's LM Studio API key (key ${plan.apiKeySecret.key}; the value is not printed)`,
    );
  }
  steps.push(
    `pause Deployment ${plan.name} (spec.paused, field manager ${PAUSE_MANAGER}): adopting it starts no rollout`,
    `mark for adoption (annotation ${ANNOTATIONS.adopt}=${plan.name}): ${list(adopt)}`,
    `create SummarizerService ${plan.name}; the operator adopts the marked objects in place (controller owner reference, server-side apply with force, Helm's labels and annotations and the mark dropped; uids, the Service's ClusterIP and endpoints kept) and creates ${list(plan.create.map(describeRef))}`,
    `remove ReplicaSet ${list(observed.replicaSets)} with orphan propagation: its pods (${list(observed.pods)}) keep serving`,
    `resume Deployment ${plan.name}: the operator's pod template (probes on /livez and /readyz instead of /api/v1/summary/health, preStop drain) starts at full count beside them; wait until available`,
    `one pod at a time, ${list(observed.pods)}: out of the Service (selector labels removed, ${DRAIN_LABEL}=${plan.name}), out of its EndpointSlices, ${DRAIN_SECONDS} s for kube-proxy, then deleted`,
  );
  if (plan.keep.length > 0) {
    steps.push(
      `leave ${list(plan.keep.map(describeRef))} as they are, without Helm's labels and annotations (no child of a SummarizerService corresponds)`,
    );
  }
  steps.push(
    `retire Helm release ${plan.release.name}: its Secret(s) ${list(plan.secrets)} lose owner=helm and get ${MIGRATED_TO_LABEL}=${plan.name} (helm list and helm upgrade no longer see the release; nothing is deleted)`,
  );
  return steps;
}

export function formatPlan(plan: Plan, observed: Observed, dryRun: boolean): string {
  const { release } = plan;
  const chart = release.chart.metadata;
  const header = `Helm release ${release.name} (namespace ${plan.namespace}): chart ${chart.name}-${chart.version}, revision ${release.version}, ${release.info.status}${release.info.last_deployed ? ` ${release.info.last_deployed}` : ''}`;
  const parts = [header, ''];
  if (dryRun) {
    parts.push('SummarizerService:', `---\n${stringify(plan.resource)}`.trimEnd(), '');
  }
  parts.push(`Values (chart ${chart.name} ${chart.version} → SummarizerService ${plan.name}):`);
  parts.push(formatFindings(plan.findings), '');
  if (plan.problems.length > 0) {
    parts.push('Cannot migrate:', ...plan.problems.map((p) => `  - ${p}`), '');
    return `${parts.join('\n')}\n`;
  }
  parts.push(dryRun ? 'Steps (dry run: nothing was changed):' : 'Steps:');
  parts.push(...formatSteps(plan, observed).map((s, i) => `  ${i + 1}. ${s}`));
  return `${parts.join('\n')}\n`;
}
