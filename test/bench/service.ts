/**
 * `npm run bench:service`: what the service costs, and how it holds up under
 * load. Writes bench-results/service.json and prints the tables.
 *
 *   (c) CPU per request and throughput at 64 connections against a zero-latency
 *       fake LM Studio: the service (Express) against a bare undici passthrough
 *       (test/bench/passthrough.ts), and with `--baseline <git ref>` the service
 *       as it was at that ref (e.g. the node:http version), in alternating rounds;
 *       then one connection, no queueing.
 *   (b) 64 connections against a fake answering after 300 ms: 2xx/s and non-2xx,
 *       with LMSTUDIO_MAX_CONCURRENCY=32 (an LM Studio that runs that many) and
 *       with the default 4 (the queue holds the rest).
 *   (a) through the service against directly to the real inference server
 *       (test/bench/service-real.ts) at 1, 2 and 4 clients: tokens/s and req/s.
 *   and the wall time of a 50,000-character summary at 300 ms per LLM call.
 *
 * Flags: --baseline REF, --skip-real, --real-only (only (a), to bench-results/service-real.json).
 * Env: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_REAL_ROUNDS (2).
 * Goals (issue 9): (a) ratios >= 0.97; (b) 0 non-2xx and >= 82 2xx/s.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { ENV, SERVICE_ENV } from '../../contract/env.js';
import { freePort } from '../support/llm-server.js';
import {
  killAll,
  type LoadResult,
  load,
  median,
  ROOT,
  serviceAtRef,
  start,
  stop,
  stopAll,
  summarizeRuns,
  waitFor,
} from './service-processes.js';
import { compareWithRealServer, type RealRow } from './service-real.js';

const { values: flags } = parseArgs({
  options: {
    baseline: { type: 'string' },
    'skip-real': { type: 'boolean', default: false },
    'real-only': { type: 'boolean', default: false },
  },
});
const CONNECTIONS = 64;
const WARMUP_SECONDS = 3;
const MEASURE_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Servers are measured in alternation, so all see the same machine. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LLM_LATENCY_MS = 300;
const SLOW_SECONDS = 10;
const LONG_INPUT_CHARS = 50_000;
const LONG_INPUT_RUNS = 5;
const SEQUENTIAL_REQUESTS = 1000;
/** What the zero-latency fake answers; a summary-sized text. */
const FAKE_REPLY = '서울은 대한민국의 수도이자 최대 도시로, 한강이 가로지르며 약 천만 명이 산다.';

const requestBody = JSON.stringify({
  text: '서울은 대한민국의 수도이자 최대 도시이다. 한강이 도시를 가로질러 흐르며, 약 천만 명이 살고 있다. '.repeat(
    12,
  ),
  summary_type: 'concise',
  language: 'korean',
});

