/**
 * `llmplanctl rollback NAME [--to-revision N] [--dry-run]`: writes a revision's recorded
 * spec (ControllerRevision data.spec) back into the SummarizerService — `helm rollback`
 * for kubectl users. The operator then rolls the Deployment out as for any spec change.
 *
 * Why a JSON merge patch (guarded by resourceVersion), not server-side apply:
 * the spec is usually owned by someone else — `kubectl apply` (client- or server-side) or
 * Argo CD — and a rollback is a one-off imperative edit like `kubectl edit` or
 * `kubectl rollout undo`, not a declaration llmplanctl keeps making.
 * - A forced apply of the whole spec would make `llmplanctl` a co-owner of *every* spec
 *   field for good: when the user later deletes a field from their manifest, server-side
 *   apply would keep it (llmplanctl still owns it), and each of their next applies would
 *   fight over fields llmplanctl never meant to hold.
 * - Apply cannot remove what another manager owns: a map key or field that the current
 *   spec has and the revision has not (a pod annotation, an env list entry, an optional
 *   setting) would survive the "rollback".
 * - The merge patch holds exactly the fields that differ (null for removed ones), so Argo CD's
 *   diff shows precisely the rollback, and only those fields change owner (to `llmplanctl`,
 *   an Update entry in managedFields). Its metadata.resourceVersion makes it fail (409)
 *   instead of overwriting an edit made since we read the object.
 * spec.paused is not part of a release and is kept as it is.
 */
import { dropNulls } from '../api/summarizerservice.js';
import type { RevisionSelector } from './args.js';
import { listRevisions, patchSpec } from './cluster.js';
import { type Io, readLive } from './commands.js';
import type { Session } from './connect.js';
import { CtlError } from './errors.js';
import { formatChanges } from './format.js';
import { chooseRollbackTarget } from './rollback-target.js';
import { mergePatch, specChanges } from './spec-diff.js';

export interface RollbackOptions {
  toRevision?: RevisionSelector;
  dryRun: boolean;
}

/** The spec a rollback writes: the revision's, with the live spec.paused. */
export function rollbackSpec(
  revisionSpec: Record<string, unknown>,
  liveSpec: Record<string, unknown>,
): Record<string, unknown> {
  const spec = { ...revisionSpec };
  if (liveSpec.paused === undefined) delete spec.paused;
  else spec.paused = liveSpec.paused;
  return spec;
}

/**
 * The image lines of a rollback's output ("image tag: v3 → v1"), from the live spec and the
 * spec written; an unset tag or repository is the operator's default.
 */
export function imageSummary(
  liveSpec: Record<string, unknown>,
  targetSpec: Record<string, unknown>,
): string[] {
  const field = (spec: Record<string, unknown>, key: 'tag' | 'repository'): string => {
    const image = spec.image;
    const value =
      image !== null && typeof image === 'object'
        ? (image as Record<string, unknown>)[key]
        : undefined;
    return typeof value === 'string' ? value : "<operator's default>";
  };
  const lines: string[] = [];
  for (const key of ['repository', 'tag'] as const) {
    const from = field(liveSpec, key);
    const to = field(targetSpec, key);
    if (from !== to) lines.push(`image ${key}: ${from} → ${to}`);
  }
  return lines;
}

export async function rollbackCommand(
  session: Session,
  name: string,
  options: RollbackOptions,
  io: Io,
): Promise<number> {
  const live = await readLive(session, name, io);
  const revisions = await listRevisions(session, live.object);
  const status = live.object.status ?? {};
  const choice = chooseRollbackTarget(name, revisions, status, options.toRevision);
  if (!choice.ok) throw new CtlError(choice.message);
  const target = choice.revision;
  if (choice.warning) io.err(`warning: ${choice.warning}\n`);

  // Null and absent mean the same to the API server; compare without them.
  const liveSpec = dropNulls(live.raw.spec ?? {}) as Record<string, unknown>;
  const revisionSpec = dropNulls(target.data.spec) as Record<string, unknown>;
  const desired = rollbackSpec(revisionSpec, liveSpec);
  const changes = specChanges(liveSpec, desired);
  const ref = `summarizerservice ${name} (namespace ${session.namespace})`;
  const targetLabel = `revision ${target.number} (${target.hash}), ${choice.why}`;
  if (changes.length === 0) {
    io.out(`${ref} already has the spec of ${targetLabel}; nothing to change\n`);
    return 0;
  }
  const summary = imageSummary(liveSpec, desired).map((line) => `  ${line}\n`);
  const details = `${summary.join('')}Changes:\n${formatChanges(changes, '  ')}\n`;

  if (options.dryRun) {
    io.out(`${ref} would be rolled back to ${targetLabel} (dry run, nothing written)\n${details}`);
    return 0;
  }
  const patch = mergePatch(liveSpec, desired);
  if (!patch) throw new Error('a spec with changes produced an empty merge patch'); // a bug
  await patchSpec(session, live, patch);
  io.out(
    `${ref} rolled back to ${targetLabel}\n${details}` +
      'The operator rolls the Deployment out to this spec as for any spec change.\n' +
      'Note: GitOps users (Argo CD, Flux) must revert the change in Git instead: Argo CD puts the Git spec back on its next sync — undoing this rollback — unless auto-sync is off.\n',
  );
  return 0;
}
