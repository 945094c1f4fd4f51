/**
 * Records the load series the operator's pure load judgement is tested on
 * (operator/load/*.test.ts): real summarizer processes (service/main.ts, as in a pod) in
 * front of the fake LM Studio, driven by the load generator through phases, their /metrics
 * scraped every interval as the operator would. Each scenario is written to
 * test/support/fixtures/load/<name>.json.gz (`zcat` it): the scrape rounds, each pod's /metrics
 * reduced to the samples the operator reads, verbatim (or the scrape's error).
 *
 *   npx tsx test/support/load/record.ts [--scenario NAME]…   (all by default; a few minutes each)
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { WANTED } from '../../../operator/load/sample.js';
import { FakeLmStudio, type FakeLmStudioOptions } from '../fakes/lmstudio.js';
import { REPO_ROOT, type ServiceProcess, spawnService } from '../service-harness.js';
import { runLoad } from './loadgen.js';

export interface RecordedRound {
  /** ms since the recording started. */
  at: number;
  pods: Record<string, { text: string } | { error: string }>;
}

export interface Recording {
  name: string;
  description: string;
  intervalMs: number;
  pods: string[];
  phases: { fromMs: number; what: string }[];
  rounds: RecordedRound[];
}

interface Context {
  fake: FakeLmStudio;
  services: ServiceProcess[];
  /** Pods stopped with SIGSTOP: the load generator leaves them out, as a client timing out would. */
  stopped: Set<number>;
}

interface Phase {
  seconds: number;
  concurrency: number;
  what: string;
  /** Called when the phase starts. */
  start?: (ctx: Context) => void;
}

interface Scenario {
  description: string;
  pods: number;
  /** Service environment of pod i (besides LMSTUDIO_BASE_URL, which points at the fake). */
  env: (i: number, fakeUrl: string) => Record<string, string>;
  backend: FakeLmStudioOptions;
  phases: Phase[];
}

const small = { LMSTUDIO_MAX_CONCURRENCY: '2', MAX_QUEUED_REQUESTS: '4', QUEUE_TIMEOUT: '3' };
const light = { seconds: 30, concurrency: 1, what: 'one client at a time (baseline)' };
const idle = { seconds: 25, concurrency: 0, what: 'no load' };

const SCENARIOS: Record<string, Scenario> = {
  saturated: {
    description:
      '2 pods with 2 LM Studio slots each (queue 4, 3 s wait) in front of an LM Studio with spare capacity (400 ms, no parallel limit): 16 clients saturate the pods, LM Studio keeps its latency',
    pods: 2,
    env: () => small,
    backend: { latencyMs: 400 },
    phases: [light, { seconds: 60, concurrency: 16, what: '16 clients' }, idle],
  },
  'backend-bottleneck': {
    description:
      '2 pods with 4 slots each in front of an LM Studio that predicts one completion at a time (300 ms each, the rest queue): 12 clients, LM Studio is the bottleneck',
    pods: 2,
    env: () => ({ LMSTUDIO_MAX_CONCURRENCY: '4', MAX_QUEUED_REQUESTS: '16', QUEUE_TIMEOUT: '20' }),
    backend: { latencyMs: 300, maxParallel: 1 },
    phases: [light, { seconds: 60, concurrency: 12, what: '12 clients' }, idle],
  },
  'backend-slowing': {
    description:
      '2 pods with 4 slots each, 6 clients throughout; LM Studio answers in 300 ms, then 1 s, then 2 s (it slows down: other tenants, a bigger model)',
    pods: 2,
    env: () => ({ LMSTUDIO_MAX_CONCURRENCY: '4' }),
    backend: { latencyMs: 300 },
    phases: [
      light,
      { seconds: 30, concurrency: 6, what: '6 clients, LM Studio 300 ms' },
      {
        seconds: 30,
        concurrency: 6,
        what: '6 clients, LM Studio 1 s',
        start: ({ fake }) => fake.setMode({ kind: 'slow', latencyMs: 700 }),
      },
      {
        seconds: 30,
        concurrency: 6,
        what: '6 clients, LM Studio 2 s',
        start: ({ fake }) => fake.setMode({ kind: 'slow', latencyMs: 1700 }),
      },
    ],
  },
  flapping: {
    description:
      'the saturated setup under bursts: 10 s of 16 clients, 10 s of none, six times (never saturated for long)',
    pods: 2,
    env: () => small,
    backend: { latencyMs: 400 },
    phases: [
      light,
      ...Array.from({ length: 6 }, (_, i) => [
        { seconds: 10, concurrency: 16, what: `burst ${i + 1}` },
        { seconds: 10, concurrency: 0, what: `pause ${i + 1}` },
      ]).flat(),
    ],
  },
  'pod-stops-answering': {
    description:
      '3 pods, 3 clients; after 40 s pod-1 is stopped (SIGSTOP: the process hangs, its socket still accepts) and never answers again',
    pods: 3,
    env: () => ({ LMSTUDIO_MAX_CONCURRENCY: '4' }),
    backend: { latencyMs: 300 },
    phases: [
      { seconds: 40, concurrency: 3, what: '3 clients, all pods answer' },
      {
        seconds: 60,
        concurrency: 3,
        what: 'pod-1 hung (SIGSTOP)',
        start: ({ services, stopped }) => {
          services[1]?.child.kill('SIGSTOP');
          stopped.add(1);
        },
      },
    ],
  },
  'bad-pod': {
    description:
      '3 pods, 6 clients round-robin; pod-2 was started with an LM Studio URL where nothing listens (its own bad config), its siblings serve the same LM Studio',
    pods: 3,
    env: (i): Record<string, string> =>
      i === 2 ? { LMSTUDIO_BASE_URL: 'http://127.0.0.1:9/v1', LMSTUDIO_MAX_RETRIES: '1' } : {},
    backend: { latencyMs: 300 },
    phases: [{ seconds: 90, concurrency: 6, what: '6 clients' }],
  },
};

