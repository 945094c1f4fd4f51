/**
 * Observed state → SummarizerService status, pure. The reconciler passes what it saw
 * (the Deployment after apply, the LM Studio probe, ownership conflicts, an apply error);
 * remediation (issue 5) plugs in through `remediation` (its status fields) and
 * `conditionOverrides` (e.g. Degraded/RolledBack), applied last.
 */
import type { V1Deployment, V1DeploymentCondition } from '@kubernetes/client-node';
import {
  ConditionType,
  type ConditionUpdate,
  getCondition,
  Reason,
  setCondition,
} from '../api/conditions.js';
import { CONTAINER_NAME, childNames, labelSelectorString, selectorLabels } from '../api/labels.js';
import type {
  Condition,
  LoadStatus,
  Recommendations,
  SummarizerServiceStatus,
} from '../api/status.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import { namespaceOf, type OwnershipConflict } from '../desired/children.js';
import { canonicalJson } from '../desired/hash.js';
import { splitImage } from '../desired/pod-template.js';

/** The operator's own probe of LM Studio (GET /v1/models). */
export type BackendProbe =
  | { state: 'reachable'; detail?: string }
  | { state: 'unreachable'; reason: string }
  /** Not probed (yet), or not probeable from where the operator runs: `reason` says which. */
  | { state: 'unknown'; reason?: string };

/** Status fields owned by remediation; computeStatus only carries them over. */
export type RemediationStatusFields = Pick<
  SummarizerServiceStatus,
  'currentRevision' | 'lastHealthyRevision' | 'failedRevision' | 'remediation' | 'history'
>;

export interface StatusObservation {
  cr: SummarizerService;
  /** The Deployment as read after apply; undefined when missing or not ours. */
  deployment?: V1Deployment;
  backend: BackendProbe;
  conflicts: readonly OwnershipConflict[];
  /** Why the last apply failed, if it did (e.g. the API server refused the affinity). */
  reconcileError?: string;
  /** Default: the fields of cr.status, unchanged. */
  remediation?: RemediationStatusFields;
  /** Applied after the computed conditions, so remediation has the last word. */
  conditionOverrides?: readonly ConditionUpdate[];
  /** status.load to report; default: cr.status.load, unchanged (not scraped yet). */
  load?: LoadStatus;
  /** status.recommendations to report; default: cr.status.recommendations, unchanged. */
  recommendations?: Recommendations;
  now: Date;
}

/** Where a rollout stands, judged as `kubectl rollout status` does. */
export type RolloutState =
  | { phase: 'missing' }
  | { phase: 'progressing'; message: string }
  | { phase: 'complete'; message: string }
  | { phase: 'failed'; reason: string; message: string };

function deploymentCondition(d: V1Deployment, type: string): V1DeploymentCondition | undefined {
  return d.status?.conditions?.find((c) => c.type === type);
}

/** Replicas the Deployment wants (set by the HPA while autoscaling). */
export function desiredReplicasOf(d: V1Deployment): number {
  return d.spec?.replicas ?? 1;
}

export function rolloutState(d: V1Deployment | undefined): RolloutState {
  if (!d) return { phase: 'missing' };
  const status = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return {
      phase: 'progressing',
      message: 'waiting for the Deployment controller to observe the new spec',
    };
  }
  const progressing = deploymentCondition(d, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      phase: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: progressing.message ?? 'the rollout exceeded its progress deadline',
    };
  }
  const desired = desiredReplicasOf(d);
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired)
    return { phase: 'progressing', message: `${updated} of ${desired} new replicas updated` };
  if (replicas > updated) {
    return {
      phase: 'progressing',
      message: `${replicas - updated} old replicas pending termination`,
    };
  }
  if (available < updated)
    return {
      phase: 'progressing',
      message: `${available} of ${updated} updated replicas available`,
    };
  return { phase: 'complete', message: `${updated} of ${desired} replicas updated and available` };
}

/** `https://host/path` when the Ingress serves, else the in-cluster Service URL. */
export function endpointOf(
  cr: SummarizerService,
  conflicts: readonly OwnershipConflict[] = [],
): string {
  const { ingress, service } = cr.spec;
  const ingressBlocked = conflicts.some((c) => c.kind === 'Ingress');
  const first = ingress.hosts[0];
  if (ingress.enabled && first && !first.host.startsWith('*.') && !ingressBlocked) {
    const tls = (ingress.tls ?? []).some(
      (t) => !t.hosts || t.hosts.length === 0 || t.hosts.includes(first.host),
    );
    const path = first.paths[0]?.path ?? '/';
    return `${tls ? 'https' : 'http'}://${first.host}${path === '/' ? '' : path}`;
  }
  return `http://${childNames.service(cr.metadata.name)}.${namespaceOf(cr)}.svc:${service.port}`;
}

