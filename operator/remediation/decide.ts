/**
 * What remediation does about a verdict — pure: the resource, the verdict, the revisions and
 * the remediation state recorded in status in; the new state, at most one action, and the
 * conditions to report out. Everything it needs to remember lives in status, so a restarted
 * operator, or a new leader, decides exactly as the old one would have.
 *
 * Order of remedies for a failed rollout: OOMKilled → raise the memory limit (while below
 * maxMemory); otherwise → serve the last healthy revision's template again. A backend
 * outage is never a reason to act. Every action is bounded by the cooldown and the hourly
 * cap; reverting a scale-up (going back to the spec) is not.
 */
import { ConditionType, type ConditionUpdate, Reason } from '../api/conditions.js';
import { compareQuantities, scaleMemoryLimit } from '../api/quantity.js';
import {
  HISTORY_MAX_ITEMS,
  type HistoryEntry,
  type RemediationAction,
  type RemediationState,
  type SummarizerServiceStatus,
} from '../api/status.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import type { LoadJudgement } from '../load/judge.js';
import { parseKubeTime } from '../runtime/index.js';
import type { Verdict } from './assess.js';

/** A pod restart the PDB keeps refusing is given up after this long (the record stays). */
export const POD_RESTART_GIVE_UP_MS = 10 * 60_000;

const HOUR_MS = 3_600_000;

export interface DecisionInput {
  cr: SummarizerService;
  verdict: Verdict;
  /** Hash of the spec's pod template (status.currentRevision). */
  specRevision: string;
  /**
   * The revision the Deployment serves now (its llmplan.io/revision annotation): the verdict
   * is about this one. It lags the spec for a moment after every change.
   */
  servedRevision: string | undefined;
  /** Hashes of the revisions recorded as ControllerRevisions. */
  knownRevisions: ReadonlySet<string>;
  /** The memory limit the running template has (spec or bumped). */
  effectiveMemoryLimit: string | undefined;
  /** The replica floor the workload has now (spec replicas or HPA minimum, bumps included). */
  effectiveReplicas: number;
  /**
   * What the pods' own metrics say (operator/load/); undefined when load is not read (no
   * monitor, or not scraped yet): then no load-based action is taken.
   */
  load?: LoadJudgement;
  /** uids of the resource's pods that exist and are not terminating (a pending restart's target). */
  livePods: ReadonlySet<string>;
  now: Date;
}

export interface ActionTaken {
  action: RemediationAction;
  reason: string;
  from?: string;
  to?: string;
  message: string;
}

export interface Decision {
  /** Remediation fields of the status after this decision. */
  status: Pick<
    SummarizerServiceStatus,
    'remediation' | 'history' | 'lastHealthyRevision' | 'failedRevision'
  >;
  action?: ActionTaken;
  /** Why a wanted action was not taken (cooldown, hourly cap, switched off, nothing to do). */
  held?: string;
  /** Conditions remediation states, applied over the computed ones. */
  conditions: ConditionUpdate[];
}

/** The remediation status fields of a resource, as recorded. */
function recorded(cr: SummarizerService) {
  return {
    state: { ...(cr.status?.remediation ?? {}) } as RemediationState,
    history: [...(cr.status?.history ?? [])],
    lastHealthyRevision: cr.status?.lastHealthyRevision,
    failedRevision: cr.status?.failedRevision,
  };
}

function actionsInLastHour(history: readonly HistoryEntry[], now: number): number {
  return history.filter(
    (h) => h.action !== 'ScaleUpReverted' && now - parseKubeTime(h.time) < HOUR_MS,
  ).length;
}

/** Why an action may not be taken now, or undefined when it may. */
function gate(
  cr: SummarizerService,
  state: RemediationState,
  history: readonly HistoryEntry[],
  now: number,
): string | undefined {
  const { cooldownSeconds, maxActionsPerHour } = cr.spec.remediation;
  if (state.lastActionTime) {
    const wait = parseKubeTime(state.lastActionTime) + cooldownSeconds * 1000 - now;
    if (wait > 0) return `cooldown: next action possible in ${Math.ceil(wait / 1000)} s`;
  }
  const recent = actionsInLastHour(history, now);
  if (recent >= maxActionsPerHour) {
    return `${recent} actions in the last hour (maxActionsPerHour ${maxActionsPerHour})`;
  }
  return undefined;
}

/**
 * Whether the load calls for a scale-up now: the pods saturated for scaleUp.afterSeconds
 * while LM Studio keeps its usual latency. `to` is the target, or `held` says why not.
 */
