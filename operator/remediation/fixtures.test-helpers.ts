/**
 * Recorded object states for the remediation unit tests: a Deployment, its ReplicaSets and
 * pods as the API server returns them at the moments that matter (shapes taken from the
 * local cluster's Deployment controller and fake nodes).
 */
import type {
  V1Deployment,
  V1DeploymentCondition,
  V1Pod,
  V1ReplicaSet,
} from '@kubernetes/client-node';
import { parseSummarizerService, type SummarizerService } from '../api/summarizerservice.js';

export const DEPLOYMENT_UID = 'dep-uid';

export function deployment(opts: {
  generation?: number;
  observedGeneration?: number;
  revision?: string;
  replicas?: number;
  updated?: number;
  ready?: number;
  available?: number;
  total?: number;
  progressing?: Pick<V1DeploymentCondition, 'status' | 'reason'>;
}): V1Deployment {
  const replicas = opts.replicas ?? 1;
  return {
    metadata: {
      name: 'llmplan',
      namespace: 'ns',
      uid: DEPLOYMENT_UID,
      generation: opts.generation ?? 2,
      annotations: { 'deployment.kubernetes.io/revision': opts.revision ?? '2' },
    },
    spec: { replicas, selector: {}, template: {} },
    status: {
      observedGeneration: opts.observedGeneration ?? opts.generation ?? 2,
      replicas: opts.total ?? replicas,
      updatedReplicas: opts.updated ?? replicas,
      readyReplicas: opts.ready ?? replicas,
      availableReplicas: opts.available ?? replicas,
      conditions: [
        {
          type: 'Progressing',
          status: opts.progressing?.status ?? 'True',
          reason: opts.progressing?.reason ?? 'NewReplicaSetAvailable',
        },
      ],
    },
  };
}

export function replicaSet(revision: string, hash: string): V1ReplicaSet {
  return {
    metadata: {
      name: `llmplan-${hash}`,
      annotations: { 'deployment.kubernetes.io/revision': revision },
      labels: { 'pod-template-hash': hash },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'llmplan',
          uid: DEPLOYMENT_UID,
          controller: true,
        },
      ],
    },
  };
}

export function pod(
  hash: string,
  opts: {
    name?: string;
    phase?: string;
    ready?: boolean;
    readySince?: string;
    waiting?: string;
    lastTerminated?: string;
    restarts?: number;
  } = {},
): V1Pod {
  return {
    metadata: { name: opts.name ?? `llmplan-${hash}-x`, labels: { 'pod-template-hash': hash } },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: opts.ready === false ? 'False' : 'True',
          lastTransitionTime: (opts.readySince ?? '2026-01-01T00:00:00Z') as unknown as Date,
        },
      ],
      containerStatuses: [
        {
          name: 'summarizer',
          image: 'img',
          imageID: '',
          ready: opts.ready !== false,
          restartCount: opts.restarts ?? 0,
          ...(opts.waiting
            ? { state: { waiting: { reason: opts.waiting } } }
            : { state: { running: {} } }),
          ...(opts.lastTerminated
            ? { lastState: { terminated: { reason: opts.lastTerminated, exitCode: 137 } } }
            : {}),
        },
      ],
    },
  };
}

export function summarizerService(
  spec: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
  generation = 3,
): SummarizerService {
  return parseSummarizerService({
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: { name: 'llmplan', namespace: 'ns', uid: 'cr-uid', generation },
    spec,
    status,
  });
}
