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

export function decide(input: DecisionInput): Decision {
  const { cr, verdict, specRevision, now } = input;
  const nowMs = now.getTime();
  const time = now.toISOString();
  const { remediation } = cr.spec;
  let { state, history, lastHealthyRevision, failedRevision } = recorded(cr);
  const conditions: ConditionUpdate[] = [];
  let action: ActionTaken | undefined;
  let held: string | undefined;

  // Switched off: serve the spec as written, remember nothing in effect.
  if (!remediation.enabled) {
    state = {};
  }

  // 1. Forget what no longer applies.
  // A rollback lasts while the spec still asks for the template that failed.
  if (state.rollback && state.rollback.fromRevision !== specRevision) {
    state = { ...state, rollback: undefined };
  }
  if (failedRevision && failedRevision !== specRevision && !state.rollback) {
    failedRevision = undefined;
  }
  // A memory bump lasts until the user changes the memory limit themselves.
  const specMemory = cr.spec.resources.limits?.memory;
  if (state.memoryBump && state.memoryBump.specMemoryLimit !== String(specMemory ?? '')) {
    state = { ...state, memoryBump: undefined };
  }

  const record = (taken: ActionTaken, revision: string | undefined) => {
    action = taken;
    state = { ...state, lastActionTime: time };
    const entry: HistoryEntry = {
      time,
      action: taken.action,
      reason: taken.reason,
      ...(taken.from !== undefined ? { from: taken.from } : {}),
      ...(taken.to !== undefined ? { to: taken.to } : {}),
      ...(revision ? { revision } : {}),
      message: taken.message.slice(0, 1024),
    };
    history = [...history, entry].slice(-HISTORY_MAX_ITEMS);
  };

  // 2. What the verdict says about the revision being served. Right after a spec change the
  // Deployment still serves the previous template: the verdict is about that one.
  const served = input.servedRevision;
  const servingSpec = !state.rollback && served === specRevision;
  if (verdict.kind === 'healthy' && served !== undefined) {
    lastHealthyRevision = served;
    if (failedRevision === served) failedRevision = undefined;
  }

  // A decided restart lasts until its pod is gone (or the PDB refused it for too long).
  const pending = state.podRestart;
  if (
    pending &&
    (!input.livePods.has(pending.uid) ||
      nowMs - parseKubeTime(pending.since) > POD_RESTART_GIVE_UP_MS)
  ) {
    state = { ...state, podRestart: undefined };
  }

  // 3. The scale-up ends after cooldownSeconds of calm: the rollout healthy and the load
  // (when it can be read) fitting the spec's replicas again. Going back is always allowed.
  const scaleUp = state.scaleUp;
  const load = input.load;
  if (scaleUp) {
    if (verdict.kind === 'healthy' && (load?.calm ?? true)) {
      const healthySince = scaleUp.healthySince ?? time;
      state = { ...state, scaleUp: { ...scaleUp, healthySince } };
      if (
        nowMs - parseKubeTime(healthySince) >= remediation.cooldownSeconds * 1000 ||
        !remediation.scaleUp.enabled
      ) {
        const from = String(scaleUp.replicas);
        state = { ...state, scaleUp: undefined };
        record(
          {
            action: 'ScaleUpReverted',
            reason: 'Calm',
            from,
            to: 'spec',
            message: `calm for ${remediation.cooldownSeconds} s (${load ? load.message : 'load not read'}): back to the replicas of the spec`,
          },
          specRevision,
        );
      }
    } else if (scaleUp.healthySince) {
      state = { ...state, scaleUp: { ...scaleUp, healthySince: undefined } };
    }
  }

  // 4. New actions.
  const mayAct = remediation.enabled && !cr.spec.paused;
  if (mayAct && verdict.kind === 'failed' && servingSpec && !action) {
    failedRevision = specRevision;
    const blocked = gate(cr, state, history, nowMs);
    const memory = input.effectiveMemoryLimit;
    const canBump =
      verdict.reason === 'OOMKilled' &&
      remediation.oomMemoryBump.enabled &&
      memory !== undefined &&
      compareQuantities(memory, remediation.oomMemoryBump.maxMemory) === -1;
    const canRollBack =
      remediation.rollback.enabled &&
      lastHealthyRevision !== undefined &&
      lastHealthyRevision !== specRevision &&
      input.knownRevisions.has(lastHealthyRevision);
    if ((canBump || canRollBack) && blocked) {
      held = blocked;
    } else if (canBump && memory !== undefined) {
      const to = scaleMemoryLimit(
        memory,
        remediation.oomMemoryBump.factor,
        remediation.oomMemoryBump.maxMemory,
      );
      state = {
        ...state,
        memoryBump: { memoryLimit: to, specMemoryLimit: String(specMemory ?? ''), since: time },
      };
      record(
        {
          action: 'MemoryBump',
          reason: 'OOMKilled',
          from: memory,
          to,
          message: `${verdict.message}; memory limit ${memory} → ${to} (factor ${remediation.oomMemoryBump.factor}, max ${remediation.oomMemoryBump.maxMemory})`,
        },
        specRevision,
      );
    } else if (canRollBack && lastHealthyRevision) {
      state = {
        ...state,
        rollback: {
          toRevision: lastHealthyRevision,
          fromRevision: specRevision,
          specGeneration: cr.metadata.generation ?? 0,
          since: time,
        },
      };
      record(
        {
          action: 'Rollback',
          reason: verdict.reason,
          from: specRevision,
          to: lastHealthyRevision,
          message: `${verdict.message}; serving revision ${lastHealthyRevision} again (spec unchanged; fix the spec to retry)`,
        },
        specRevision,
      );
    } else {
      held = !remediation.rollback.enabled
        ? 'rollback is switched off'
        : lastHealthyRevision === undefined || lastHealthyRevision === specRevision
          ? 'no earlier healthy revision to roll back to'
          : `revision ${lastHealthyRevision} is no longer recorded`;
    }
  }

  if (mayAct && load && verdict.kind === 'healthy' && !action && remediation.scaleUp.enabled) {
    const wanted = scaleUpWanted(cr, load, input.effectiveReplicas, nowMs, state, history);
    if (wanted.held) held = wanted.held;
    if (wanted.to !== undefined && !state.scaleUp) {
      state = { ...state, scaleUp: { replicas: wanted.to, since: time } };
      record(
        {
          action: 'ScaleUp',
          reason: 'Saturated',
          from: String(input.effectiveReplicas),
          to: String(wanted.to),
          message: `${load.message}; replicas ${input.effectiveReplicas} → ${wanted.to} until calm for ${remediation.cooldownSeconds} s`,
        },
        specRevision,
      );
    }
  }

  // Not during a rollout of a new template (its pods are the rollout's business), but a
  // sibling that is merely not ready does not stop it: the PodDisruptionBudget does.
  const problem = load?.problemPod;
  const settled =
    verdict.kind === 'healthy' ||
    (verdict.kind === 'progressing' && servingSpec && lastHealthyRevision === served);
  if (
    mayAct &&
    problem &&
    // Only a pod still there and not terminating: the judgement may be a round old, and a
    // pod being evicted must not be decided again.
    input.livePods.has(problem.uid) &&
    settled &&
    !action &&
    !state.podRestart &&
    remediation.podRestart.enabled
  ) {
    const blocked = gate(cr, state, history, nowMs);
    if (blocked) {
      held = `restart of pod ${problem.pod} (${problem.reason}): ${blocked}`;
    } else {
      state = { ...state, podRestart: { pod: problem.pod, uid: problem.uid, since: time } };
      record(
        {
          action: 'PodRestart',
          reason: problem.reason,
          from: problem.pod,
          message: `${problem.message}; evicting it (its siblings keep serving, the PodDisruptionBudget holds)`,
        },
        specRevision,
      );
    }
  }

  // 5. What status says about it (over the computed conditions).
  const degraded = (reason: string, message: string): ConditionUpdate => ({
    type: ConditionType.Degraded,
    status: 'True',
    reason,
    message,
  });
  if (state.rollback) {
    conditions.push(
      degraded(
        Reason.RolledBack,
        `revision ${state.rollback.fromRevision} failed; serving revision ${state.rollback.toRevision} since ${state.rollback.since}; the spec is unchanged: fix it to roll out again`,
      ),
    );
  } else if (verdict.kind === 'failed') {
    conditions.push(
      degraded(
        verdict.reason === 'ProgressDeadlineExceeded'
          ? Reason.ProgressDeadlineExceeded
          : Reason.RolloutFailed,
        `${verdict.message}${held ? `; no action: ${held}` : ''}`,
      ),
    );
  } else if (state.memoryBump) {
    conditions.push(
      degraded(
        Reason.MemoryBumped,
        `memory limit ${state.memoryBump.memoryLimit} instead of the spec's ${state.memoryBump.specMemoryLimit || 'none'} after OOMKilled; raise spec.resources.limits.memory to keep it`,
      ),
    );
  } else if (state.scaleUp) {
    conditions.push(
      degraded(
        Reason.ScaledUp,
        `emergency scale-up to ${state.scaleUp.replicas} replicas since ${state.scaleUp.since} (the pods were saturated); back to the spec after ${remediation.cooldownSeconds} s of calm`,
      ),
    );
  }

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