function scaleUpWanted(
  cr: SummarizerService,
  load: LoadJudgement,
  effective: number,
  now: number,
  state: RemediationState,
  history: readonly HistoryEntry[],
): { to?: number; held?: string } {
  const { scaleUp } = cr.spec.remediation;
  if (state.scaleUp) return {};
  if (load.state === 'BackendSaturated') {
    return { held: `no scale-up: ${load.message}` };
  }
  if (load.state !== 'Saturated') return {};
  if (load.latest?.backend.state !== 'normal') {
    return {
      held: "saturated, but LM Studio's usual latency is not known yet: no scale-up until it is (more pods could deepen its queue)",
    };
  }
  const autoscaling = cr.spec.autoscaling;
  const target = autoscaling.enabled
    ? Math.min(scaleUp.replicas, autoscaling.maxReplicas)
    : scaleUp.replicas;
  const waited = load.saturatedForMs;
  if (waited < scaleUp.afterSeconds * 1000) {
    return {
      held: `saturated for ${Math.floor(waited / 1000)} s of ${scaleUp.afterSeconds} s`,
    };
  }
  if (target <= effective) {
    return { held: `saturated, already at ${effective} replicas (scale-up target ${target})` };
  }
  const blocked = gate(cr, state, history, now);
  return blocked ? { held: `scale-up: ${blocked}` } : { to: target };
}

/** The decision being made: the recorded remediation status, updated step by step. */
interface Draft {
  state: RemediationState;
  history: HistoryEntry[];
  lastHealthyRevision: string | undefined;
  failedRevision: string | undefined;
  action?: ActionTaken;
  held?: string;
}

type FailedVerdict = Extract<Verdict, { kind: 'failed' }>;

export function decide(input: DecisionInput): Decision {
  const { cr, verdict, specRevision } = input;
  const { remediation } = cr.spec;
  const draft: Draft = recorded(cr);

  // Switched off: serve the spec as written, remember nothing in effect.
  if (!remediation.enabled) {
    draft.state = {};
  }

  // 1. Forget what no longer applies.
  forgetWhatNoLongerApplies(draft, input);

  // 2. What the verdict says about the revision being served. Right after a spec change the
  // Deployment still serves the previous template: the verdict is about that one.
  const served = input.servedRevision;
  const servingSpec = !draft.state.rollback && served === specRevision;
  if (verdict.kind === 'healthy' && served !== undefined) {
    draft.lastHealthyRevision = served;
    if (draft.failedRevision === served) draft.failedRevision = undefined;
  }

  // 3. The scale-up ends after cooldownSeconds of calm.
  revertScaleUpWhenCalm(draft, input);

  // 4. New actions.
  const mayAct = remediation.enabled && !cr.spec.paused;
  if (mayAct && verdict.kind === 'failed' && servingSpec && !draft.action) {
    remedyFailedRollout(draft, input, verdict);
  }
  const load = input.load;
  if (
    mayAct &&
    load &&
    verdict.kind === 'healthy' &&
    !draft.action &&
    remediation.scaleUp.enabled
  ) {
    scaleUpWhenSaturated(draft, input, load);
  }
  // Not during a rollout of a new template (its pods are the rollout's business), but a
  // sibling that is merely not ready does not stop it: the PodDisruptionBudget does.
  const settled =
    verdict.kind === 'healthy' ||
    (verdict.kind === 'progressing' && servingSpec && draft.lastHealthyRevision === served);
  if (mayAct && settled && !draft.action) restartProblemPod(draft, input);

  // 5. What status says about it (over the computed conditions).
  const conditions = remediationConditions(draft, verdict, remediation.cooldownSeconds);
  return finished(draft, conditions);
}

/**
 * Drops what has ended: a rollback once the spec no longer asks for the template that failed,
 * a memory bump once the user changed the memory limit, a decided pod restart once its pod is
 * gone (or the PDB refused it for too long).
 */
function forgetWhatNoLongerApplies(draft: Draft, input: DecisionInput): void {
  const { cr, specRevision } = input;
  if (draft.state.rollback && draft.state.rollback.fromRevision !== specRevision) {
    draft.state = { ...draft.state, rollback: undefined };
  }
  if (draft.failedRevision && draft.failedRevision !== specRevision && !draft.state.rollback) {
    draft.failedRevision = undefined;
  }
  const specMemory = cr.spec.resources.limits?.memory;
  if (
    draft.state.memoryBump &&
    draft.state.memoryBump.specMemoryLimit !== String(specMemory ?? '')
  ) {
    draft.state = { ...draft.state, memoryBump: undefined };
  }
  const pending = draft.state.podRestart;
  if (
    pending &&
    (!input.livePods.has(pending.uid) ||
      input.now.getTime() - parseKubeTime(pending.since) > POD_RESTART_GIVE_UP_MS)
  ) {
    draft.state = { ...draft.state, podRestart: undefined };
  }
}

