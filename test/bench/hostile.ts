/**
 * `npm run bench:hostile`: the service's peak memory under hostile request bodies (issue 21).
 * For each body, a fresh service process (service/main.ts, default limits: 4 LM Studio slots,
 * 64 queued) in front of a fake LM Studio that answers after 3 s gets 68 such requests at
 * once, each on its own connection: 4 run, 64 wait, and whatever the service keeps of a body
 * is kept through the wait. The figure is the process's peak resident memory (VmHWM from
 * /proc), its idle RSS before the burst, the answers and the time the burst took. Prints a
 * table and writes bench-results/hostile.json.
 *
 * Bodies: the measured attack (1 MB, an ignored array nested 500,000 deep), sent with and
 * without Content-Length; the same nesting cut to fit the body limit; a flat 1 MB array;
 * ignored flat arrays and arrays of objects filling the body to the limit (valid requests);
 * the longest valid text with every character escaped (600,000 bytes, valid); and a small
 * valid request for reference.
 *
 * Flags: --baseline REF also runs every body against the service at git REF (e.g. the
 * commit before issue 21) for comparison. Env: BENCH_HOSTILE_LATENCY_MS (3000),
 * BENCH_HOSTILE_CONCURRENCY (68). Target: peak RSS <= 300 MiB for every body.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ENV, SERVICE_ENV } from '../../contract/env.js';
import { BODY_LIMIT_BYTES } from '../../service/api.js';
import { freePort } from '../support/llm-server.js';
import { killAll, ROOT, serviceAtRef, start, stop, waitFor } from './service-processes.js';

const { values: flags } = parseArgs({ options: { baseline: { type: 'string' } } });
const LATENCY_MS = Number(process.env.BENCH_HOSTILE_LATENCY_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_HOSTILE_CONCURRENCY ?? 68);
const TARGET_MIB = 300;
const MIB = 1024 * 1024;

const TEXT = JSON.stringify(
  'The committee reviewed the annual budget and approved the new transit plan for the city.',
);

interface Body {
  name: string;
  body: Buffer;
  /** Sent without Content-Length (chunked), so the service cannot refuse it before reading. */
  chunked?: boolean;
}

function nestedBody(totalBytes: number): Buffer {
  const head = `{"text": ${TEXT}, "extra": `;
  const levels = Math.floor((totalBytes - head.length - 1) / 2);
  return Buffer.from(`${head}${'['.repeat(levels)}${']'.repeat(levels)}}`);
}

/** `{"text": …, "extra": [item,item,…]}` of `totalBytes` at most. */
function arrayBody(totalBytes: number, item: string): Buffer {
  const head = `{"text": ${TEXT}, "extra": [${item}`;
  const count = Math.floor((totalBytes - head.length - 2) / (item.length + 1));
  return Buffer.from(`${head}${`,${item}`.repeat(count)}]}`);
}

/** 50,000 characters outside the BMP, each escaped as \uXXXX\uXXXX as Python's json.dumps writes them. */
function escapedTextBody(): Buffer {
  const text = '\\ud83d\\ude00'.repeat(50_000);
  return Buffer.from(`{"text": "${text}", "language": "english", "max_tokens": 4000}`);
}

const BODIES: Body[] = [
  { name: 'nested 500k deep, 1 MB (the issue)', body: nestedBody(1_000_000) },
  { name: 'nested 500k deep, 1 MB, chunked', body: nestedBody(1_000_000), chunked: true },
  { name: 'nested 320k deep, at the limit', body: nestedBody(BODY_LIMIT_BYTES) },
  { name: 'flat array of numbers, 1 MB', body: arrayBody(1_000_000, '0') },
  { name: 'flat array of numbers, at the limit', body: arrayBody(BODY_LIMIT_BYTES, '0') },
  { name: 'array of objects, at the limit', body: arrayBody(BODY_LIMIT_BYTES, '{}') },
  { name: '50,000 escaped emoji (valid, 600 kB)', body: escapedTextBody() },
  { name: 'small valid request', body: Buffer.from(`{"text": ${TEXT}}`) },
];

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A Markdown table, one line per row (the rows here are cases, not measures). */
function printRows(title: string, rows: Array<Record<string, string | number>>): void {
  const keys = Object.keys(rows[0] ?? {});
  const cells = [keys, ...rows.map((row) => keys.map((key) => String(row[key] ?? '')))];
  const widths = keys.map((_, col) => Math.max(...cells.map((line) => (line[col] ?? '').length)));
  const format = (line: string[]) =>
    `| ${line.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(format(keys));
  console.log(`|${widths.map((w, i) => `${'-'.repeat(w + 1)}${i === 0 ? '-' : ':'}`).join('|')}|`);
  for (const line of cells.slice(1)) console.log(format(line));
}

function writeReport(file: string, report: unknown): void {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${join('bench-results', file)}`);
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return match ? (Number(match[1]) * 1024) / MIB : Number.NaN;
}

