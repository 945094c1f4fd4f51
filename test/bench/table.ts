/** The benchmarks' table printer. */
import type { Row } from './operator-context.js';

/** Prints rows transposed: one line per measure, one column per case. */
export function printTable(title: string, rows: Row[]): void {
  const first = rows[0];
  if (!first) return;
  const keys = Object.keys(first);
  const lines = keys.map((key) => [key, ...rows.map((r) => String(r[key] ?? ''))]);
  const widths = (lines[0] ?? []).map((_, col) =>
    Math.max(...lines.map((l) => (l[col] ?? '').length)),
  );
  const format = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(`\n${title}`);
  const [header, ...body] = lines;
  console.log(format(header ?? []));
  console.log(`|${widths.map((w, i) => `${'-'.repeat(w + 1)}${i === 0 ? '-' : ':'}`).join('|')}|`);
  for (const line of body) console.log(format(line));
}