/** Takes an action: it starts the cooldown and goes into the history. */
function record(draft: Draft, input: DecisionInput, taken: ActionTaken): void {
  const time = input.now.toISOString();
  const revision = input.specRevision;
  draft.action = taken;
  draft.state = { ...draft.state, lastActionTime: time };
  const entry: HistoryEntry = {
    time,
    action: taken.action,
    reason: taken.reason,
    ...(taken.from !== undefined ? { from: taken.from } : {}),
    ...(taken.to !== undefined ? { to: taken.to } : {}),
    ...(revision ? { revision } : {}),
    message: taken.message.slice(0, 1024),
  };
  draft.history = [...draft.history, entry].slice(-HISTORY_MAX_ITEMS);
}

/**
 * Ends a scale-up after cooldownSeconds of calm: the rollout healthy and the load (when it can
 * be read) fitting the spec's replicas again. Going back is always allowed.
 */
function revertScaleUpWhenCalm(draft: Draft, input: DecisionInput): void {
  const scaleUp = draft.state.scaleUp;
  if (!scaleUp) return;
  const { remediation } = input.cr.spec;
  const load = input.load;
  if (input.verdict.kind !== 'healthy' || !(load?.calm ?? true)) {
    if (scaleUp.healthySince) {
      draft.state = { ...draft.state, scaleUp: { ...scaleUp, healthySince: undefined } };
    }
    return;
  }
  const healthySince = scaleUp.healthySince ?? input.now.toISOString();
  draft.state = { ...draft.state, scaleUp: { ...scaleUp, healthySince } };
  if (
    input.now.getTime() - parseKubeTime(healthySince) >= remediation.cooldownSeconds * 1000 ||
    !remediation.scaleUp.enabled
  ) {
    draft.state = { ...draft.state, scaleUp: undefined };
    record(draft, input, {
      action: 'ScaleUpReverted',
      reason: 'Calm',
      from: String(scaleUp.replicas),
      to: 'spec',
      message: `calm for ${remediation.cooldownSeconds} s (${load ? load.message : 'load not read'}): back to the replicas of the spec`,
    });
  }
}

/**
 * The spec's template failed: raise the memory limit after OOMKilled (while below maxMemory),
 * otherwise serve the last healthy revision again; `held` says why neither was done.
 */
function remedyFailedRollout(draft: Draft, input: DecisionInput, verdict: FailedVerdict): void {
  const { cr, specRevision } = input;
  const { remediation } = cr.spec;
  draft.failedRevision = specRevision;
  const blocked = gate(cr, draft.state, draft.history, input.now.getTime());
  const memory = input.effectiveMemoryLimit;
  const lastHealthy = draft.lastHealthyRevision;
  const canBump =
    verdict.reason === 'OOMKilled' &&
    remediation.oomMemoryBump.enabled &&
    memory !== undefined &&
    compareQuantities(memory, remediation.oomMemoryBump.maxMemory) === -1;
  const canRollBack =
    remediation.rollback.enabled &&
    lastHealthy !== undefined &&
    lastHealthy !== specRevision &&
    input.knownRevisions.has(lastHealthy);
  if ((canBump || canRollBack) && blocked) {
    draft.held = blocked;
  } else if (canBump && memory !== undefined) {
    bumpMemory(draft, input, verdict, memory);
  } else if (canRollBack && lastHealthy) {
    rollBack(draft, input, verdict, lastHealthy);
  } else {
    draft.held = !remediation.rollback.enabled
      ? 'rollback is switched off'
      : lastHealthy === undefined || lastHealthy === specRevision
        ? 'no earlier healthy revision to roll back to'
        : `revision ${lastHealthy} is no longer recorded`;
  }
}

function bumpMemory(
  draft: Draft,
  input: DecisionInput,
  verdict: FailedVerdict,
  memory: string,
): void {
  const { factor, maxMemory } = input.cr.spec.remediation.oomMemoryBump;
  const specMemory = input.cr.spec.resources.limits?.memory;
  const to = scaleMemoryLimit(memory, factor, maxMemory);
  draft.state = {
    ...draft.state,
    memoryBump: {
      memoryLimit: to,
      specMemoryLimit: String(specMemory ?? ''),
      since: input.now.toISOString(),
    },
  };
  record(draft, input, {
    action: 'MemoryBump',
    reason: 'OOMKilled',
    from: memory,
    to,
    message: `${verdict.message}; memory limit ${memory} → ${to} (factor ${factor}, max ${maxMemory})`,
  });
}

