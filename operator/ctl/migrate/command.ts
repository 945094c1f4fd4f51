/**
 * `llmplanctl migrate helm RELEASE`: a running Helm release of chart llmplan becomes a
 * SummarizerService, without downtime (issue 11). Reads (read.ts), decides
 * (plan.ts), prints (format.ts) and — without --dry-run — carries the plan
 * out (steps.ts).
 */
import { stringify } from 'yaml';
import { GROUP, PLURAL, summarizerServices } from '../../api/summarizerservice.js';
import { InvalidError } from '../../runtime/errors.js';
import type { KubeObject } from '../../runtime/resource.js';
import type { OutputFormat } from '../args.js';
import { findSummarizerService } from '../cluster.js';
import type { Io } from '../commands.js';
import type { Session } from '../connect.js';
import { CtlError, describeApiError } from '../errors.js';
import { formatPlan } from './format.js';
import { effectiveValues } from './helm-release.js';
import { MIGRATED_FROM_ANNOTATION, type Plan, planMigration, releaseObjectName } from './plan.js';
import { readObjects, readRelease } from './read.js';
import { MigrationSteps } from './steps.js';

export interface MigrateOptions {
  release: string;
  /** Name of the SummarizerService; default the release's object names. */
  name?: string;
  dryRun: boolean;
  timeoutMs: number;
  /** With --dry-run: print only the SummarizerService, in this format. */
  output?: OutputFormat;
}

/** An existing SummarizerService: the one an interrupted migration of this release created, or a problem. */
function existingProblem(existing: KubeObject | undefined, release: string): string | undefined {
  if (!existing) return undefined;
  const from = existing.metadata.annotations?.[MIGRATED_FROM_ANNOTATION];
  if (from === release) return undefined;
  return `SummarizerService ${existing.metadata.name} already exists${from ? ` (migrated from Helm release ${from})` : ''}: choose another --name, or delete it if it is not in use`;
}

/** Server-side dry run of the create: the API server's own checks (CEL rules, the schema). */
async function serverProblems(session: Session, plan: Plan): Promise<string[]> {
  try {
    await session.client.create(summarizerServices, plan.resource, { dryRun: true });
    return [];
  } catch (err) {
    if (err instanceof InvalidError) {
      return [
        `the API server refuses the SummarizerService the values map to: ${err.serverMessage || err.message}`,
      ];
    }
    // No CRD, no permission: said before anything is changed.
    throw describeApiError(
      err,
      {
        verb: 'create',
        resource: PLURAL,
        group: GROUP,
        namespace: session.namespace,
        name: plan.name,
      },
      session,
    );
  }
}

export async function migrateHelmCommand(
  session: Session,
  options: MigrateOptions,
  io: Io,
): Promise<number> {
  const { release, secrets } = await readRelease(session, options.release);
  const name = options.name ?? releaseObjectName(release.name, effectiveValues(release));
  const existing = await findSummarizerService(session, name);
  const base = { release, secrets, name, namespace: session.namespace };
  const draft = planMigration({ ...base, live: new Map() });
  const live = await readObjects(session, [...draft.adopt, ...draft.keep, ...draft.create]);
  const plan = planMigration({
    ...base,
    live,
    ...(existing?.metadata.uid && !existingProblem(existing, release.name)
      ? { resuming: existing.metadata.uid }
      : {}),
  });
  const conflict = existingProblem(existing, release.name);
  if (conflict) plan.problems.push(conflict);
  if (plan.problems.length === 0 && !existing)
    plan.problems.push(...(await serverProblems(session, plan)));

  const deadline = Date.now() + options.timeoutMs;
  const steps = new MigrationSteps({ session, plan, io, deadline });
  if (plan.problems.length > 0) {
    io.err(formatPlan(plan, { replicaSets: [], pods: [] }, options.dryRun));
    throw new CtlError(
      `Helm release ${release.name} cannot be migrated (${plan.problems.length} problem${plan.problems.length > 1 ? 's' : ''} above); nothing was changed`,
    );
  }
  if (options.output) {
    io.out(
      options.output === 'json'
        ? `${JSON.stringify(plan.resource, null, 2)}\n`
        : stringify(plan.resource),
    );
    return 0;
  }
  io.out(formatPlan(plan, await steps.observe(), options.dryRun));
  if (options.dryRun) return 0;
  if (existing)
    io.out(
      `Resuming the migration into SummarizerService ${name}, created ${existing.metadata.creationTimestamp ?? ''}\n`,
    );
  io.out('\n');
  const start = Date.now();
  await steps.run(existing);
  io.out(
    `\nHelm release ${release.name} is now SummarizerService ${name} (${((Date.now() - start) / 1000).toFixed(1)} s). Keep it in Git: llmplanctl export ${name} -n ${session.namespace} > ${name}.yaml\n`,
  );
  return 0;
}
