/**
 * The SummarizerService reconciler: level-triggered, it reads the resource and what it owns
 * from the caches, converges the children on the desired state, prunes what is no longer
 * wanted, and reports status. It writes only what differs: an idle reconcile makes no write.
 *
 * It never takes over an object it does not control: a same-name object without this
 * resource's controller reference is left untouched and reported (OwnershipConflict) —
 * unless the object opted in to adoption by this resource (adopt.ts).
 */

import type { V1Deployment } from '@kubernetes/client-node';
import { ConditionType, getCondition } from '../api/conditions.js';
import { ANNOTATIONS } from '../api/labels.js';
import type { LoadStatus, Recommendations, SummarizerServiceStatus } from '../api/status.js';
import { type SummarizerService, safeParseSummarizerService } from '../api/summarizerservice.js';
import {
  type DesiredObject,
  isControlledBy,
  type OwnershipConflict,
  unwantedChildren,
} from '../desired/children.js';
import { type DesiredState, desiredState } from '../desired/state.js';
import { overridesFrom } from '../remediation/overrides.js';
import type { Plan, Remediator } from '../remediation/remediator.js';
import {
  type ApiError,
  applyIfNeeded,
  CONTROLLER_OWNER_UID_INDEX,
  canonicalJson,
  controllerOf,
  type EventRecorder,
  isConflict,
  isForbidden,
  isInvalid,
  type KubeClient,
  type KubeObject,
  type ReadonlyStore,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
  type Request,
  type ResourceDescriptor,
  withDesiredHash,
} from '../runtime/index.js';
import { type BackendProbe, computeStatus, statusNeedsUpdate } from '../status/compute.js';
import type { StatusMetrics } from '../status/metrics.js';
import { adopt, isAdoptable } from './adopt.js';
import type { BackendProber } from './backend.js';
import { handOverReplicas } from './replicas.js';
import { childResource, childResources, summarizerServices } from './resources.js';

/** Children the pods depend on: applied before the rest. */
const FIRST_WAVE = new Set(['ServiceAccount', 'ConfigMap']);

/** How often a resource waiting on a remediation clock is looked at again. */
const REMEDIATION_POLL_MS = 5_000;

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface ReconcilerDeps {
  client: KubeClient;
  /** Cache of SummarizerServices that holds `namespace`. */
  resources(namespace: string): ReadonlyStore<KubeObject>;
  /** Cache of one child kind that holds `namespace` (label-selected, indexed by owner UID). */
  children(resource: ResourceDescriptor, namespace: string): ReadonlyStore<KubeObject>;
  recorder: EventRecorder;
  /** undefined: no probing (BackendReachable stays Unknown). */
  prober?: BackendProber;
  /** undefined: no remediation at all (the operator only converges on the spec). */
  remediator?: Remediator;
  /**
   * What status.load (and status.recommendations) say: the monitors' last views, or why
   * load is not read. undefined: status.load is left as it is.
   */
  observations?: {
    load(cr: SummarizerService): LoadStatus | undefined;
    recommendations?(cr: SummarizerService): Recommendations | undefined;
  };
  inCluster: boolean;
  defaultImage: string;
  /** Status as metrics (conditions, load) for alerting. */
  statusMetrics?: StatusMetrics;
  now?: () => Date;
}

/** How one desired child fared. */
interface ChildOutcome {
  object?: KubeObject;
  conflict?: OwnershipConflict;
  error?: string;
}

/** How the desired children fared together; `deployment` is the Deployment as it is now. */
interface ChildrenOutcome {
  deployment?: KubeObject;
  conflicts: OwnershipConflict[];
  errors: string[];
}

/** Remediation's committed plan, and the resource as that commit left it. */
interface Planned {
  cr: SummarizerService;
  plan?: Plan;
  resourceVersion: string | undefined;
}

interface MemoEntry {
  parsed: ReturnType<typeof safeParseSummarizerService>;
  spec?: DesiredState;
  overridden?: { key: string; desired: DesiredState };
}

