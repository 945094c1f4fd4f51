/**
 * `llmplanctl recommend NAME`: the resource advice the operator derived from metrics-server
 * (status.recommendations), printed as a merge patch of spec.resources the user can apply
 * (`kubectl patch --type merge --patch-file`) or commit. Pure rendering; the operator never
 * applies it.
 */
import { stringify } from 'yaml';
import type { Recommendations } from '../api/status.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import { CtlError } from './errors.js';

export interface ResourcesPatch {
  spec: { resources: NonNullable<Recommendations['resources']> };
}

/** The patch, or a CtlError saying why there is none. */
export function recommendationPatch(cr: SummarizerService): ResourcesPatch {
  const advice = cr.status?.recommendations;
  const ref = `summarizerservice ${cr.metadata.name} (namespace ${cr.metadata.namespace ?? ''})`;
  if (!advice) {
    throw new CtlError(
      `${ref} has no resource advice yet: the operator reads metrics-server every minute and advises after three samples`,
    );
  }
  if (!advice.resources) throw new CtlError(`${ref} has no resource advice: ${advice.message}`);
  return { spec: { resources: advice.resources } };
}

export function formatRecommendation(cr: SummarizerService, patch: ResourcesPatch): string {
  const advice = cr.status?.recommendations;
  const now = cr.spec.resources;
  const name = cr.metadata.name;
  const namespace = cr.metadata.namespace ?? '';
  const comments = [
    `SummarizerService ${namespace}/${name}: ${advice?.message ?? ''}`,
    `Now: requests cpu ${now.requests.cpu} memory ${now.requests.memory}, limits cpu ${now.limits.cpu} memory ${now.limits.memory}.`,
    "The runbook's rules: CPU requests ≈ 80 % of the CPU used, limits 2×; memory requests = need + 10 %, limits 1.5× (2× after OOMKilled).",
    'Apply it, or put it in the spec you keep in Git (the operator never applies it by itself):',
    `  llmplanctl recommend ${name} -n ${namespace} > patch.yaml && kubectl patch sumsvc ${name} -n ${namespace} --type merge --patch-file patch.yaml`,
  ];
  return `${comments.map((c) => `# ${c}`).join('\n')}\n${stringify(patch)}`;
}
