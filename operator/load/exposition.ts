/**
 * The Prometheus text exposition format (0.0.4), read — pure. Only the families asked for
 * are kept: a summarizer's /metrics is mostly Node.js process metrics the operator never
 * reads, and skipping a line by its name costs far less than parsing its labels.
 */

export interface Series {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** Family name → its series, for the names asked for. A sample's suffix (_bucket, _sum, _count) is part of its name. */
export type Exposition = ReadonlyMap<string, readonly Series[]>;

export class ExpositionError extends Error {
  override name = 'ExpositionError';
}

/**
 * Parses `text`, keeping the samples whose metric name is in `wanted`. Malformed sample
 * lines of wanted metrics throw (the answer is not Prometheus text: report it, never guess);
 * comments and unknown names are skipped.
 */
export function parseExposition(text: string, wanted: ReadonlySet<string>): Exposition {
  const out = new Map<string, Series[]>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0 || line.charCodeAt(0) === 35 /* # */) continue;
    const nameEnd = nameEndOf(line);
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    const { labels, rest } = parseLabels(line, nameEnd);
    const valueText = rest.trim().split(/\s+/, 1)[0] ?? '';
    const value = parseValue(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') {
      throw new ExpositionError(`not a sample value in: ${line.slice(0, 200)}`);
    }
    let list = out.get(name);
    if (!list) {
      list = [];
      out.set(name, list);
    }
    list.push({ labels, value });
  }
  return out;
}

function nameEndOf(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 123 /* { */ || c === 32 /* space */ || c === 9 /* tab */) return i;
  }
  return line.length;
}

function parseLabels(line: string, at: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  if (line.charCodeAt(at) !== 123) return { labels, rest: line.slice(at) };
  let i = at + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, rest: line.slice(i + 1) };
    const eq = line.indexOf('=', i);
    if (eq === -1 || line[eq + 1] !== '"') {
      throw new ExpositionError(`malformed labels in: ${line.slice(0, 200)}`);
    }
    const key = line.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < line.length; j++) {
      const ch = line[j];
      if (ch === '\\') {
        const next = line[j + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        j++;
      } else if (ch === '"') {
        break;
      } else {
        value += ch;
      }
    }
    if (j >= line.length) throw new ExpositionError(`unterminated label in: ${line.slice(0, 200)}`);
    labels[key] = value;
    i = j + 1;
  }
}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case '':
      return Number.NaN;
    default:
      return Number(text);
  }
}
