/**
 * Remediation's I/O, around the pure assess → decide: gathers the observations from the
 * caches, commits a decision to status *before* acting on it, and keeps the revision
 * history (ControllerRevisions) in step with what is deployed.
 *
 * The commit is the point of no return: status (remediation state + history) is written by
 * server-side apply with the resource's resourceVersion as a precondition. A decision made
 * from a stale cache therefore fails with 409 instead of being taken twice, and an operator
 * killed right after deciding finds the decision in status when it (or a new leader) comes
 * back, and carries it out instead of deciding again.
 */
import type {
  V1ControllerRevision,
  V1Deployment,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
} from '@kubernetes/client-node';
import { Counter } from 'prom-client';
import { ANNOTATIONS, LABELS } from '../api/labels.js';
import type { SummarizerServiceStatus } from '../api/status.js';
import { type SummarizerService, summarizerServices } from '../api/summarizerservice.js';
import { isControlledBy } from '../desired/children.js';
import type { ConfigData } from '../desired/configmap.js';
import { effectiveReplicas } from '../desired/state.js';
import type { LoadJudgement } from '../load/judge.js';
import {
  type ApiError,
  builtin,
  CONTROLLER_OWNER_UID_INDEX,
  canonicalJson,
  type EventRecorder,
  type IndexFunc,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type ReadonlyStore,
  type ReconcileContext,
  type ResourceDescriptor,
  resourcePath,
  TooManyRequestsError,
} from '../runtime/index.js';
import type { BackendProbe } from '../status/compute.js';
import { assess, type Verdict } from './assess.js';
import { type Decision, decide } from './decide.js';
import { overridesFrom } from './overrides.js';
import {
  buildRevision,
  nextRevisionNumber,
  REVISION_ANNOTATIONS,
  type Revision,
  readRevision,
  revisionsToPrune,
} from './revisions.js';

const { controllerRevisions } = builtin;

/** Pods and ReplicaSets are not owned by the resource: find them by its instance label. */
export const INSTANCE_INDEX = 'instance';
export const indexByInstance: IndexFunc<KubeObject> = (obj) => {
  const instance = obj.metadata.labels?.[LABELS.instance];
  return instance ? [`${obj.metadata.namespace ?? ''}/${instance}`] : [];
};

export interface RemediatorDeps {
  client: KubeClient;
  recorder: EventRecorder;
  /** Cache holding `namespace` for pods, ReplicaSets, ControllerRevisions, Deployments. */
  store(resource: ResourceDescriptor, namespace: string): ReadonlyStore<KubeObject>;
  actions: ActionsCounter;
  /** The load monitor's judgement of a resource; undefined: load is not read. */
  load?(cr: SummarizerService): LoadJudgement | undefined;
}

export interface Plan {
  verdict: Verdict;
  /** The load judgement the decision saw, if load is read. */
  load?: LoadJudgement;
  decision: Decision;
  revisions: Map<string, Revision>;
  /** Whether status already holds this decision (nothing to commit). */
  committed: boolean;
}

export type ActionsCounter = Counter<'action' | 'reason' | 'namespace' | 'name'>;

export function remediationActionsCounter(): ActionsCounter {
  return new Counter({
    name: 'llmplan_remediation_actions_total',
    help: 'Remediation actions the operator took by itself, by action, the signal that triggered it, and the SummarizerService.',
    labelNames: ['action', 'reason', 'namespace', 'name'],
    registers: [],
  });
}

const remediationFields = (status: SummarizerServiceStatus | undefined) => ({
  remediation: status?.remediation,
  history: status?.history,
  lastHealthyRevision: status?.lastHealthyRevision,
  failedRevision: status?.failedRevision,
});

export class Remediator {
  readonly #deps: RemediatorDeps;

  constructor(deps: RemediatorDeps) {
    this.#deps = deps;
  }

  /** The ControllerRevisions of a resource, by template hash. */
  revisions(cr: SummarizerService): Map<string, Revision> {
    const namespace = cr.metadata.namespace ?? '';
    const owned = this.#deps
      .store(controllerRevisions, namespace)
      .byIndex(CONTROLLER_OWNER_UID_INDEX, cr.metadata.uid ?? '');
    const out = new Map<string, Revision>();
    for (const object of owned) {
      const revision = readRevision(object as V1ControllerRevision);
      if (revision) out.set(revision.hash, revision);
    }
    return out;
  }

