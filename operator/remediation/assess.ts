/**
 * Judging a rollout from Kubernetes' own signals — pure: recorded object states in, a
 * verdict out. The signals are the ones an SRE reads in `kubectl get pods` and
 * `kubectl rollout status`: the Deployment's Progressing condition
 * (ProgressDeadlineExceeded), the waiting reasons and last termination of the pods of the
 * Deployment's *current* ReplicaSet (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
 * CreateContainerConfigError, OOMKilled), restart counts and readiness, plus the
 * operator's own BackendReachable probe.
 *
 * Pods of older ReplicaSets are ignored: after a rollback or a memory bump the old pods
 * still show the failure for a while, and judging them would repeat the action.
 */
import type { V1ContainerStatus, V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { CONTAINER_NAME } from '../api/labels.js';
import type { BackendProbe } from '../status/compute.js';
import { rolloutState } from '../status/compute.js';

/** A failure the operator can name. */
export const FAILURE_REASONS = [
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'OOMKilled',
  'ProgressDeadlineExceeded',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Waiting reasons that mean the container cannot run as built or configured. */
const FATAL_WAITING = new Set<string>([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
]);

export type Verdict =
  | { kind: 'healthy'; message: string }
  | { kind: 'progressing'; message: string }
  | { kind: 'failed'; reason: FailureReason; message: string }
  /** LM Studio is down and the pods only fail to become ready: nothing to roll back. */
  | { kind: 'backendDown'; message: string };

export interface Observation {
  deployment: V1Deployment | undefined;
  /** ReplicaSets of this resource's Deployment (any revision). */
  replicaSets: readonly V1ReplicaSet[];
  /** Pods of this resource (any revision). */
  pods: readonly V1Pod[];
  backend: BackendProbe;
}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** The ReplicaSet the Deployment is rolling out (the one with its revision number). */
export function currentReplicaSet(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): V1ReplicaSet | undefined {
  const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
  if (!revision) return undefined;
  return replicaSets.find(
    (rs) =>
      rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision &&
      rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === deployment.metadata?.uid),
  );
}

/** Pods of the current ReplicaSet, by Kubernetes' pod-template-hash label. */
export function currentPods(rs: V1ReplicaSet, pods: readonly V1Pod[]): V1Pod[] {
  const hash = rs.metadata?.labels?.['pod-template-hash'];
  if (!hash) return [];
  return pods.filter(
    (p) => p.metadata?.labels?.['pod-template-hash'] === hash && !p.metadata?.deletionTimestamp,
  );
}

function summarizer(pod: V1Pod): V1ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.find((s) => s.name === CONTAINER_NAME) ?? statuses[0];
}

/** The strongest failure signal among the pods, OOMKilled first (it has its own remedy). */
export function podFailure(
  pods: readonly V1Pod[],
): { reason: FailureReason; message: string } | undefined {
  let found: { reason: FailureReason; message: string } | undefined;
  for (const pod of pods) {
    const status = summarizer(pod);
    if (!status) continue;
    const name = pod.metadata?.name ?? '?';
    const oom =
      status.lastState?.terminated?.reason === 'OOMKilled' ||
      status.state?.terminated?.reason === 'OOMKilled';
    if (oom) {
      return {
        reason: 'OOMKilled',
        message: `pod ${name}: container ${status.name} was OOMKilled (restarts: ${status.restartCount ?? 0})`,
      };
    }
    const waiting = status.state?.waiting?.reason;
    if (waiting && FATAL_WAITING.has(waiting) && !found) {
      found = {
        reason: waiting as FailureReason,
        message: `pod ${name}: ${waiting}${status.state?.waiting?.message ? `: ${status.state.waiting.message}` : ''} (restarts: ${status.restartCount ?? 0})`,
      };
    }
  }
  return found;
}

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export function assess(observation: Observation): Verdict {
  const { deployment, replicaSets, pods, backend } = observation;
  const rollout = rolloutState(deployment);
  if (!deployment || rollout.phase === 'missing') {
    return { kind: 'progressing', message: 'the Deployment does not exist yet' };
  }
  if ((deployment.metadata?.generation ?? 0) > (deployment.status?.observedGeneration ?? 0)) {
    return {
      kind: 'progressing',
      message:
        rollout.phase === 'progressing' ? rollout.message : 'waiting for the Deployment controller',
    };
  }
  const rs = currentReplicaSet(deployment, replicaSets);
  const mine = rs ? currentPods(rs, pods) : [];

  // Crash-type signals name the build or its configuration, whatever LM Studio does.
  const failure = podFailure(mine);
  if (failure) return { kind: 'failed', ...failure };

  const backendDown = backend.state === 'unreachable';
  if (rollout.phase === 'failed') {
    if (backendDown) {
      return {
        kind: 'backendDown',
        message: `the rollout made no progress (${rollout.message}) while LM Studio is unreachable: ${backend.reason}`,
      };
    }
    return { kind: 'failed', reason: 'ProgressDeadlineExceeded', message: rollout.message };
  }
  if (rollout.phase === 'progressing') {
    // An established rollout whose pods drop out of readiness is not "progressing": the
    // Deployment keeps Progressing=NewReplicaSetAvailable, only availability falls.
    const progressing = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
    const established = progressing?.reason === 'NewReplicaSetAvailable';
    const updated = deployment.status?.updatedReplicas ?? 0;
    const desired = deployment.spec?.replicas ?? 1;
    const running = mine.filter((p) => p.status?.phase === 'Running');
    const unready = running.filter((p) => !isReady(p));
    if (established && updated >= desired && unready.length > 0) {
      if (backendDown) {
        return {
          kind: 'backendDown',
          message: `${unready.length} pod(s) not ready while LM Studio is unreachable: ${backend.reason}`,
        };
      }
      // Not overload: the service's /readyz does not follow load (it fails only while a pod
      // shuts down). Load is read from the pods' own metrics (operator/load/).
      return {
        kind: 'progressing',
        message: `${unready.length} of ${running.length} running pod(s) not ready (not crashing, LM Studio reachable)`,
      };
    }
    return { kind: 'progressing', message: rollout.message };
  }
  return { kind: 'healthy', message: rollout.message };
}
