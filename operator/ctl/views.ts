/**
 * What `status` and `history` show, as plain data (also their `-o json|yaml` output):
 * built by pure functions from the SummarizerService and its revisions, rendered by
 * format.ts.
 *
 * "Served" is the revision whose pod template the Deployment runs: the Deployment's
 * `llmplan.io/revision` annotation when it could be read, else the rollback in effect
 * (status.remediation.rollback.toRevision), else the current revision.
 */
import type { Condition, HistoryEntry } from '../api/status.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import type { Revision, RevisionHealth } from '../remediation/revisions.js';

export type RevisionMark = 'current' | 'last-healthy' | 'failed' | 'served';

/** A revision by hash, with its number when the ControllerRevision exists. */
export interface RevisionRef {
  hash: string;
  number?: number;
  image?: string;
}

export interface RevisionRow {
  number: number;
  hash: string;
  name: string;
  createdAt?: string;
  image?: string;
  health: RevisionHealth;
  healthReason?: string;
  healthTime?: string;
  marks: RevisionMark[];
}

export interface RemediationView {
  rollback?: { to: RevisionRef; from: RevisionRef; since: string };
  memoryBump?: { memoryLimit: string; specMemoryLimit: string; since: string };
  scaleUp?: { replicas: number; since: string; healthySince?: string };
}

export interface StatusView {
  name: string;
  namespace: string;
  generation?: number;
  observedGeneration?: number;
  paused: boolean;
  /** status.state: the word kubectl get shows as STATUS (RolledBack, Ready…). */
  state?: string;
  /** `served`: the image of the served revision; `servedTag`: status.servedImageTag. */
  image: { repository?: string; tag?: string; served?: string; servedTag?: string };
  replicas: {
    desired?: number;
    autoscaling?: { minReplicas: number; maxReplicas: number };
    current?: number;
    ready?: number;
  };
  endpoint?: string;
  /** False when the ControllerRevisions could not be listed (e.g. forbidden). */
  revisionsListed: boolean;
  revisions: {
    current?: RevisionRef;
    lastHealthy?: RevisionRef;
    failed?: RevisionRef;
    served?: RevisionRef;
  };
  remediation: RemediationView;
  conditions: Condition[];
}

export interface HistoryView {
  name: string;
  namespace: string;
  revisions: RevisionRow[];
  actions: HistoryEntry[];
}

/** The hash of the revision served, by the rule in this module's comment. */
export function servedHash(cr: SummarizerService, fromDeployment?: string): string | undefined {
  return (
    fromDeployment ?? cr.status?.remediation?.rollback?.toRevision ?? cr.status?.currentRevision
  );
}

export function revisionRef(
  hash: string | undefined,
  revisions: readonly Revision[],
): RevisionRef | undefined {
  if (!hash) return undefined;
  const revision = revisions.find((r) => r.hash === hash);
  return revision ? { hash, number: revision.number, image: revision.image } : { hash };
}

/** `revisions` undefined: they could not be listed (numbers and images unknown, not pruned). */
export function buildStatusView(
  cr: SummarizerService,
  listed: readonly Revision[] | undefined,
  servedFromDeployment?: string,
): StatusView {
  const revisions = listed ?? [];
  const status = cr.status ?? {};
  const spec = cr.spec;
  const current = revisionRef(status.currentRevision, revisions);
  const served = revisionRef(servedHash(cr, servedFromDeployment), revisions);
  // An unset tag means the operator's default; the current revision's image says which.
  const tag = spec.image?.tag ?? tagOf(current?.image);
  const remediation: RemediationView = {};
  const state = status.remediation;
  if (state?.rollback) {
    remediation.rollback = {
      to: revisionRef(state.rollback.toRevision, revisions)!,
      from: revisionRef(state.rollback.fromRevision, revisions)!,
      since: state.rollback.since,
    };
  }
  if (state?.memoryBump) remediation.memoryBump = { ...state.memoryBump };
  if (state?.scaleUp) remediation.scaleUp = { ...state.scaleUp };
  return {
    name: cr.metadata.name,
    namespace: cr.metadata.namespace ?? '',
    ...(cr.metadata.generation !== undefined ? { generation: cr.metadata.generation } : {}),
    ...(status.observedGeneration !== undefined
      ? { observedGeneration: status.observedGeneration }
      : {}),
    paused: spec.paused === true,
    ...optional('state', status.state),
    image: {
      ...(spec.image?.repository ? { repository: spec.image.repository } : {}),
      ...optional('tag', tag),
      ...(served?.image ? { served: served.image } : {}),
      ...optional('servedTag', status.servedImageTag ?? tagOf(served?.image)),
    },
    replicas: {
      ...(spec.autoscaling?.enabled
        ? {
            autoscaling: {
              minReplicas: spec.autoscaling.minReplicas,
              maxReplicas: spec.autoscaling.maxReplicas,
            },
          }
        : { desired: spec.replicas }),
      ...(status.replicas !== undefined ? { current: status.replicas } : {}),
      ...(status.readyReplicas !== undefined ? { ready: status.readyReplicas } : {}),
    },
    ...(status.endpoint ? { endpoint: status.endpoint } : {}),
    revisionsListed: listed !== undefined,
    revisions: {
      ...(current ? { current } : {}),
      ...optional('lastHealthy', revisionRef(status.lastHealthyRevision, revisions)),
      ...optional('failed', revisionRef(status.failedRevision, revisions)),
      ...(served ? { served } : {}),
    },
    remediation,
    conditions: status.conditions ?? [],
  };
}

export function buildHistoryView(
  cr: SummarizerService,
  revisions: readonly Revision[],
  servedFromDeployment?: string,
): HistoryView {
  const status = cr.status ?? {};
  const served = servedHash(cr, servedFromDeployment);
  const rows = [...revisions]
    .sort((a, b) => a.number - b.number)
    .map((r): RevisionRow => {
      const marks: RevisionMark[] = [];
      if (r.hash === status.currentRevision) marks.push('current');
      if (r.hash === status.lastHealthyRevision) marks.push('last-healthy');
      if (r.hash === status.failedRevision) marks.push('failed');
      if (r.hash === served) marks.push('served');
      return {
        number: r.number,
        hash: r.hash,
        name: r.name,
        ...(r.createdAt ? { createdAt: r.createdAt } : {}),
        ...(r.image ? { image: r.image } : {}),
        health: r.health,
        ...(r.healthReason ? { healthReason: r.healthReason } : {}),
        ...(r.healthTime ? { healthTime: r.healthTime } : {}),
        marks,
      };
    });
  const actions = [...(status.history ?? [])].sort(
    (a, b) => Date.parse(a.time) - Date.parse(b.time),
  );
  return {
    name: cr.metadata.name,
    namespace: cr.metadata.namespace ?? '',
    revisions: rows,
    actions,
  };
}

/** The tag of an image reference (`repo:tag`, `repo:tag@sha256:…`); undefined for a digest alone. */
export function tagOf(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? withoutDigest.slice(colon + 1) : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
