/**
 * status, history, pause and resume: read the cluster (cluster.ts), build a view
 * (views.ts), print it (format.ts) — or flip spec.paused.
 */
import { stringify } from 'yaml';
import type { OutputFormat } from './args.js';
import {
  getSummarizerService,
  type LiveSummarizerService,
  listRevisions,
  listRevisionsIfAllowed,
  patchSpec,
  servedRevision,
} from './cluster.js';
import type { Session } from './connect.js';
import { formatHistory, formatStatus } from './format.js';
import { formatRecommendation, recommendationPatch } from './recommend.js';
import { buildTopView, formatTop } from './top.js';
import { buildHistoryView, buildStatusView } from './views.js';

/** Where a command writes, and its clock. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
}

export async function readLive(
  session: Session,
  name: string,
  io: Io,
): Promise<LiveSummarizerService> {
  const live = await getSummarizerService(session, name);
  if (live.warning) io.err(`warning: ${live.warning}\n`);
  return live;
}

function print(io: Io, value: unknown, output: OutputFormat): void {
  io.out(output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value));
}

export async function statusCommand(
  session: Session,
  name: string,
  output: OutputFormat | undefined,
  io: Io,
): Promise<number> {
  const live = await readLive(session, name, io);
  const [{ revisions, warning }, served] = await Promise.all([
    listRevisionsIfAllowed(session, live.object),
    servedRevision(session, live.object),
  ]);
  if (warning) io.err(`warning: ${warning}\n`);
  const view = buildStatusView(live.object, revisions, served);
  if (output) print(io, view, output);
  else io.out(formatStatus(view, io.now()));
  return 0;
}

export async function historyCommand(
  session: Session,
  name: string,
  output: OutputFormat | undefined,
  io: Io,
): Promise<number> {
  const live = await readLive(session, name, io);
  const [revisions, served] = await Promise.all([
    listRevisions(session, live.object),
    servedRevision(session, live.object),
  ]);
  const view = buildHistoryView(live.object, revisions, served);
  if (output) print(io, view, output);
  else io.out(formatHistory(view, io.now()));
  return 0;
}

export async function topCommand(
  session: Session,
  name: string,
  output: OutputFormat | undefined,
  io: Io,
): Promise<number> {
  const view = buildTopView((await readLive(session, name, io)).object);
  if (output) print(io, view.load ?? {}, output);
  else io.out(formatTop(view, io.now()));
  return 0;
}

export async function recommendCommand(
  session: Session,
  name: string,
  output: OutputFormat | undefined,
  io: Io,
): Promise<number> {
  const live = await readLive(session, name, io);
  const patch = recommendationPatch(live.object);
  if (output) print(io, patch, output);
  else io.out(formatRecommendation(live.object, patch));
  return 0;
}

/**
 * pause / resume: a merge patch of spec.paused alone, for the same reason rollback uses one
 * (see rollback.ts): a one-off imperative edit, like `kubectl scale`, that must not make
 * llmplanctl a lasting co-owner of the spec.
 */
export async function setPaused(
  session: Session,
  name: string,
  paused: boolean,
  io: Io,
): Promise<number> {
  const live = await readLive(session, name, io);
  const ref = `summarizerservice ${name} (namespace ${session.namespace})`;
  if ((live.object.spec.paused === true) === paused) {
    io.out(`${ref} is already ${paused ? 'paused' : 'running (not paused)'}; nothing to change\n`);
    return 0;
  }
  await patchSpec(session, live, { paused });
  io.out(
    paused
      ? `${ref} paused: the operator changes nothing and takes no remediation action until resumed; status is still reported\n`
      : `${ref} resumed: the operator reconciles and remediates again\n`,
  );
  io.out(
    `Note: if Argo CD (or Flux) syncs this resource from Git and Git sets spec.paused, the next sync puts Git's value back: change it in Git to make it stick.\n`,
  );
  return 0;
}