/** One request at a time over one keep-alive connection: the hop's own cost, without queueing. */
async function sequential(url: string, count: number): Promise<{ p50: number; p99: number }> {
  const target = new URL(url);
  const client = new Client(target.origin, { keepAliveTimeout: 10_000 });
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      const response = await client.request({
        method: 'POST',
        path: target.pathname,
        headers: { 'content-type': 'application/json' },
        body: requestBody,
      });
      await response.body.arrayBuffer();
      if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode}`);
      times.push(performance.now() - started);
    }
  } finally {
    await client.close();
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

function longText(length: number): string {
  const sentence =
    'The committee reviewed the annual budget and approved the new transit plan for the city. ';
  return sentence.repeat(Math.ceil(length / sentence.length)).slice(0, length);
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The service's environment for a benchmark: on 127.0.0.1, in front of `baseUrl`. */
function serviceEnv(port: number, baseUrl: string, extra: Record<string, string> = {}) {
  return {
    [ENV.port]: String(port),
    [SERVICE_ENV.host]: '127.0.0.1',
    [ENV.lmstudioBaseUrl]: baseUrl,
    ...extra,
  };
}

interface Server {
  name: string;
  url: string;
  ready: string;
  child: ChildProcess;
}

/** (c): the servers against the zero-latency fake, alternating rounds. */
async function cpuAndThroughput(baselineEntry: string | undefined) {
  const [fakePort, servicePort, passthroughPort, baselinePort] = await Promise.all(
    Array.from({ length: 4 }, freePort),
  );
  const fakeBase = `http://127.0.0.1:${fakePort}/v1`;
  const fake = start('test/support/fakes/lmstudio-main.ts', [
    '--port',
    String(fakePort),
    '--latency-ms',
    '0',
    '--fixed-reply',
    FAKE_REPLY,
  ]);
  await waitFor(`${fakeBase}/models`);
  // Admission is not under test here: limits above the 64 connections.
  const unlimited = {
    [ENV.lmstudioMaxConcurrency]: '256',
    [ENV.maxQueuedRequests]: '256',
    MAX_CONCURRENT_REQUESTS: '256', // the baseline's name for its limit
  };
  const servers: Server[] = [
    {
      name: 'service (Express)',
      url: `http://127.0.0.1:${servicePort}/api/v1/summary/`,
      ready: `http://127.0.0.1:${servicePort}/readyz`,
      child: start('service/main.ts', [], serviceEnv(Number(servicePort), fakeBase, unlimited)),
    },
    {
      name: 'bare passthrough',
      url: `http://127.0.0.1:${passthroughPort}/`,
      ready: `http://127.0.0.1:${passthroughPort}/`,
      child: start('test/bench/passthrough.ts', [
        '--port',
        String(passthroughPort),
        '--upstream',
        fakeBase,
      ]),
    },
  ];
  if (baselineEntry !== undefined) {
    servers.push({
      name: `service at ${flags.baseline}`,
      url: `http://127.0.0.1:${baselinePort}/api/v1/summary/`,
      ready: `http://127.0.0.1:${baselinePort}/readyz`,
      child: start(baselineEntry, [], serviceEnv(Number(baselinePort), fakeBase, unlimited)),
    });
  }
  for (const server of servers) await waitFor(server.ready);
  log(`  (c) warm-up: ${WARMUP_SECONDS}s each`);
  for (const server of servers) await load(server.url, requestBody, WARMUP_SECONDS, CONNECTIONS);
  const runs = new Map<string, LoadResult[]>(servers.map((s) => [s.name, []]));
  for (let round = 1; round <= ROUNDS; round += 1) {
    log(
      `  (c) round ${round}/${ROUNDS}: ${servers.map((s) => s.name).join(', ')}, ${MEASURE_SECONDS}s each`,
    );
    for (const server of servers) {
      runs.get(server.name)?.push(
        await load(server.url, requestBody, MEASURE_SECONDS, CONNECTIONS, {
          server: server.child,
          fake,
        }),
      );
    }
  }
  log(
    `  one connection: ${SEQUENTIAL_REQUESTS} sequential requests, service and passthrough, twice`,
  );
  const oneConnection: Record<string, { p50: number; p99: number }> = {};
  for (const server of servers.slice(0, 2)) {
    const samples = [
      await sequential(server.url, SEQUENTIAL_REQUESTS),
      await sequential(server.url, SEQUENTIAL_REQUESTS),
    ];
    oneConnection[server.name] = {
      p50: median(samples.map((r) => r.p50)),
      p99: median(samples.map((r) => r.p99)),
    };
  }
  for (const server of servers) await stop(server.child);
  await stop(fake);
  const results = servers.map((server) => ({
    name: server.name,
    result: summarizeRuns(runs.get(server.name) ?? []),
  }));
  return { results, rounds: Object.fromEntries(runs), oneConnection };
}

