/**
 * `npm run bench:service`: what the service costs over one bare Node HTTP hop,
 * and how fast a long input is summarized. Writes bench-results/service.json.
 *
 * Processes (2 cores: the load generator, the server under test and the fake
 * LM Studio each get their own process, and both servers are measured alike):
 *   - fake LM Studio, zero latency          test/fakes/lmstudio-main.ts
 *   - (a) the service                        service/main.ts
 *   - (b) a bare undici passthrough proxy    test/bench/passthrough.ts
 *   - autocannon, 64 connections, in this process
 * Then the wall time of one 50,000-character summary against a fake LM Studio
 * answering each call after 300 ms, with the service's default chunking.
 *
 * Targets (issue 2): service ≥ 0.7 × passthrough throughput, p99 added latency
 * < 5 ms, long input < 3 LLM latencies (900 ms).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Client } from 'undici';
import { ENV, SERVICE_ENV } from '../../service/env.js';
import { processCpuSeconds } from './operator-metrics.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONNECTIONS = 64;
const WARMUP_SECONDS = 3;
const MEASURE_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Service and passthrough are measured in alternation, so both see the same machine. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LLM_LATENCY_MS = 300;
const LONG_INPUT_CHARS = 50_000;
const LONG_INPUT_RUNS = 5;
const SEQUENTIAL_REQUESTS = 1000;
/** What the zero-latency fake answers; a summary-sized text. */
const FAKE_REPLY = '서울은 대한민국의 수도이자 최대 도시로, 한강이 가로지르며 약 천만 명이 산다.';

