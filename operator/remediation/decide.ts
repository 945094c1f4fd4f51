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
import { parseKubeTime } from '../runtime/index.js';
import type { Verdict } from './assess.js';

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

  // 3. The scale-up ends after cooldownSeconds of health (back to the spec, always allowed).
  const scaleUp = state.scaleUp;
  if (scaleUp) {
    if (verdict.kind === 'healthy') {
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
            reason: 'Healthy',
            from,
            to: 'spec',
            message: `healthy for ${remediation.cooldownSeconds} s: back to the replicas of the spec`,
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

  if (
    mayAct &&
    verdict.kind === 'overloaded' &&
    !state.scaleUp &&
    !action &&
    remediation.scaleUp.enabled
  ) {
    const waited = nowMs - verdict.notReadySince;
    const autoscaling = cr.spec.autoscaling;
    const target = autoscaling.enabled
      ? Math.min(remediation.scaleUp.replicas, autoscaling.maxReplicas)
      : remediation.scaleUp.replicas;
    if (waited < remediation.scaleUp.afterSeconds * 1000) {
      held = `not keeping up for ${Math.floor(waited / 1000)} s of ${remediation.scaleUp.afterSeconds} s`;
    } else if (target <= input.effectiveReplicas) {
      held = `already at ${input.effectiveReplicas} replicas (scale-up target ${target})`;
    } else {
      const blocked = gate(cr, state, history, nowMs);
      if (blocked) {
        held = blocked;
      } else {
        state = { ...state, scaleUp: { replicas: target, since: time } };
        record(
          {
            action: 'ScaleUp',
            reason: 'NotKeepingUp',
            from: String(input.effectiveReplicas),
            to: String(target),
            message: `${verdict.message}; replicas ${input.effectiveReplicas} → ${target} until healthy for ${remediation.cooldownSeconds} s`,
          },
          specRevision,
        );
      }
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
        `emergency scale-up to ${state.scaleUp.replicas} replicas since ${state.scaleUp.since}; back to the spec after ${remediation.cooldownSeconds} s of health`,
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