/** (b) and the long input: a fake answering after 300 ms. */
async function slowBackend() {
  const [fakePort, fastPort, defaultPort] = await Promise.all(Array.from({ length: 3 }, freePort));
  const fakeBase = `http://127.0.0.1:${fakePort}/v1`;
  start('test/support/fakes/lmstudio-main.ts', [
    '--port',
    String(fakePort),
    '--latency-ms',
    String(LLM_LATENCY_MS),
  ]);
  await waitFor(`${fakeBase}/models`);
  const variants = [
    {
      name: 'LMSTUDIO_MAX_CONCURRENCY=32',
      port: fastPort,
      env: { [ENV.lmstudioMaxConcurrency]: '32' },
    },
    {
      name: 'defaults (4 in flight, 64 queued)',
      port: defaultPort,
      env: {} as Record<string, string>,
    },
  ];
  const burst: Array<{ name: string; result: LoadResult }> = [];
  for (const variant of variants) {
    const child = start(
      'service/main.ts',
      [],
      serviceEnv(Number(variant.port), fakeBase, variant.env),
    );
    const url = `http://127.0.0.1:${variant.port}/api/v1/summary/`;
    await waitFor(`http://127.0.0.1:${variant.port}/readyz`);
    log(
      `  (b) ${CONNECTIONS} connections, ${LLM_LATENCY_MS} ms LLM, ${SLOW_SECONDS}s: ${variant.name}`,
    );
    burst.push({
      name: variant.name,
      result: await load(url, requestBody, SLOW_SECONDS, CONNECTIONS, { server: child }),
    });
    await stop(child);
  }
  // Long input, with the default configuration.
  const longPort = await freePort();
  const longService = start('service/main.ts', [], serviceEnv(longPort, fakeBase));
  await waitFor(`http://127.0.0.1:${longPort}/readyz`);
  log(
    `  long input: ${LONG_INPUT_RUNS} × ${LONG_INPUT_CHARS} characters, LLM latency ${LLM_LATENCY_MS} ms`,
  );
  const text = longText(LONG_INPUT_CHARS);
  const wallTimes: number[] = [];
  for (let run = 0; run < LONG_INPUT_RUNS; run += 1) {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${longPort}/api/v1/summary/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, language: 'english' }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`long input: HTTP ${response.status}`);
    wallTimes.push(performance.now() - started);
  }
  await stop(longService);
  return {
    burst,
    longInput: {
      wallTimesMs: wallTimes,
      medianMs: median(wallTimes),
      maxMs: Math.max(...wallTimes),
    },
  };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  log(
    `service benchmark on ${cpus().length} CPU(s), Node ${process.version}, load average ${loadBefore.toFixed(2)}`,
  );
  const realRounds = Number(process.env.BENCH_REAL_ROUNDS ?? 2);
  if (flags['real-only']) {
    const real = await compareWithRealServer({ rounds: realRounds, perClient: 3, log });
    console.log(`\n${realTable(real.rows).join('\n')}\n`);
    writeReport('service-real.json', {
      date: new Date().toISOString(),
      loadAverageBefore: loadBefore,
      ...real,
    });
    return;
  }
  const baselineEntry = flags.baseline === undefined ? undefined : serviceAtRef(flags.baseline);
  const cpu = await cpuAndThroughput(baselineEntry);
  const slow = await slowBackend();
  const real = flags['skip-real']
    ? undefined
    : await compareWithRealServer({ rounds: realRounds, perClient: 3, log });
  await stopAll();

  const f = (n: number, digits = 1) => n.toFixed(digits).padStart(9);
  const cpuCell = (r: LoadResult) =>
    [r.cpuMsPerRequest.server, r.cpuMsPerRequest.fake, r.cpuMsPerRequest.client]
      .map((ms) => ms.toFixed(3))
      .join(' / ');
  const rows: string[] = [
    `(c) medians of ${ROUNDS} alternating rounds of ${MEASURE_SECONDS}s, ${CONNECTIONS} connections, zero-latency fake LM Studio`,
    `                               ${'req/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'non-2xx'.padStart(9)}   CPU ms per request: server / fake / load generator`,
    ...cpu.results.map(
      ({ name, result }) =>
        `${name.padEnd(30)} ${f(result.rps, 0)} ${f(result.p50)} ${f(result.p99)} ${f(result.non2xx + result.errors, 0)}   ${cpuCell(result)}`,
    ),
    `one connection (p50 / p99 ms): ${Object.entries(cpu.oneConnection)
      .map(([name, r]) => `${name} ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)}`)
      .join('; ')}`,
    '',
    `(b) ${CONNECTIONS} connections, fake LM Studio at ${LLM_LATENCY_MS} ms, ${SLOW_SECONDS}s   goal: 0 non-2xx, >= 82 2xx/s`,
    `                               ${'2xx/s'.padStart(9)} ${'non-2xx'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}   CPU ms per request`,
    ...slow.burst.map(
      ({ name, result }) =>
        `${name.padEnd(30)} ${f(result.okPerSecond)} ${f(result.non2xx + result.errors, 0)} ${f(result.p50, 0)} ${f(result.p99, 0)}   ${result.cpuMsPerRequest.server.toFixed(3)}`,
    ),
    '',
    `50,000-char summary, ${LLM_LATENCY_MS} ms per LLM call, defaults: ${slow.longInput.medianMs.toFixed(0)} ms median, ${slow.longInput.maxMs.toFixed(0)} ms max of ${LONG_INPUT_RUNS}`,
  ];
  if (real !== undefined) rows.push('', ...realTable(real.rows));
  console.log(`\n${rows.join('\n')}\n`);

  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      node: process.version,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg()[0],
    },
    setup: {
      connections: CONNECTIONS,
      warmupSeconds: WARMUP_SECONDS,
      measureSeconds: MEASURE_SECONDS,
      rounds: ROUNDS,
      fakeReply: FAKE_REPLY,
      requestBodyBytes: Buffer.byteLength(requestBody),
      llmLatencyMs: LLM_LATENCY_MS,
      slowSeconds: SLOW_SECONDS,
      longInputChars: LONG_INPUT_CHARS,
      baseline: flags.baseline ?? null,
    },
    cpuAndThroughput: cpu,
    slowBackend: slow,
    realServer: real ?? null,
    goals: {
      slowBackendNon2xx: {
        goal: 0,
        value: slow.burst[0]?.result.non2xx,
        met: slow.burst[0]?.result.non2xx === 0,
      },
      slowBackendOkPerSecond: {
        goal: '>= 82',
        value: slow.burst[0]?.result.okPerSecond,
        met: (slow.burst[0]?.result.okPerSecond ?? 0) >= 82,
      },
      realServerRatios:
        real?.rows.map((r) => ({
          clients: r.clients,
          rps: r.rpsRatio,
          tokens: r.tokensRatio,
          met: r.rpsRatio >= 0.97 && r.tokensRatio >= 0.97,
        })) ?? null,
    },
  };
  writeReport('service.json', report);
}

function realTable(rows: RealRow[]): string[] {
  return [
    '(a) real inference server (SmolLM2-135M, 4 slots): through the service vs directly   goal: ratios >= 0.97',
    `clients  ${'service req/s'.padStart(14)} ${'direct req/s'.padStart(13)} ${'ratio'.padStart(7)}  ${'service tok/s'.padStart(14)} ${'direct tok/s'.padStart(13)} ${'ratio'.padStart(7)}  service CPU ms/request`,
    ...rows.map(
      (r) =>
        `${String(r.clients).padStart(7)}  ${r.service.rps.toFixed(3).padStart(14)} ${r.direct.rps.toFixed(3).padStart(13)} ${r.rpsRatio.toFixed(3).padStart(7)}  ${r.service.tokensPerSecond.toFixed(1).padStart(14)} ${r.direct.tokensPerSecond.toFixed(1).padStart(13)} ${r.tokensRatio.toFixed(3).padStart(7)}  ${r.serviceCpuMsPerRequest.toFixed(2).padStart(8)}`,
    ),
  ];
}

function writeReport(file: string, report: unknown): void {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${join('bench-results', file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  killAll();
  process.exit(1);
});