function describeConflicts(conflicts: readonly OwnershipConflict[]): string {
  const list = conflicts
    .map((c) => `${c.kind} ${c.name}${c.controller ? ` (controlled by ${c.controller})` : ''}`)
    .join(', ');
  const [exist, them] = conflicts.length === 1 ? ['exists', 'it'] : ['exist', 'them'];
  return `${list} already ${exist} and ${conflicts.length === 1 ? 'is' : 'are'} not controlled by this SummarizerService; the operator leaves ${them} alone. Delete or rename ${them} to let it take over.`;
}

function readyCondition(obs: StatusObservation, rollout: RolloutState): ConditionUpdate {
  const { deployment, backend, conflicts } = obs;
  const base = { type: ConditionType.Ready };
  if (conflicts.some((c) => c.kind === 'Deployment')) {
    return {
      ...base,
      status: 'False',
      reason: Reason.OwnershipConflict,
      message: describeConflicts(conflicts),
    };
  }
  if (!deployment || rollout.phase === 'missing') {
    const name = childNames.deployment(obs.cr.metadata.name);
    return {
      ...base,
      status: 'False',
      reason: Reason.DeploymentPending,
      message: `waiting for Deployment ${name}`,
    };
  }
  if (backend.state === 'unreachable') {
    return {
      ...base,
      status: 'False',
      reason: Reason.BackendUnreachable,
      message: `LM Studio is unreachable: ${backend.reason}`,
    };
  }
  const desired = desiredReplicasOf(deployment);
  const ready = deployment.status?.readyReplicas ?? 0;
  if (desired === 0)
    return {
      ...base,
      status: 'True',
      reason: Reason.ScaledToZero,
      message: 'scaled to 0 replicas',
    };
  const available = deploymentCondition(deployment, 'Available')?.status === 'True';
  if (available && ready > 0) {
    return {
      ...base,
      status: 'True',
      reason: Reason.Available,
      message: `${ready}/${desired} replicas ready`,
    };
  }
  return {
    ...base,
    status: 'False',
    reason: Reason.Unavailable,
    message: `${ready}/${desired} replicas ready`,
  };
}

function progressingCondition(obs: StatusObservation, rollout: RolloutState): ConditionUpdate {
  const base = { type: ConditionType.Progressing };
  if (obs.cr.spec.paused) {
    return {
      ...base,
      status: 'False',
      reason: Reason.Paused,
      message: 'spec.paused is true: the operator changes nothing',
    };
  }
  if (obs.conflicts.some((c) => c.kind === 'Deployment')) {
    return {
      ...base,
      status: 'False',
      reason: Reason.OwnershipConflict,
      message: describeConflicts(obs.conflicts),
    };
  }
  switch (rollout.phase) {
    case 'missing':
      return {
        ...base,
        status: 'True',
        reason: Reason.RolloutInProgress,
        message: 'creating the Deployment',
      };
    case 'progressing':
      return {
        ...base,
        status: 'True',
        reason: Reason.RolloutInProgress,
        message: rollout.message,
      };
    case 'failed':
      return {
        ...base,
        status: 'False',
        reason: Reason.ProgressDeadlineExceeded,
        message: rollout.message,
      };
    case 'complete':
      return { ...base, status: 'False', reason: Reason.RolloutComplete, message: rollout.message };
  }
}

function degradedCondition(obs: StatusObservation, rollout: RolloutState): ConditionUpdate {
  const base = { type: ConditionType.Degraded };
  if (obs.conflicts.length > 0) {
    return {
      ...base,
      status: 'True',
      reason: Reason.OwnershipConflict,
      message: describeConflicts(obs.conflicts),
    };
  }
  if (obs.reconcileError) {
    return { ...base, status: 'True', reason: Reason.ReconcileFailed, message: obs.reconcileError };
  }
  if (rollout.phase === 'failed') {
    return {
      ...base,
      status: 'True',
      reason: Reason.ProgressDeadlineExceeded,
      message: rollout.message,
    };
  }
  const replicaFailure = obs.deployment && deploymentCondition(obs.deployment, 'ReplicaFailure');
  if (replicaFailure?.status === 'True') {
    return {
      ...base,
      status: 'True',
      reason: Reason.ReplicaFailure,
      message: replicaFailure.message ?? 'pods cannot be created',
    };
  }
  if (obs.backend.state === 'unreachable') {
    return {
      ...base,
      status: 'True',
      reason: Reason.BackendUnreachable,
      message: `LM Studio is unreachable: ${obs.backend.reason}`,
    };
  }
  return { ...base, status: 'False', reason: Reason.AsExpected, message: '' };
}