const INTERVAL_MS = 5_000;

/** The samples the operator reads, one per line, as the pod's /metrics had them. */
function reduce(text: string): string {
  return text
    .split('\n')
    .filter((line) => {
      if (line.startsWith('#') || line === '') return false;
      const end = line.search(/[{\s]/);
      return WANTED.has(end === -1 ? line : line.slice(0, end));
    })
    .join('\n');
}

async function scrape(url: string): Promise<{ text: string } | { error: string }> {
  try {
    const response = await request(`${url}/metrics`, {
      reset: true,
      signal: AbortSignal.timeout(2_000),
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) return { error: `HTTP ${response.statusCode}` };
    return { text: reduce(text) };
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    return {
      error:
        e.name === 'TimeoutError' ? 'no answer within 2000 ms' : (e.code ?? e.message ?? 'failed'),
    };
  }
}

async function record(name: string, scenario: Scenario): Promise<Recording> {
  const fake = await FakeLmStudio.start({ ...scenario.backend, keepRequests: 0 });
  const services = Array.from({ length: scenario.pods }, (_, i) =>
    spawnService({
      LMSTUDIO_BASE_URL: fake.baseUrl,
      LMSTUDIO_TIMEOUT: '30',
      ...scenario.env(i, fake.baseUrl),
    }),
  );
  const ctx: Context = { fake, services, stopped: new Set() };
  const pods = services.map((_, i) => `pod-${i}`);
  try {
    const ports = await Promise.all(services.map((s) => s.ready));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const started = Date.now();
    const rounds: RecordedRound[] = [];
    const phases: Recording['phases'] = [];
    let recording = true;
    const scraper = (async () => {
      while (recording) {
        const at = Date.now() - started;
        const results = await Promise.all(urls.map(scrape));
        rounds.push({ at, pods: Object.fromEntries(pods.map((p, i) => [p, results[i]!])) });
        const wait = INTERVAL_MS - ((Date.now() - started) % INTERVAL_MS);
        await new Promise((r) => setTimeout(r, wait));
      }
    })();
    for (const phase of scenario.phases) {
      phases.push({ fromMs: Date.now() - started, what: phase.what });
      console.error(`[${name}] ${phase.what} for ${phase.seconds} s`);
      phase.start?.(ctx);
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), phase.seconds * 1000);
      if (phase.concurrency > 0) {
        // Requests to a stopped pod would hang its clients: only the answering ones get load.
        const answering = urls.filter((_, i) => !ctx.stopped.has(i));
        const stats = await runLoad({
          urls: answering,
          concurrency: phase.concurrency,
          signal: stop.signal,
          timeoutMs: 10_000,
        });
        console.error(`[${name}]   ${JSON.stringify(stats.byStatus)}`);
      } else {
        await new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }));
      }
      clearTimeout(timer);
    }
    recording = false;
    await scraper;
    return {
      name,
      description: scenario.description,
      intervalMs: INTERVAL_MS,
      pods,
      phases,
      rounds,
    };
  } finally {
    for (const s of services) {
      s.child.kill('SIGCONT');
      s.child.kill('SIGKILL');
    }
    await fake.stop();
  }
}

const { values } = parseArgs({ options: { scenario: { type: 'string', multiple: true } } });
const names = values.scenario?.length ? values.scenario : Object.keys(SCENARIOS);
for (const name of names) {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name}: ${Object.keys(SCENARIOS).join(', ')}`);
  const recording = await record(name, scenario);
  const file = path.join(REPO_ROOT, 'test/support/fixtures/load', `${name}.json.gz`);
  writeFileSync(file, gzipSync(`${JSON.stringify(recording, null, 1)}\n`, { level: 9 }));
  console.error(`[${name}] ${recording.rounds.length} rounds → ${path.relative(REPO_ROOT, file)}`);
}