  /** Observe, assess, decide. */
  plan(cr: SummarizerService, specRevision: string, backend: BackendProbe, now: Date): Plan {
    const namespace = cr.metadata.namespace ?? '';
    const uid = cr.metadata.uid ?? '';
    const key = `${namespace}/${cr.metadata.name}`;
    const live = this.#deps.store(builtin.deployments, namespace).get(namespace, cr.metadata.name);
    const deployment = live && isControlledBy(live, uid) ? (live as V1Deployment) : undefined;
    const replicaSets = this.#deps
      .store(builtin.replicaSets, namespace)
      .byIndex(INSTANCE_INDEX, key) as V1ReplicaSet[];
    const pods = this.#deps.store(builtin.pods, namespace).byIndex(INSTANCE_INDEX, key) as V1Pod[];
    const verdict = assess({ deployment, replicaSets, pods, backend });
    const load = this.#deps.load?.(cr);
    const livePods = new Set(
      pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.uid ?? ''),
    );
    const revisions = this.revisions(cr);
    const state = cr.status?.remediation;
    const scale = effectiveReplicas(cr, overridesFrom(state, revisions));
    const decision = decide({
      cr,
      verdict,
      specRevision,
      servedRevision: deployment?.metadata?.annotations?.[ANNOTATIONS.revision],
      knownRevisions: new Set(revisions.keys()),
      effectiveMemoryLimit: state?.memoryBump?.memoryLimit ?? specMemory(cr),
      effectiveReplicas: scale.autoscaling ? scale.minReplicas : scale.replicas,
      ...(load ? { load } : {}),
      livePods,
      now,
    });
    const committed =
      canonicalJson(remediationFields(cr.status)) === canonicalJson(decision.status);
    return { verdict, ...(load ? { load } : {}), decision, revisions, committed };
  }

  /**
   * Writes the decision into status (remediation fields only, plus the revision fields it
   * changes), conditioned on the resourceVersion it was made from, and returns the object as
   * written. `ok: false` when the resource changed meanwhile: the caller requeues and decides
   * again on fresh state.
   */
  async commit(
    raw: KubeObject,
    cr: SummarizerService,
    plan: Plan,
    specRevision: string,
    ctx: ReconcileContext,
  ): Promise<{ ok: boolean; object?: KubeObject & { status?: SummarizerServiceStatus } }> {
    if (plan.committed) return { ok: true };
    const status: SummarizerServiceStatus = {
      ...(cr.status ?? {}),
      ...withoutUndefined(plan.decision.status),
      currentRevision: specRevision,
    };
    if (!plan.decision.status.remediation) delete status.remediation;
    if (!plan.decision.status.history) delete status.history;
    if (!plan.decision.status.failedRevision) delete status.failedRevision;
    let written: KubeObject & { status?: SummarizerServiceStatus };
    try {
      written = await this.#deps.client.applyStatus(
        summarizerServices,
        {
          apiVersion: cr.apiVersion,
          kind: cr.kind,
          metadata: {
            name: cr.metadata.name,
            namespace: cr.metadata.namespace,
            resourceVersion: raw.metadata.resourceVersion,
          },
          status,
        },
        { force: true, signal: ctx.signal },
      );
    } catch (error) {
      if (isConflict(error)) {
        ctx.logger.debug({ err: (error as Error).message }, 'remediation commit conflicted');
        return { ok: false };
      }
      throw error;
    }
    const action = plan.decision.action;
    if (action && process.env.LLMPLAN_FAULT === 'exit-after-remediation-commit') {
      // Fault injection for the end-to-end test "killed right after deciding": the decision
      // is in status, nothing has acted on it yet. Never set outside tests.
      process.kill(process.pid, 'SIGKILL');
    }
    if (action) {
      this.#deps.actions.inc({
        action: action.action,
        reason: action.reason,
        namespace: cr.metadata.namespace ?? '',
        name: cr.metadata.name,
      });
      ctx.logger.warn(
        { action: action.action, reason: action.reason, from: action.from, to: action.to },
        `remediation: ${action.action}: ${action.message}`,
      );
      this.#deps.recorder.record(
        raw,
        action.action === 'ScaleUpReverted' ? 'Normal' : 'Warning',
        action.action,
        'Remediate',
        `${action.reason}: ${action.from ?? ''} → ${action.to ?? ''}: ${action.message}`.slice(
          0,
          1024,
        ),
      );
    }
    return { ok: true, object: written };
  }

  /**
   * Carries out a decided pod restart (status.remediation.podRestart): evicts the pod through
   * the Eviction API, which refuses (429) while the PodDisruptionBudget allows no
   * disruption; the decision stays in status and is tried again on the next reconcile.
   * Eviction, not delete: a restart must never take the service below its budget.
   */
  async restartPod(cr: SummarizerService, plan: Plan, ctx: ReconcileContext): Promise<void> {
    const pending = plan.decision.status.remediation?.podRestart;
    if (!pending) return;
    const namespace = cr.metadata.namespace ?? '';
    const pod = this.#deps.store(builtin.pods, namespace).get(namespace, pending.pod);
    if (!pod || pod.metadata.uid !== pending.uid || pod.metadata.deletionTimestamp) return;
    try {
      await this.#deps.client.request({
        method: 'POST',
        path: resourcePath(builtin.pods, { namespace, name: pending.pod, subresource: 'eviction' }),
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pending.pod, namespace },
          deleteOptions: { preconditions: { uid: pending.uid } },
        },
        // A 429 here is the budget's answer, not throttling: no retry inside the reconcile.
        maxRetries: 0,
        signal: ctx.signal,
      });
      ctx.logger.info({ pod: pending.pod }, 'evicted the problematic pod');
    } catch (error) {
      if (isNotFound(error) || isConflict(error)) return; // gone, or replaced: nothing to do
      if (error instanceof TooManyRequestsError || (error as ApiError).statusCode === 429) {
        ctx.logger.info(
          { pod: pending.pod, why: (error as ApiError).serverMessage },
          'eviction refused by the PodDisruptionBudget; retried later',
        );
        return;
      }
      throw error;
    }
  }

  /**
   * Keeps the ControllerRevisions in step: the spec's template has one (created before the
   * Deployment serves it), health is recorded on them, and the oldest unused ones beyond
   * revisionHistoryLimit are deleted.
   */
  async syncRevisions(
    cr: SummarizerService,
    spec: { revision: string; podTemplate: V1PodTemplateSpec; configData: ConfigData },
    plan: Plan,
    ctx: ReconcileContext,
  ): Promise<void> {
    const namespace = cr.metadata.namespace ?? '';
    const revisions = plan.revisions;
    if (!revisions.has(spec.revision)) {
      const object = buildRevision(cr, spec.revision, nextRevisionNumber([...revisions.values()]), {
        podTemplate: spec.podTemplate,
        configData: spec.configData,
        spec: cr.spec,
        generation: cr.metadata.generation ?? 0,
      });
      try {
        await this.#deps.client.create(controllerRevisions, object as KubeObject, {
          signal: ctx.signal,
        });
        ctx.logger.info({ revision: spec.revision, number: object.revision }, 'recorded revision');
      } catch (error) {
        // Our cache had not seen it yet: the revision exists, which is all we need.
        if (!isAlreadyExists(error)) throw error;
      }
    }

    const status = plan.decision.status;
    const health = new Map<string, { health: 'healthy' | 'failed'; reason: string }>();
    if (plan.verdict.kind === 'healthy' && status.lastHealthyRevision) {
      health.set(status.lastHealthyRevision, { health: 'healthy', reason: 'RolloutComplete' });
    }
    if (status.failedRevision) {
      const reason = plan.verdict.kind === 'failed' ? plan.verdict.reason : 'Failed';
      health.set(status.failedRevision, { health: 'failed', reason });
    }
    for (const [hash, judged] of health) {
      const revision = revisions.get(hash);
      if (!revision || revision.health === judged.health) continue;
      await this.#deps.client.patch(
        controllerRevisions,
        revision.name,
        namespace,
        {
          metadata: {
            annotations: {
              [REVISION_ANNOTATIONS.health]: judged.health,
              [REVISION_ANNOTATIONS.healthReason]: judged.reason,
              [REVISION_ANNOTATIONS.healthTime]: new Date().toISOString(),
            },
          },
        },
        { type: 'merge', signal: ctx.signal },
      );
    }

    const keep = new Set(
      [spec.revision, status.lastHealthyRevision, status.remediation?.rollback?.toRevision].filter(
        (h): h is string => h !== undefined,
      ),
    );
    for (const old of revisionsToPrune(
      [...revisions.values()],
      cr.spec.revisionHistoryLimit,
      keep,
    )) {
      await this.#deps.client.delete(controllerRevisions, old.name, namespace, {
        ignoreNotFound: true,
        signal: ctx.signal,
      });
    }
  }
}

function specMemory(cr: SummarizerService): string | undefined {
  const memory = cr.spec.resources.limits?.memory;
  return memory === undefined ? undefined : String(memory);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
