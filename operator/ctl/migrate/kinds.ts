/**
 * The kinds a release of chart llmplan is made of that `llmplanctl migrate helm` moves, and
 * a SummarizerService's children: the API resource of each (pure).
 */
import { builtin, type ResourceDescriptor } from '../../runtime/resource.js';

/** An object's apiVersion and kind. */
export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** The kinds chart llmplan's manifests and a SummarizerService's children are made of. */
const KINDS: readonly ResourceDescriptor[] = [
  builtin.serviceAccounts,
  builtin.configMaps,
  builtin.services,
  builtin.deployments,
  builtin.horizontalPodAutoscalers,
  builtin.ingresses,
  builtin.podDisruptionBudgets,
];

export function resourceFor(ref: KindRef): ResourceDescriptor | undefined {
  const [group, version] = ref.apiVersion.includes('/')
    ? ref.apiVersion.split('/', 2)
    : ['', ref.apiVersion];
  return KINDS.find((k) => k.kind === ref.kind && k.group === group && k.version === version);
}
