/**
 * `llmplanctl migrate helm`, the decisions (pure): from a Helm release of chart llmplan and
 * the live objects of its namespace, the SummarizerService that reproduces it, which of the
 * release's objects it adopts and which stay, what the operator will create, and every
 * reason the migration cannot go ahead. The steps that carry it out are migrate.ts's.
 */
import { ANNOTATIONS, childNames, HTTP_PORT_NAME, selectorLabels } from '../../api/labels.js';
import {
  API_VERSION,
  KIND,
  type SummarizerService,
  safeParseSummarizerService,
} from '../../api/summarizerservice.js';
import { childKey } from '../../desired/children.js';
import { desiredState } from '../../desired/state.js';
import { controllerOf, type KubeObject } from '../../runtime/index.js';
import { gitManifest, type Manifest } from '../manifest.js';
import {
  effectiveValues,
  HELM_RELEASE_NAME_ANNOTATION,
  type HelmRelease,
  type ManifestObject,
  manifestObjects,
  type Values,
} from './helm-release.js';
import {
  API_KEY_SECRET_KEY,
  apiKeySecretName,
  CHART_NAME,
  CHART_VERSIONS,
  chartFullname,
  type Finding,
  mapValues,
} from './helm-values.js';
import { resourceFor } from './kinds.js';

/** On the SummarizerService: the Helm release it was migrated from (and resumes from). */
export const MIGRATED_FROM_ANNOTATION = 'llmplan.io/helm-release';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
}

export const refOf = (o: { apiVersion?: string; kind?: string; metadata: { name?: string } }) => ({
  apiVersion: o.apiVersion ?? '',
  kind: o.kind ?? '',
  name: o.metadata.name ?? '',
});
export const describeRef = (r: ObjectRef) => `${r.kind} ${r.name}`;
const keyOf = (r: ObjectRef) =>
  childKey({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name } });

export interface PlanInput {
  release: HelmRelease;
  /** Names of the release's Secrets (every revision). */
  secrets: readonly string[];
  /** Name of the SummarizerService (default: the release's object names). */
  name: string;
  namespace: string;
  /** Live objects by childKey (`group/Kind/name`): the release's and every name a child would take. */
  live: ReadonlyMap<string, KubeObject>;
  /** uid of the SummarizerService of an interrupted migration of this release, if any. */
  resuming?: string;
}

export interface Plan {
  release: HelmRelease;
  secrets: readonly string[];
  name: string;
  namespace: string;
  /** The SummarizerService to create, as it belongs in Git. */
  resource: Manifest;
  findings: Finding[];
  /** The Secret for config.lmstudio.apiKey, when the release has one. */
  apiKeySecret?: { name: string; key: string; value: string };
  /** Release objects the SummarizerService takes over. */
  adopt: ObjectRef[];
  /** Release objects no child corresponds to: they stay, detached from Helm. */
  keep: ObjectRef[];
  /** Children the operator will create (no object of that name exists). */
  create: ObjectRef[];
  /** Why the migration cannot go ahead; empty when it can. */
  problems: string[];
}

/**
 * The release's object names, the chart's fullname: fullnameOverride, else `<release>` if it
 * contains the chart's name (nameOverride or "llmplan"), else `<release>-<name>`.
 */
export function releaseObjectName(release: string, values: Values = {}): string {
  return chartFullname(release, values);
}

/** Reasons the release is not one this command migrates (another chart, a version it does not know, not deployed). */
export function releaseProblems(release: HelmRelease): string[] {
  const chart = release.chart.metadata;
  if (chart.name !== CHART_NAME) {
    return [
      `release ${release.name} is of chart ${chart.name} ${chart.version}, not ${CHART_NAME}: llmplanctl migrate helm moves releases of the ${CHART_NAME} chart only`,
    ];
  }
  const problems: string[] = [];
  if (!CHART_VERSIONS.includes(chart.version)) {
    problems.push(
      `release ${release.name} is of chart ${CHART_NAME} ${chart.version}; this llmplanctl knows how to map ${CHART_VERSIONS.join(', ')}`,
    );
  }
  if (release.info.status !== 'deployed') {
    problems.push(
      `release ${release.name} revision ${release.version} is ${release.info.status}, not deployed: finish or roll back the Helm operation first (helm history ${release.name} -n ${release.namespace})`,
    );
  }
  return problems;
}

