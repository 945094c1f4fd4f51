/**
 * Which revision `llmplanctl rollback` writes back. Pure: revisions and status in, a choice
 * (or the reason there is none) out.
 *
 * With --to-revision: that revision, by number or hash. Without: the last healthy revision
 * when it is not the current one (after a failed rollout, the one the operator serves
 * again); else the newest revision older than the current one that was not judged failed —
 * `helm rollback`'s "previous release".
 */
import type { Revision } from '../remediation/revisions.js';
import type { RevisionSelector } from './args.js';

export interface RollbackStatus {
  currentRevision?: string;
  lastHealthyRevision?: string;
}

export type RollbackChoice =
  | {
      ok: true;
      revision: Revision;
      /** Why this one, for the output: "last healthy revision", "previous revision", … */
      why: string;
      /** Something the user should know (e.g. the revision was judged failed). */
      warning?: string;
    }
  | { ok: false; message: string };

export function chooseRollbackTarget(
  name: string,
  revisions: readonly Revision[],
  status: RollbackStatus,
  requested?: RevisionSelector,
): RollbackChoice {
  const sorted = [...revisions].sort((a, b) => a.number - b.number);
  if (requested) return requestedRevision(name, sorted, requested);
  if (sorted.length === 0) {
    return {
      ok: false,
      message: `summarizerservice ${name} has no revisions yet (the operator records one per pod template it deploys)`,
    };
  }
  const current =
    sorted.find((r) => r.hash === status.currentRevision) ?? sorted[sorted.length - 1]!;
  const lastHealthy = sorted.find((r) => r.hash === status.lastHealthyRevision);
  if (lastHealthy && lastHealthy.hash !== current.hash) {
    return { ok: true, revision: lastHealthy, why: 'the last healthy revision' };
  }
  const previous = sorted.filter((r) => r.number < current.number && r.health !== 'failed').pop();
  if (previous) return { ok: true, revision: previous, why: 'the previous revision' };
  return {
    ok: false,
    message: `summarizerservice ${name} has no revision to roll back to: revision ${current.number} is the current one and no earlier revision is usable (known: ${known(sorted)}); pass --to-revision`,
  };
}

function requestedRevision(
  name: string,
  sorted: readonly Revision[],
  requested: RevisionSelector,
): RollbackChoice {
  // A hash of digits only reads as a number: try it as a hash too.
  const revision =
    'number' in requested
      ? (sorted.find((r) => r.number === requested.number) ??
        sorted.find((r) => r.hash === String(requested.number)))
      : sorted.find((r) => r.hash === requested.hash);
  const label = 'number' in requested ? String(requested.number) : requested.hash;
  if (!revision) {
    return {
      ok: false,
      message:
        sorted.length > 0
          ? `revision ${label} not found; known: ${known(sorted)}`
          : `revision ${label} not found; summarizerservice ${name} has no revisions yet`,
    };
  }
  return {
    ok: true,
    revision,
    why: 'the requested revision',
    ...(revision.health === 'failed'
      ? {
          warning: `revision ${revision.number} was judged failed${revision.healthReason ? ` (${revision.healthReason})` : ''}; rolling back to it anyway`,
        }
      : {}),
  };
}

function known(sorted: readonly Revision[]): string {
  return sorted.map((r) => r.number).join(', ');
}