const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a TypeScript entry point in its own process; stdout goes nowhere (as cheap as a log pipe). */
function start(entry: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitFor(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

interface LoadResult {
  rps: number;
  /** CPU milliseconds (user + system) per request: the server under test, the fake, autocannon. */
  cpuMsPerRequest: { server: number; fake: number; client: number };
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
}

const requestBody = JSON.stringify({
  text: '서울은 대한민국의 수도이자 최대 도시이다. 한강이 도시를 가로질러 흐르며, 약 천만 명이 살고 있다. '.repeat(
    12,
  ),
  summary_type: 'concise',
  language: 'korean',
});

/** CPU seconds a process has used (from /proc); NaN where unknown. */
const cpuSeconds = (pid: number | undefined) =>
  (pid === undefined ? undefined : processCpuSeconds(pid)) ?? Number.NaN;

async function load(
  url: string,
  seconds: number,
  processes: { server?: ChildProcess; fake?: ChildProcess } = {},
  connections = CONNECTIONS,
): Promise<LoadResult> {
  const serverBefore = cpuSeconds(processes.server?.pid);
  const fakeBefore = cpuSeconds(processes.fake?.pid);
  const clientBefore = process.cpuUsage();
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: requestBody,
    connections,
    duration: seconds,
  });
  const clientUsed = process.cpuUsage(clientBefore);
  const perRequest = (cpuMs: number) => cpuMs / Math.max(1, result.requests.total);
  return {
    rps: result.requests.total / (result.duration || seconds),
    cpuMsPerRequest: {
      server: perRequest((cpuSeconds(processes.server?.pid) - serverBefore) * 1000),
      fake: perRequest((cpuSeconds(processes.fake?.pid) - fakeBefore) * 1000),
      client: perRequest((clientUsed.user + clientUsed.system) / 1000),
    },
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

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

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  process.stderr.write(
    `service benchmark on ${cpus().length} CPU(s), Node ${process.version}, load average ${loadBefore.toFixed(2)}\n`,
  );
  const [fakePort, servicePort, passthroughPort, slowFakePort, longServicePort] = await Promise.all(
    Array.from({ length: 5 }, freePort),
  );
  const fakeBase = `http://127.0.0.1:${fakePort}/v1`;
  const fake = start('test/fakes/lmstudio-main.ts', [
    '--port',
    String(fakePort),
    '--latency-ms',
    '0',
    '--fixed-reply',
    FAKE_REPLY,
  ]);
  await waitFor(`${fakeBase}/models`);

  // (a) the service; its concurrency limit is raised above the 64 connections: shedding is not under test.
  const service = start('service/main.ts', [], {
    [ENV.port]: String(servicePort),
    [SERVICE_ENV.host]: '127.0.0.1',
    [ENV.lmstudioBaseUrl]: fakeBase,
    [ENV.lmstudioMaxConcurrency]: '256',
  });
  // (b) the passthrough, against the same fake.
  const passthrough = start('test/bench/passthrough.ts', [
    '--port',
    String(passthroughPort),
    '--upstream',
    fakeBase,
  ]);
  await waitFor(`http://127.0.0.1:${servicePort}/readyz`);
  await waitFor(`http://127.0.0.1:${passthroughPort}/`);
  const serviceUrl = `http://127.0.0.1:${servicePort}/api/v1/summary/`;
  const passthroughUrl = `http://127.0.0.1:${passthroughPort}/`;

  process.stderr.write(`  warm-up: ${WARMUP_SECONDS}s each\n`);
  await load(serviceUrl, WARMUP_SECONDS);
  await load(passthroughUrl, WARMUP_SECONDS);
  const serviceRuns: LoadResult[] = [];
  const passthroughRuns: LoadResult[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    process.stderr.write(
      `  round ${round}/${ROUNDS}: service, then passthrough, ${MEASURE_SECONDS}s each at ${CONNECTIONS} connections\n`,
    );
    serviceRuns.push(await load(serviceUrl, MEASURE_SECONDS, { server: service, fake }));
    passthroughRuns.push(
      await load(passthroughUrl, MEASURE_SECONDS, { server: passthrough, fake }),
    );
  }
  process.stderr.write(
    `  one connection: ${SEQUENTIAL_REQUESTS} sequential requests each, twice\n`,
  );
  const serviceSequential: Array<{ p50: number; p99: number }> = [];
  const passthroughSequential: Array<{ p50: number; p99: number }> = [];
  for (let round = 0; round < 2; round += 1) {
    serviceSequential.push(await sequential(serviceUrl, SEQUENTIAL_REQUESTS));
    passthroughSequential.push(await sequential(passthroughUrl, SEQUENTIAL_REQUESTS));
  }
  const oneConnection = {
    service: {
      p50: median(serviceSequential.map((r) => r.p50)),
      p99: median(serviceSequential.map((r) => r.p99)),
    },
    passthrough: {
      p50: median(passthroughSequential.map((r) => r.p50)),
      p99: median(passthroughSequential.map((r) => r.p99)),
    },
  };
  await stop(service);
  await stop(passthrough);
  const summarizeRuns = (runs: LoadResult[]): LoadResult => ({
    rps: median(runs.map((r) => r.rps)),
    cpuMsPerRequest: {
      server: median(runs.map((r) => r.cpuMsPerRequest.server)),
      fake: median(runs.map((r) => r.cpuMsPerRequest.fake)),
      client: median(runs.map((r) => r.cpuMsPerRequest.client)),
    },
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    mean: median(runs.map((r) => r.mean)),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  });
  const serviceResult = summarizeRuns(serviceRuns);
  const passthroughResult = summarizeRuns(passthroughRuns);
  // Paired per round (same machine conditions), then the median over rounds.
  const ratios = serviceRuns.map((r, i) => r.rps / (passthroughRuns[i]?.rps ?? Number.NaN));
  const addedP99s = serviceRuns.map((r, i) => r.p99 - (passthroughRuns[i]?.p99 ?? Number.NaN));
  const addedP50s = serviceRuns.map((r, i) => r.p50 - (passthroughRuns[i]?.p50 ?? Number.NaN));

  // Long input: 50,000 characters, 300 ms per LLM call, default chunking.
  const slowBase = `http://127.0.0.1:${slowFakePort}/v1`;
  start('test/fakes/lmstudio-main.ts', [
    '--port',
    String(slowFakePort),
    '--latency-ms',
    String(LLM_LATENCY_MS),
  ]);
  await waitFor(`${slowBase}/models`);
  const longService = start('service/main.ts', [], {
    [ENV.port]: String(longServicePort),
    [SERVICE_ENV.host]: '127.0.0.1',
    [ENV.lmstudioBaseUrl]: slowBase,
  });
  await waitFor(`http://127.0.0.1:${longServicePort}/readyz`);
  process.stderr.write(
    `  long input: ${LONG_INPUT_RUNS} × ${LONG_INPUT_CHARS} characters, LLM latency ${LLM_LATENCY_MS} ms\n`,
  );
  const text = longText(LONG_INPUT_CHARS);
  const wallTimes: number[] = [];
  for (let run = 0; run < LONG_INPUT_RUNS; run += 1) {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${longServicePort}/api/v1/summary/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, language: 'english' }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`long input: HTTP ${response.status}`);
    wallTimes.push(performance.now() - started);
  }
  await stop(longService);
  for (const child of children) await stop(child);

  const sorted = [...wallTimes].sort((a, b) => a - b);
  const longMedian = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const longMax = sorted.at(-1) ?? Number.NaN;
  const ratio = median(ratios);
  const addedP99 = median(addedP99s);
  const addedP50 = median(addedP50s);
  const targets = {
    throughputRatio: { target: '>= 0.7', value: ratio, met: ratio >= 0.7 },
    p99AddedLatencyMs: { target: '< 5', value: addedP99, met: addedP99 < 5 },
    longInputMs: {
      target: `< ${3 * LLM_LATENCY_MS}`,
      value: longMax,
      met: longMax < 3 * LLM_LATENCY_MS,
    },
  };

  const f = (n: number, digits = 1) => n.toFixed(digits).padStart(9);
  const cpu = (r: LoadResult) =>
    [r.cpuMsPerRequest.server, r.cpuMsPerRequest.fake, r.cpuMsPerRequest.client]
      .map((ms) => ms.toFixed(3))
      .join(' / ');
  const rows = [
    `medians of ${ROUNDS} alternating rounds of ${MEASURE_SECONDS}s, ${CONNECTIONS} connections, zero-latency fake LM Studio`,
    `                      ${'req/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'non-2xx'.padStart(9)}   CPU ms per request: server / fake / load generator`,
    `(a) service          ${f(serviceResult.rps, 0)} ${f(serviceResult.p50)} ${f(serviceResult.p99)} ${f(serviceResult.non2xx + serviceResult.errors, 0)}   ${cpu(serviceResult)}`,
    `(b) passthrough      ${f(passthroughResult.rps, 0)} ${f(passthroughResult.p50)} ${f(passthroughResult.p99)} ${f(passthroughResult.non2xx + passthroughResult.errors, 0)}   ${cpu(passthroughResult)}`,
    '',
    `throughput ratio a/b ${f(ratio, 3)}   target >= 0.7   ${targets.throughputRatio.met ? 'met' : 'NOT MET'}  (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
    `p99 added latency    ${f(addedP99)} ms target < 5 ms  ${targets.p99AddedLatencyMs.met ? 'met' : 'NOT MET'}  (p50 added ${addedP50.toFixed(1)} ms)`,
    `one connection       p50 ${oneConnection.service.p50.toFixed(2)} vs ${oneConnection.passthrough.p50.toFixed(2)} ms, p99 ${oneConnection.service.p99.toFixed(2)} vs ${oneConnection.passthrough.p99.toFixed(2)} ms (service vs passthrough, no queueing)`,
    `50,000-char summary  ${f(longMedian, 0)} ms median, ${longMax.toFixed(0)} ms max of ${LONG_INPUT_RUNS}; target < ${3 * LLM_LATENCY_MS} ms  ${targets.longInputMs.met ? 'met' : 'NOT MET'}`,
  ];
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
      llmLatencyMsForLongInput: LLM_LATENCY_MS,
      longInputChars: LONG_INPUT_CHARS,
    },
    service: serviceResult,
    passthrough: passthroughResult,
    rounds: serviceRuns.map((r, i) => ({
      service: r,
      passthrough: passthroughRuns[i],
      ratio: ratios[i],
    })),
    throughputRatio: ratio,
    p99AddedLatencyMs: addedP99,
    p50AddedLatencyMs: addedP50,
    oneConnection,
    longInput: { wallTimesMs: wallTimes, medianMs: longMedian, maxMs: longMax },
    targets,
  };
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'service.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${join('bench-results', 'service.json')}`);
}

main().catch(async (error: unknown) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