/** One request on its own connection; its status, or the error that ended it. */
function send(url: string, body: Body): Promise<string> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: string) => {
      if (!settled) resolve(outcome);
      settled = true;
    };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!body.chunked) headers['content-length'] = String(body.body.length);
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => done(String(res.statusCode)));
      res.on('error', () => done(String(res.statusCode)));
    });
    req.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'error'));
    if (body.chunked) {
      for (let at = 0; at < body.body.length; at += 64 * 1024)
        req.write(body.body.subarray(at, at + 64 * 1024));
      req.end();
    } else {
      req.end(body.body);
    }
  });
}

interface Result {
  service: string;
  body: string;
  bytes: number;
  answers: Record<string, number>;
  idleRssMiB: number;
  peakRssMiB: number;
  seconds: number;
}

async function burst(entry: string, serviceName: string, fakeBase: string, body: Body) {
  const port = await freePort();
  const child = start(entry, [], {
    [ENV.port]: String(port),
    [SERVICE_ENV.host]: '127.0.0.1',
    [ENV.lmstudioBaseUrl]: fakeBase,
  });
  const pid = child.pid as number;
  await waitFor(`http://127.0.0.1:${port}/readyz`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idleRssMiB = procStatus(pid, 'VmRSS');
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: CONCURRENCY }, () =>
      send(`http://127.0.0.1:${port}/api/v1/summary/`, body),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const peakRssMiB = procStatus(pid, 'VmHWM');
  await stop(child);
  const answers: Record<string, number> = {};
  for (const outcome of outcomes) answers[outcome] = (answers[outcome] ?? 0) + 1;
  return {
    service: serviceName,
    body: body.name,
    bytes: body.body.length,
    answers,
    idleRssMiB,
    peakRssMiB,
    seconds,
  } satisfies Result;
}

async function main() {
  const fakePort = await freePort();
  const fakeBase = `http://127.0.0.1:${fakePort}/v1`;
  const fake = start('test/support/fakes/lmstudio-main.ts', [
    '--port',
    String(fakePort),
    '--latency-ms',
    String(LATENCY_MS),
  ]);
  await waitFor(`${fakeBase}/models`);
  const services = [{ name: 'service', entry: 'service/main.ts' }];
  if (flags.baseline !== undefined)
    services.push({ name: `at ${flags.baseline}`, entry: serviceAtRef(flags.baseline) });

  const results: Result[] = [];
  for (const body of BODIES) {
    for (const service of services) {
      log(`  ${service.name}: ${CONCURRENCY} × ${body.name} (${body.body.length} bytes)`);
      results.push(await burst(service.entry, service.name, fakeBase, body));
    }
  }
  await stop(fake);

  const worst = Math.max(
    ...results.filter((r) => r.service === 'service').map((r) => r.peakRssMiB),
  );
  printRows(
    `${CONCURRENCY} requests at once, fake LM Studio at ${LATENCY_MS} ms, defaults (4 slots, 64 queued); target: peak RSS <= ${TARGET_MIB} MiB`,
    results.map((r) => ({
      body: r.body,
      ...(services.length > 1 ? { service: r.service } : {}),
      'bytes each': r.bytes,
      answers: Object.entries(r.answers)
        .sort()
        .map(([status, count]) => `${count}×${status}`)
        .join(' '),
      'idle RSS MiB': r.idleRssMiB.toFixed(0),
      'peak RSS MiB': r.peakRssMiB.toFixed(0),
      s: r.seconds.toFixed(1),
    })),
  );
  console.log(
    `\nworst peak RSS of the service: ${worst.toFixed(0)} MiB — target <= ${TARGET_MIB} MiB ${worst <= TARGET_MIB ? 'met' : 'MISSED'}`,
  );
  writeReport('hostile.json', {
    when: new Date().toISOString(),
    latencyMs: LATENCY_MS,
    concurrency: CONCURRENCY,
    targetMiB: TARGET_MIB,
    worstPeakMiB: worst,
    met: worst <= TARGET_MIB,
    results,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  killAll();
  process.exit(1);
});
