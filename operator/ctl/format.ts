/**
 * Text rendering of the views (views.ts) and of a rollback's changes: kubectl-style tables
 * (upper-case headers, columns three spaces apart, `<none>` for nothing) and kubectl's
 * human durations ("5m", "3h20m", "2d4h"). Pure: `now` is a parameter.
 */
import type { HistoryEntry } from '../api/status.js';
import type { SpecChange } from './spec-diff.js';
import type { HistoryView, RevisionRef, RevisionRow, StatusView } from './views.js';

const NONE = '<none>';

/** Columns padded to their widest cell, three spaces apart; no trailing blanks. */
export function renderTable(
  headers: readonly string[],
  rows: readonly string[][],
  indent = '',
): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `${indent}${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('   ')}`.trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const days = Math.floor(hours / 24);
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${years}y`;
}

/** Age of an RFC 3339 time at `now`; `<none>` when unknown or unparsable. */
export function age(time: string | undefined, now: Date): string {
  if (!time) return NONE;
  const at = Date.parse(time);
  return Number.isNaN(at) ? NONE : humanDuration(now.getTime() - at);
}

/**
 * "3 (a1b2c3d4e5)"; the hash alone when its ControllerRevision is gone (pruned) or, with
 * `listed` false, when the revisions could not be read.
 */
export function formatRevision(ref: RevisionRef | undefined, listed = true): string {
  if (!ref) return NONE;
  if (ref.number !== undefined) return `${ref.number} (${ref.hash})`;
  return listed ? `${ref.hash} (pruned)` : ref.hash;
}

function since(time: string, now: Date): string {
  return `since ${time} (${age(time, now)} ago)`;
}

function formatReplicas(replicas: StatusView['replicas']): string {
  const wanted = replicas.autoscaling
    ? `autoscaling ${replicas.autoscaling.minReplicas}-${replicas.autoscaling.maxReplicas}`
    : `${replicas.desired ?? '?'} desired`;
  const current =
    replicas.current !== undefined ? `${replicas.current} current` : 'current unknown';
  const ready = replicas.ready !== undefined ? `${replicas.ready} ready` : 'ready unknown';
  return `${wanted}, ${current}, ${ready}`;
}

export function formatStatus(view: StatusView, now: Date): string {
  const { image, revisions, remediation } = view;
  const serving =
    image.servedTag && image.servedTag !== image.tag ? ` (serving ${image.servedTag})` : '';
  const fields: [string, string][] = [
    ['Name', view.name],
    ['Namespace', view.namespace],
    ['Status', view.state ?? NONE],
    ['Image tag', `${image.tag ?? "<operator's default>"}${serving}`],
    ['Image repository', image.repository ?? "<operator's default>"],
    ['Replicas', formatReplicas(view.replicas)],
    ['Paused', view.paused ? 'yes (the operator changes nothing)' : 'no'],
    ['Endpoint', view.endpoint ?? NONE],
    ['Generation', `${view.generation ?? '?'} (observed ${view.observedGeneration ?? 'not yet'})`],
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  const header = fields.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);

  const revisionRows: [string, RevisionRef | undefined][] = [
    ['current', revisions.current],
    ['last healthy', revisions.lastHealthy],
    ['failed', revisions.failed],
    ['served', revisions.served],
  ];
  const revisionTable = renderTable(
    ['ROLE', 'REVISION', 'IMAGE'],
    revisionRows.map(([label, ref]) => [
      label,
      formatRevision(ref, view.revisionsListed),
      ref?.image ?? NONE,
    ]),
    '  ',
  );

  const actions: string[] = [];
  if (remediation.rollback) {
    const { to, from } = remediation.rollback;
    actions.push(
      `  rollback      serving revision ${formatRevision(to, view.revisionsListed)} instead of failed revision ${formatRevision(from, view.revisionsListed)}, ${since(remediation.rollback.since, now)}`,
    );
  }
  if (remediation.memoryBump) {
    const bump = remediation.memoryBump;
    actions.push(
      `  memory bump   memory limit ${bump.memoryLimit} (spec ${bump.specMemoryLimit}), ${since(bump.since, now)}`,
    );
  }
  if (remediation.scaleUp) {
    const scale = remediation.scaleUp;
    const healthy = scale.healthySince
      ? `; healthy ${since(scale.healthySince, now)}`
      : '; not healthy yet';
    actions.push(
      `  scale-up      ${scale.replicas} replicas, ${since(scale.since, now)}${healthy}`,
    );
  }

  const conditions =
    view.conditions.length === 0
      ? `  ${NONE}`
      : renderTable(
          ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
          view.conditions.map((c) => [
            c.type,
            c.status,
            c.reason,
            age(c.lastTransitionTime, now),
            oneLine(c.message),
          ]),
          '  ',
        );

  return [
    ...header,
    '',
    'Revisions:',
    revisionTable,
    '',
    'Remediation in effect:',
    ...(actions.length > 0 ? actions : [`  ${NONE}`]),
    '',
    'Conditions:',
    conditions,
    '',
  ].join('\n');
}

function health(row: RevisionRow): string {
  return row.healthReason ? `${row.health} (${row.healthReason})` : row.health;
}

export function formatHistory(view: HistoryView, now: Date): string {
  const byHash = new Map(view.revisions.map((r) => [r.hash, r]));
  const revisionOf = (value: string | undefined): string => {
    if (!value) return NONE;
    const row = byHash.get(value);
    return row ? `${row.number} (${value})` : value;
  };
  const revisions =
    view.revisions.length === 0
      ? `${NONE} (the operator records a revision per pod template it deploys)`
      : renderTable(
          ['REVISION', 'HASH', 'CREATED', 'AGE', 'IMAGE', 'HEALTH', 'ROLE'],
          view.revisions.map((r) => [
            String(r.number),
            r.hash,
            r.createdAt ? secondsOnly(r.createdAt) : NONE,
            age(r.createdAt, now),
            r.image ?? NONE,
            health(r),
            r.marks.length > 0 ? r.marks.join(', ') : '',
          ]),
        );
  const actions =
    view.actions.length === 0
      ? NONE
      : renderTable(
          ['TIME', 'AGE', 'ACTION', 'REASON', 'FROM', 'TO', 'REVISION', 'MESSAGE'],
          view.actions.map((a: HistoryEntry) => [
            a.time,
            age(a.time, now),
            a.action,
            a.reason || NONE,
            revisionOf(a.from),
            revisionOf(a.to),
            revisionOf(a.revision),
            oneLine(a.message ?? ''),
          ]),
        );
  return `${revisions}\n\nRemediation actions (oldest first):\n${actions}\n`;
}

function show(value: unknown): string {
  if (value === undefined) return '<unset>';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `spec.image.tag: v2 → v1`, one line per changed field. */
export function formatChanges(changes: readonly SpecChange[], indent = '  '): string {
  return changes.map((c) => `${indent}${c.path}: ${show(c.from)} → ${show(c.to)}`).join('\n');
}

/** RFC 3339 without fractional seconds, as kubectl shows times. */
export function secondsOnly(time: string): string {
  return time.replace(/\.\d+(Z|[+-]\d\d:\d\d)$/, '$1');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