/** Zod's "spec.x.y: message" issues, each named by the value it came from. */
function schemaProblems(issues: readonly string[], sources: Record<string, string>): string[] {
  return issues.map((issue) => {
    const [path = '', ...rest] = issue.split(': ');
    const source = Object.keys(sources)
      .filter((s) => path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`))
      .sort((a, b) => b.length - a.length)[0];
    const value = source ? sources[source] : undefined;
    return value
      ? `value ${value}: ${path}: ${rest.join(': ')}`
      : `the SummarizerService the values map to is invalid: ${issue}`;
  });
}

function deploymentProblems(name: string, deployment: KubeObject | undefined): string[] {
  if (!deployment) return [];
  const spec = (deployment as { spec?: Record<string, unknown> }).spec as
    | {
        selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
        template?: { spec?: { containers?: { ports?: { name?: string }[] }[] } };
      }
    | undefined;
  const problems: string[] = [];
  const want = selectorLabels(name);
  const have = spec?.selector?.matchLabels ?? {};
  const same =
    Object.keys(have).length === Object.keys(want).length &&
    Object.entries(want).every(([k, v]) => have[k] === v) &&
    !spec?.selector?.matchExpressions?.length;
  if (!same) {
    problems.push(
      `Deployment ${deployment.metadata.name} selects its pods with ${JSON.stringify(have)}, and a Deployment's selector cannot change; a SummarizerService named ${name} selects ${JSON.stringify(want)}. ` +
        'No SummarizerService can adopt it in place: the chart names its objects <release>-llmplan when the release name lacks "llmplan" (or after nameOverride / fullnameOverride), but selects pods by the release name (and app.kubernetes.io/name by nameOverride). Reinstall the release under a name containing "llmplan" without those overrides, or run a SummarizerService beside it and move the clients.',
    );
  }
  const named = spec?.template?.spec?.containers?.some((c) =>
    c.ports?.some((p) => p.name === HTTP_PORT_NAME),
  );
  if (!named) {
    problems.push(
      `Deployment ${deployment.metadata.name}'s pods have no port named ${HTTP_PORT_NAME}: the SummarizerService's Service targets that name, so the release's pods would drop out of it during the migration`,
    );
  }
  return problems;
}

function objectProblems(
  release: HelmRelease,
  object: ManifestObject,
  live: KubeObject | undefined,
  name: string,
  resuming: string | undefined,
): string[] {
  const what = `${object.kind} ${object.metadata.name}`;
  if (!resourceFor(object)) {
    return [
      `${what} (${object.apiVersion}) of release ${release.name} is not a kind llmplanctl migrate helm moves`,
    ];
  }
  if (!live) return [`${what} of release ${release.name} does not exist (deleted by hand?)`];
  const controller = controllerOf(live);
  // Adopted already by the migration being resumed.
  if (resuming && controller?.uid === resuming) return [];
  if (controller) {
    return [`${what} is controlled by ${controller.kind} ${controller.name}, not by Helm alone`];
  }
  const owner = live.metadata.annotations?.[HELM_RELEASE_NAME_ANNOTATION];
  if (owner !== release.name) {
    return [
      `${what} does not belong to release ${release.name} (${HELM_RELEASE_NAME_ANNOTATION}: ${owner ?? 'none'})`,
    ];
  }
  const marker = live.metadata.annotations?.[ANNOTATIONS.adopt];
  if (marker !== undefined && marker !== name) {
    return [`${what} is already marked for adoption by SummarizerService ${marker}`];
  }
  return [];
}

export function planMigration(input: PlanInput): Plan {
  const { release, name, namespace, live } = input;
  const problems = releaseProblems(release);
  const mapping = mapValues(effectiveValues(release), {
    name,
    release: release.name,
    ...(release.chart.metadata.appVersion ? { appVersion: release.chart.metadata.appVersion } : {}),
  });
  for (const f of mapping.findings) {
    if (f.kind === 'unmappable')
      problems.push(`value ${f.value} (${f.shown}) cannot be mapped: ${f.why}`);
  }
  const candidate = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace,
      uid: 'planned',
      annotations: { [MIGRATED_FROM_ANNOTATION]: release.name },
    },
    spec: mapping.spec,
  };
  const parsed = safeParseSummarizerService(candidate);
  if (!parsed.success) problems.push(...schemaProblems(parsed.error.issues, mapping.sources));

  const objects = manifestObjects(release.manifest);
  const desired = parsed.success ? desiredObjects(parsed.data) : [];
  const released = new Set(objects.map((o) => keyOf(refOf(o))));
  const wanted = new Set(desired.map((d) => keyOf(d)));
  const adopt: ObjectRef[] = [];
  const keep: ObjectRef[] = [];
  for (const object of objects) {
    const ref = refOf(object);
    problems.push(...objectProblems(release, object, live.get(keyOf(ref)), name, input.resuming));
    (wanted.has(keyOf(ref)) ? adopt : keep).push(ref);
  }
  const create: ObjectRef[] = [];
  for (const child of desired) {
    if (released.has(keyOf(child))) continue;
    const existing = live.get(keyOf(child));
    if (existing && !(input.resuming && controllerOf(existing)?.uid === input.resuming)) {
      problems.push(
        `${describeRef(child)} exists and is not part of release ${release.name}: the SummarizerService needs that name`,
      );
    } else if (!existing) {
      create.push(child);
    }
  }
  problems.push(
    ...deploymentProblems(
      name,
      live.get(
        keyOf({ apiVersion: 'apps/v1', kind: 'Deployment', name: childNames.deployment(name) }),
      ),
    ),
  );
  if (parsed.success && !adopt.some((r) => r.kind === 'Deployment')) {
    problems.push(
      `release ${release.name} has no Deployment named ${childNames.deployment(name)} to adopt`,
    );
  }

  return {
    release,
    secrets: input.secrets,
    name,
    namespace,
    resource: gitManifest({ metadata: candidate.metadata, spec: mapping.spec }),
    findings: mapping.findings,
    ...(mapping.apiKey
      ? {
          apiKeySecret: {
            name: apiKeySecretName(name),
            key: API_KEY_SECRET_KEY,
            value: mapping.apiKey,
          },
        }
      : {}),
    adopt,
    keep,
    create,
    problems,
  };
}

/** The children the operator will want for this resource, as refs. */
function desiredObjects(cr: SummarizerService): ObjectRef[] {
  return desiredState(cr, { defaultImage: 'planned:planned' }).objects.map((o) => refOf(o));
}