export class SummarizerServiceReconciler implements Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #now: () => Date;
  readonly #memo = new WeakMap<KubeObject, MemoEntry>();
  /** Desired children with their applied-hash annotation, per desired object. */
  readonly #stamped = new WeakMap<DesiredObject, KubeObject>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  async reconcile(request: Request, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const namespace = request.namespace ?? '';
    const raw = this.#deps.resources(namespace).get(namespace, request.name);
    // Gone, or going: garbage collection removes the children through their owner references.
    if (!raw || raw.metadata.deletionTimestamp) {
      this.#deps.statusMetrics?.forget(namespace, request.name);
      return undefined;
    }

    const { parsed, spec } = this.#parsed(raw);
    if (!parsed.success) {
      // Only possible for objects stored before the CRD's current schema; say so, touch nothing.
      this.#deps.recorder.record(raw, 'Warning', 'InvalidSpec', 'Reconcile', parsed.error.message);
      ctx.logger.warn(
        { issues: parsed.error.message },
        'spec does not parse; children left as they are',
      );
      return undefined;
    }
    if (!spec) throw new Error('a parsed resource always has a desired state');
    const now = this.#now();

    const backend: BackendProbe = this.#deps.prober
      ? await this.#deps.prober.check(parsed.data, this.#deps.inCluster)
      : { state: 'unknown' };
    const planned = await this.#planRemediation(raw, parsed.data, spec, backend, now, ctx);
    if (!planned) return { requeue: true };
    const { cr, plan, resourceVersion } = planned;

    const children: ChildrenOutcome = cr.spec.paused
      ? {
          deployment: this.#cached(childResource('apps/v1', 'Deployment'), cr, cr.metadata.name),
          conflicts: [],
          errors: [],
        }
      : await this.#converge(raw, cr, spec, plan, ctx);

    const status = this.#statusOf(cr, spec.specRevision, plan, backend, children, now);
    if (!(await this.#writeStatus(cr, status, resourceVersion, ctx))) return { requeue: true };
    this.#recordBackendSaturation(raw, cr.status, status);
    this.#deps.statusMetrics?.observe(namespace, cr.metadata.name, status);
    if (children.errors.length > 0) {
      // Requeue with backoff: the API server refused something; the status says what.
      return { requeue: true };
    }
    const next = this.#nextLookMs(plan, backend);
    return next === undefined ? undefined : { requeueAfterMs: next };
  }

  /**
   * Remediation's plan for this round, committed to status before anything acts on it;
   * undefined when the commit failed (the caller requeues).
   */
  async #planRemediation(
    raw: KubeObject,
    cr: SummarizerService,
    spec: DesiredState,
    backend: BackendProbe,
    now: Date,
    ctx: ReconcileContext,
  ): Promise<Planned | undefined> {
    const resourceVersion = raw.metadata.resourceVersion;
    const remediator = this.#deps.remediator;
    // Paused: nothing changes, not even remediation's bookkeeping.
    if (cr.spec.paused || !remediator) return { cr, resourceVersion };
    // Decide, commit the decision to status, then act on it (see remediator.ts).
    const plan = remediator.plan(cr, spec.specRevision, backend, now);
    const commit = await remediator.commit(raw, cr, plan, spec.specRevision, ctx);
    if (!commit.ok) return undefined;
    if (!commit.object) return { cr, plan, resourceVersion };
    return {
      cr: { ...cr, status: commit.object.status },
      plan,
      resourceVersion: commit.object.metadata.resourceVersion,
    };
  }

  /**
   * Converges the children on the desired state (with remediation's overrides): applies what
   * differs, prunes what is no longer wanted, then restarts the pod remediation decided on.
   */
  async #converge(
    raw: KubeObject,
    cr: SummarizerService,
    spec: DesiredState,
    plan: Plan | undefined,
    ctx: ReconcileContext,
  ): Promise<ChildrenOutcome> {
    const remediator = this.#deps.remediator;
    const desired = plan ? this.#withOverrides(raw, cr, spec, plan) : spec;
    if (plan && remediator) {
      // Recorded before the Deployment serves it: every deployed template can be served again.
      await remediator.syncRevisions(
        cr,
        {
          revision: spec.specRevision,
          podTemplate: spec.specPodTemplate,
          configData: spec.specConfigData,
        },
        plan,
        ctx,
      );
    }
    const outcome = await this.#applyInWaves(cr, desired, ctx);
    await this.#prune(cr, desired.objects, ctx);
    if (plan && remediator) await remediator.restartPod(cr, plan, ctx);
    return outcome;
  }

  /**
   * Two waves of concurrent applies: what the pods need to start (ServiceAccount, ConfigMap)
   * first, then everything else. One reconcile costs a few round trips, not one per child.
   */
  async #applyInWaves(
    cr: SummarizerService,
    desired: DesiredState,
    ctx: ReconcileContext,
  ): Promise<ChildrenOutcome> {
    const outcome: ChildrenOutcome = { conflicts: [], errors: [] };
    const first = desired.objects.filter((o) => FIRST_WAVE.has(o.kind));
    const second = desired.objects.filter((o) => !FIRST_WAVE.has(o.kind));
    for (const wave of [first, second]) {
      const outcomes = await Promise.all(
        wave.map((object) => this.#ensure(cr, object, ctx, desired.autoscalingMinReplicas)),
      );
      for (const [i, child] of outcomes.entries()) {
        if (child.conflict) outcome.conflicts.push(child.conflict);
        if (child.error) outcome.errors.push(child.error);
        if (wave[i]?.kind === 'Deployment') outcome.deployment = child.object;
      }
    }
    return outcome;
  }

  /** The status this round reports: the children, the backend, load and remediation's state. */
  #statusOf(
    cr: SummarizerService,
    specRevision: string,
    plan: Plan | undefined,
    backend: BackendProbe,
    { deployment, conflicts, errors }: ChildrenOutcome,
    now: Date,
  ): SummarizerServiceStatus {
    const load = this.#deps.observations?.load(cr);
    const recommendations = this.#deps.observations?.recommendations?.(cr);
    return computeStatus({
      cr,
      ...(load ? { load } : {}),
      ...(recommendations ? { recommendations } : {}),
      deployment:
        deployment && isControlledBy(deployment, cr.metadata.uid ?? '')
          ? (deployment as V1Deployment)
          : undefined,
      backend,
      conflicts,
      reconcileError: errors.length > 0 ? errors.join('; ') : undefined,
      ...(plan
        ? {
            remediation: {
              currentRevision: specRevision,
              ...withoutUndefined(plan.decision.status),
            },
            conditionOverrides: plan.decision.conditions,
          }
        : {}),
      now,
    });
  }

  /**
   * Parsing and computing the desired state cost most of an idle reconcile's CPU (zod,
   * canonical JSON, hashes), and the inputs only change with the cached object: both are
   * kept per cached object (a new resourceVersion is a new object).
   */
  #parsed(raw: KubeObject): {
    parsed: ReturnType<typeof safeParseSummarizerService>;
    spec?: DesiredState;
  } {
    let entry = this.#memo.get(raw);
    if (!entry) {
      const parsed = safeParseSummarizerService(raw);
      entry = {
        parsed,
        spec: parsed.success
          ? desiredState(parsed.data, { defaultImage: this.#deps.defaultImage })
          : undefined,
      };
      this.#memo.set(raw, entry);
    }
    return entry;
  }

  /** The desired state with remediation's overrides; the spec's own when there are none. */
  #withOverrides(
    raw: KubeObject,
    cr: SummarizerService,
    spec: DesiredState,
    plan: Plan,
  ): DesiredState {
    const state = plan.decision.status.remediation;
    const key = canonicalJson(state ?? {});
    const entry = this.#memo.get(raw);
    if (entry?.overridden?.key === key) return entry.overridden.desired;
    const overrides = overridesFrom(state, plan.revisions);
    const desired =
      Object.keys(overrides).length === 0
        ? spec
        : desiredState(cr, { defaultImage: this.#deps.defaultImage, overrides });
    if (entry) entry.overridden = { key, desired };
    return desired;
  }

  /**
   * When to look again without an event: BackendReachable is a poll (the probe's interval);
   * remediation waits on clocks (afterSeconds, cooldown, a scale-up's healthy period) that
   * no watch event announces.
   */
  #nextLookMs(plan: Plan | undefined, backend: BackendProbe): number | undefined {
    // A probe that cannot run from here (Unknown) is not worth polling.
    const probe = backend.state === 'unknown' ? undefined : this.#deps.prober?.intervalMs;
    const load = plan?.load;
    const waiting =
      plan !== undefined &&
      (plan.decision.held !== undefined ||
        plan.decision.status.remediation?.scaleUp !== undefined ||
        plan.decision.status.remediation?.podRestart !== undefined ||
        load?.problemPod !== undefined ||
        load?.state === 'Saturated' ||
        load?.state === 'BackendSaturated');
    if (!waiting) return probe;
    return Math.min(probe ?? REMEDIATION_POLL_MS, REMEDIATION_POLL_MS);
  }

  /**
   * An Event when LM Studio becomes the bottleneck (condition BackendSaturated turns True),
   * with the figures, and when it keeps up again: what an SRE would be paged with.
   */
  #recordBackendSaturation(
    raw: KubeObject,
    before: SummarizerServiceStatus | undefined,
    after: SummarizerServiceStatus,
  ): void {
    const was = getCondition(before?.conditions, ConditionType.BackendSaturated)?.status;
    const now = getCondition(after.conditions, ConditionType.BackendSaturated);
    if (!now || was === now.status) return;
    if (now.status === 'True') {
      this.#deps.recorder.record(raw, 'Warning', 'BackendSaturated', 'Observe', now.message);
    } else if (was === 'True' && now.status === 'False') {
      this.#deps.recorder.record(raw, 'Normal', 'BackendKeepsUp', 'Observe', now.message);
    }
  }

  /**
   * Applies one child if it differs, unless its name belongs to someone else. While
   * autoscaling (`minReplicas` set), the Deployment's replicas are handed over first.
   */
  async #ensure(
    cr: SummarizerService,
    object: DesiredObject,
    ctx: ReconcileContext,
    minReplicas?: number,
  ): Promise<ChildOutcome> {
    const resource = childResource(object.apiVersion, object.kind);
    const { name, namespace } = object.metadata;
    const uid = cr.metadata.uid ?? '';
    // Our caches hold only labelled objects; a miss may still be an unlabelled object of that name.
    let live =
      this.#deps.children(resource, namespace).get(namespace, name) ??
      (await this.#deps.client.find(resource, name, namespace, { signal: ctx.signal }));
    if (live && !isControlledBy(live, uid) && isAdoptable(live, cr.metadata.name)) {
      live = await adopt(this.#deps.client, resource, live, object.apiVersion, ctx.signal);
      ctx.logger.info({ kind: object.kind, child: name }, 'adopting child');
      this.#deps.recorder.record(
        cr as unknown as KubeObject,
        'Normal',
        'Adopted',
        'Adopt',
        `Adopting ${object.kind} ${name} (opted in with ${ANNOTATIONS.adopt}): it becomes a child, updated in place`,
        live,
      );
    } else if (live && !isControlledBy(live, uid)) {
      const owner = controllerOf(live);
      const conflict: OwnershipConflict = {
        kind: object.kind,
        name,
        ...(owner ? { controller: `${owner.kind}/${owner.name}` } : {}),
      };
      this.#deps.recorder.record(
        cr as unknown as KubeObject,
        'Warning',
        'OwnershipConflict',
        'Reconcile',
        `${object.kind} ${name} exists and is not controlled by this SummarizerService${owner ? ` (controller: ${owner.kind}/${owner.name})` : ''}; left untouched`,
      );
      return { conflict };
    }
    let desired = this.#stamped.get(object);
    if (!desired) {
      desired = withDesiredHash(object as unknown as KubeObject, ANNOTATIONS.appliedHash);
      this.#stamped.set(object, desired);
    }
    try {
      const handover =
        object.kind === 'Deployment' && minReplicas !== undefined
          ? await handOverReplicas(
              this.#deps.client,
              resource,
              desired,
              live,
              minReplicas,
              ctx.signal,
            )
          : undefined;
      const result = await applyIfNeeded(
        this.#deps.client,
        resource,
        desired,
        handover?.object ?? live,
        {
          force: true,
          // A hand edit that re-keyed a list element (a Service port renumbered) makes our
          // apply Invalid; we own the child, so overwrite it (see apply.ts).
          repairInvalid: true,
          signal: ctx.signal,
        },
      );
      if (result.applied || handover) {
        const created = live === undefined;
        const handedOver = handover && `spec.replicas ${handover.replicas} handed over to the HPA`;
        const changes = [result.applied && (result.difference ?? 'changed'), handedOver]
          .filter(Boolean)
          .join('; ');
        ctx.logger.info(
          {
            kind: object.kind,
            child: name,
            difference: result.difference,
            handedOver: handover?.replicas,
          },
          created ? 'created child' : 'updated child',
        );
        this.#deps.recorder.record(
          cr as unknown as KubeObject,
          'Normal',
          created ? 'Created' : 'Updated',
          created ? 'Create' : 'Update',
          created
            ? `Created ${object.kind} ${name}${handedOver ? ` (${handedOver})` : ''}`
            : `Updated ${object.kind} ${name} (${changes})`,
          result.object,
        );
      }
      return { object: result.object };
    } catch (error) {
      if (isInvalid(error) || isForbidden(error)) {
        const why = `${object.kind} ${name}: ${(error as ApiError).serverMessage ?? (error as Error).message}`;
        this.#deps.recorder.record(
          cr as unknown as KubeObject,
          'Warning',
          'ApplyFailed',
          'Update',
          why,
        );
        return { error: why, object: live };
      }
      throw error;
    }
  }

  /** Deletes children this resource controls that the desired state no longer has. */
  async #prune(
    cr: SummarizerService,
    desired: readonly DesiredObject[],
    ctx: ReconcileContext,
  ): Promise<void> {
    const uid = cr.metadata.uid ?? '';
    const namespace = cr.metadata.namespace ?? '';
    for (const resource of childResources) {
      const owned = this.#deps
        .children(resource, namespace)
        .byIndex(CONTROLLER_OWNER_UID_INDEX, uid);
      for (const child of unwantedChildren(owned, desired, uid)) {
        const deleted = await this.#deps.client.delete(
          resource,
          child.metadata.name ?? '',
          namespace,
          {
            preconditions: { uid: child.metadata.uid },
            propagationPolicy: 'Background',
            ignoreNotFound: true,
            signal: ctx.signal,
          },
        );
        if (deleted) {
          ctx.logger.info(
            { kind: resource.kind, child: child.metadata.name },
            'deleted child no longer wanted',
          );
          this.#deps.recorder.record(
            cr as unknown as KubeObject,
            'Normal',
            'Deleted',
            'Delete',
            `Deleted ${resource.kind} ${child.metadata.name}: no longer wanted by the spec`,
          );
        }
      }
    }
  }

  #cached(
    resource: ResourceDescriptor,
    cr: SummarizerService,
    name: string,
  ): KubeObject | undefined {
    const namespace = cr.metadata.namespace ?? '';
    return this.#deps.children(resource, namespace).get(namespace, name);
  }

  /**
   * Writes status when it changed, conditioned on the resourceVersion it was computed from;
   * false when the resource changed meanwhile (the caller requeues).
   */
  async #writeStatus(
    cr: SummarizerService,
    status: SummarizerServiceStatus,
    resourceVersion: string | undefined,
    ctx: ReconcileContext,
  ): Promise<boolean> {
    if (!statusNeedsUpdate(cr.status, status)) return true;
    try {
      await this.#deps.client.applyStatus(
        summarizerServices,
        {
          apiVersion: cr.apiVersion,
          kind: cr.kind,
          metadata: { name: cr.metadata.name, namespace: cr.metadata.namespace, resourceVersion },
          status,
        },
        { force: true, signal: ctx.signal },
      );
      return true;
    } catch (error) {
      if (isConflict(error)) {
        ctx.logger.debug({ err: (error as Error).message }, 'status write conflicted');
        return false;
      }
      throw error;
    }
  }
}