function backendCondition(backend: BackendProbe): ConditionUpdate {
  const base = { type: ConditionType.BackendReachable };
  switch (backend.state) {
    case 'reachable':
      return {
        ...base,
        status: 'True',
        reason: Reason.Reachable,
        message: backend.detail ?? 'LM Studio answered',
      };
    case 'unreachable':
      return {
        ...base,
        status: 'False',
        reason: Reason.BackendUnreachable,
        message: backend.reason,
      };
    case 'unknown':
      return {
        ...base,
        status: 'Unknown',
        reason: Reason.NotProbed,
        message: backend.reason ?? 'LM Studio has not been probed yet',
      };
  }
}

/** LM Studio as the bottleneck, from status.load (the figures are in its message). */
export function backendSaturatedCondition(load: LoadStatus | undefined): ConditionUpdate {
  const base = { type: ConditionType.BackendSaturated };
  if (!load || load.state === 'Unknown') {
    return {
      ...base,
      status: 'Unknown',
      reason: Reason.NoLoadMetrics,
      message: load?.message ?? 'load not read yet',
    };
  }
  if (load.state === 'BackendSaturated') {
    return {
      ...base,
      status: 'True',
      reason: /refuses or times out/.test(load.message)
        ? Reason.BackendRefusing
        : Reason.LatencyAboveBaseline,
      message: load.message,
    };
  }
  return {
    ...base,
    status: 'False',
    reason: Reason.BackendKeepsUp,
    message: 'LM Studio keeps its usual latency',
  };
}

function remediationFieldsOf(status: SummarizerServiceStatus | undefined): RemediationStatusFields {
  const { currentRevision, lastHealthyRevision, failedRevision, remediation, history } =
    status ?? {};
  return Object.fromEntries(
    Object.entries({
      currentRevision,
      lastHealthyRevision,
      failedRevision,
      remediation,
      history,
    }).filter(([, v]) => v !== undefined),
  ) as RemediationStatusFields;
}

/**
 * status.state, one word for `kubectl get`: what needs attention first (Degraded's reason:
 * the remediation in effect, or what is wrong), else what the resource is doing.
 */
export function stateOf(conditions: readonly Condition[], paused: boolean): string {
  const degraded = getCondition(conditions, ConditionType.Degraded);
  if (degraded?.status === 'True') return degraded.reason;
  if (paused) return Reason.Paused;
  if (getCondition(conditions, ConditionType.Progressing)?.status === 'True') {
    return ConditionType.Progressing;
  }
  const ready = getCondition(conditions, ConditionType.Ready);
  if (!ready) return ConditionType.Progressing;
  return ready.status === 'True' ? ConditionType.Ready : ready.reason;
}

/** status.servedImageTag: the tag (else digest) of the summarizer image the Deployment serves. */
export function servedImageTag(d: V1Deployment | undefined): string | undefined {
  const image = d?.spec?.template?.spec?.containers?.find((c) => c.name === CONTAINER_NAME)?.image;
  if (!image) return undefined;
  const { tag, digest } = splitImage(image);
  return tag ?? digest ?? 'latest';
}

export function computeStatus(obs: StatusObservation): SummarizerServiceStatus {
  const { cr, deployment, now } = obs;
  const generation = cr.metadata.generation;
  const rollout = rolloutState(deployment);
  let conditions: Condition[] = [...(cr.status?.conditions ?? [])];
  const updates = [
    readyCondition(obs, rollout),
    progressingCondition(obs, rollout),
    degradedCondition(obs, rollout),
    backendCondition(obs.backend),
    backendSaturatedCondition(obs.load ?? cr.status?.load),
    ...(obs.conditionOverrides ?? []),
  ];
  for (const update of updates) conditions = setCondition(conditions, update, now, generation);
  const served = servedImageTag(deployment);
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    replicas: deployment?.status?.replicas ?? 0,
    readyReplicas: deployment?.status?.readyReplicas ?? 0,
    selector: labelSelectorString(selectorLabels(cr.metadata.name)),
    endpoint: endpointOf(cr, obs.conflicts),
    state: stateOf(conditions, cr.spec.paused === true),
    ...(served ? { servedImageTag: served } : {}),
    ...((obs.load ?? cr.status?.load) ? { load: obs.load ?? cr.status?.load } : {}),
    ...((obs.recommendations ?? cr.status?.recommendations)
      ? { recommendations: obs.recommendations ?? cr.status?.recommendations }
      : {}),
    ...(obs.remediation ?? remediationFieldsOf(cr.status)),
  };
}

/** Comparable form: conditions sorted by type, keys sorted, undefined dropped. */
function comparable(status: SummarizerServiceStatus | undefined): string {
  if (!status) return '';
  const conditions = status.conditions
    ? [...status.conditions].sort((a, b) => a.type.localeCompare(b.type))
    : undefined;
  return canonicalJson({ ...status, conditions });
}

/** False when writing `next` would change nothing but the order of conditions. */
export function statusNeedsUpdate(
  current: SummarizerServiceStatus | undefined,
  next: SummarizerServiceStatus,
): boolean {
  return comparable(current) !== comparable(next);
}