function rollBack(
  draft: Draft,
  input: DecisionInput,
  verdict: FailedVerdict,
  lastHealthy: string,
): void {
  const { cr, specRevision } = input;
  draft.state = {
    ...draft.state,
    rollback: {
      toRevision: lastHealthy,
      fromRevision: specRevision,
      specGeneration: cr.metadata.generation ?? 0,
      since: input.now.toISOString(),
    },
  };
  record(draft, input, {
    action: 'Rollback',
    reason: verdict.reason,
    from: specRevision,
    to: lastHealthy,
    message: `${verdict.message}; serving revision ${lastHealthy} again (spec unchanged; fix the spec to retry)`,
  });
}

function scaleUpWhenSaturated(draft: Draft, input: DecisionInput, load: LoadJudgement): void {
  const { cr, effectiveReplicas } = input;
  const wanted = scaleUpWanted(
    cr,
    load,
    effectiveReplicas,
    input.now.getTime(),
    draft.state,
    draft.history,
  );
  if (wanted.held) draft.held = wanted.held;
  if (wanted.to !== undefined && !draft.state.scaleUp) {
    draft.state = {
      ...draft.state,
      scaleUp: { replicas: wanted.to, since: input.now.toISOString() },
    };
    record(draft, input, {
      action: 'ScaleUp',
      reason: 'Saturated',
      from: String(effectiveReplicas),
      to: String(wanted.to),
      message: `${load.message}; replicas ${effectiveReplicas} → ${wanted.to} until calm for ${cr.spec.remediation.cooldownSeconds} s`,
    });
  }
}

/** Evicts the pod the load judgement singled out, unless a restart is already under way. */
function restartProblemPod(draft: Draft, input: DecisionInput): void {
  const { cr } = input;
  const problem = input.load?.problemPod;
  if (
    !problem ||
    // Only a pod still there and not terminating: the judgement may be a round old, and a
    // pod being evicted must not be decided again.
    !input.livePods.has(problem.uid) ||
    draft.state.podRestart ||
    !cr.spec.remediation.podRestart.enabled
  ) {
    return;
  }
  const blocked = gate(cr, draft.state, draft.history, input.now.getTime());
  if (blocked) {
    draft.held = `restart of pod ${problem.pod} (${problem.reason}): ${blocked}`;
    return;
  }
  draft.state = {
    ...draft.state,
    podRestart: { pod: problem.pod, uid: problem.uid, since: input.now.toISOString() },
  };
  record(draft, input, {
    action: 'PodRestart',
    reason: problem.reason,
    from: problem.pod,
    message: `${problem.message}; evicting it (its siblings keep serving, the PodDisruptionBudget holds)`,
  });
}

/** The Degraded condition remediation's state (or the failed verdict) calls for, if any. */
function remediationConditions(
  draft: Draft,
  verdict: Verdict,
  cooldownSeconds: number,
): ConditionUpdate[] {
  const { state, held } = draft;
  const degraded = (reason: string, message: string): ConditionUpdate[] => [
    { type: ConditionType.Degraded, status: 'True', reason, message },
  ];
  if (state.rollback) {
    return degraded(
      Reason.RolledBack,
      `revision ${state.rollback.fromRevision} failed; serving revision ${state.rollback.toRevision} since ${state.rollback.since}; the spec is unchanged: fix it to roll out again`,
    );
  }
  if (verdict.kind === 'failed') {
    return degraded(
      verdict.reason === 'ProgressDeadlineExceeded'
        ? Reason.ProgressDeadlineExceeded
        : Reason.RolloutFailed,
      `${verdict.message}${held ? `; no action: ${held}` : ''}`,
    );
  }
  if (state.memoryBump) {
    return degraded(
      Reason.MemoryBumped,
      `memory limit ${state.memoryBump.memoryLimit} instead of the spec's ${state.memoryBump.specMemoryLimit || 'none'} after OOMKilled; raise spec.resources.limits.memory to keep it`,
    );
  }
  if (state.scaleUp) {
    return degraded(
      Reason.ScaledUp,
      `emergency scale-up to ${state.scaleUp.replicas} replicas since ${state.scaleUp.since} (the pods were saturated); back to the spec after ${cooldownSeconds} s of calm`,
    );
  }
  return [];
}

/** The decision as status records it: fields that say nothing are left out. */
function finished(draft: Draft, conditions: ConditionUpdate[]): Decision {
  const { state, history, lastHealthyRevision, failedRevision, action, held } = draft;
  const cleaned = Object.fromEntries(
    Object.entries(state).filter(([, v]) => v !== undefined),
  ) as RemediationState;
  return {
    status: {
      remediation: Object.keys(cleaned).length > 0 ? cleaned : undefined,
      history: history.length > 0 ? history : undefined,
      lastHealthyRevision,
      failedRevision,
    },
    ...(action ? { action } : {}),
    ...(held ? { held } : {}),
    conditions,
  };
}
