/**
 * Condition types, reasons and pure helpers for `status.conditions` (metav1.Condition).
 * `lastTransitionTime` changes only when a condition's status changes, as the Kubernetes
 * API conventions require; a reason or message change alone keeps the time.
 */
import type { Condition, ConditionStatus } from './status.js';

export const ConditionType = {
  /** The service can serve: the Deployment is available and the backend is not known to be down. */
  Ready: 'Ready',
  /** A rollout of the Deployment is under way. */
  Progressing: 'Progressing',
  /** Something needs attention: failed rollout, rollback, ownership conflict, backend down. */
  Degraded: 'Degraded',
  /** The operator's own probe of LM Studio (GET /v1/models). */
  BackendReachable: 'BackendReachable',
  /** LM Studio is the bottleneck (its latency grows with load): more pods would not help. */
  BackendSaturated: 'BackendSaturated',
} as const;
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** CamelCase reasons, grouped by the condition that uses them. */
export const Reason = {
  // Ready
  Available: 'Available',
  ScaledToZero: 'ScaledToZero',
  Unavailable: 'Unavailable',
  DeploymentPending: 'DeploymentPending',
  // Progressing
  RolloutInProgress: 'RolloutInProgress',
  RolloutComplete: 'RolloutComplete',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  Paused: 'Paused',
  // Degraded
  AsExpected: 'AsExpected',
  OwnershipConflict: 'OwnershipConflict',
  ReconcileFailed: 'ReconcileFailed',
  ReplicaFailure: 'ReplicaFailure',
  RolledBack: 'RolledBack',
  /** A rollout failed and no remediation could act (nothing healthy to roll back to, off, bounded). */
  RolloutFailed: 'RolloutFailed',
  MemoryBumped: 'MemoryBumped',
  ScaledUp: 'ScaledUp',
  // BackendReachable (and Ready/Degraded when the backend is down)
  Reachable: 'Reachable',
  BackendUnreachable: 'BackendUnreachable',
  NotProbed: 'NotProbed',
  // BackendSaturated
  /** LM Studio's call latency is a multiple of its light-load baseline while load is high. */
  LatencyAboveBaseline: 'LatencyAboveBaseline',
  /** LM Studio refuses (429) or times out calls. */
  BackendRefusing: 'BackendRefusing',
  BackendKeepsUp: 'BackendKeepsUp',
  /** No pod's load metrics could be read: nothing to judge. */
  NoLoadMetrics: 'NoLoadMetrics',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

/** What a caller states about a condition; the helper fills time and generation. */
export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/**
 * A new list with `update` applied (appended if the type is new). `now` is the
 * transition time used only when the status changes or the condition is new.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date | string,
  observedGeneration?: number,
): Condition[] {
  const list = conditions ?? [];
  const previous = getCondition(list, update.type);
  const lastTransitionTime =
    previous && previous.status === update.status ? previous.lastTransitionTime : toRfc3339(now);
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    lastTransitionTime,
    reason: update.reason,
    message: truncate(update.message, 32768),
  };
  return previous ? list.map((c) => (c.type === update.type ? next : c)) : [...list, next];
}

export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** RFC 3339 with second precision, the form metav1.Time serializes to. */
export function toRfc3339(time: Date | string): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  return `${date.toISOString().slice(0, 19)}Z`;
}

function truncate(message: string, max: number): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`;
}
