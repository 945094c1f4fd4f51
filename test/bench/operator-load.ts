/**
 * Scenario `load` (issue 10): what reading the pods' load costs the operator. N resources
 * (one pod each) on the fake nodes; their /metrics come from test/support/fakes/pod-metrics.ts (the
 * service's own metrics module behind the kubectl-proxy path the operator is pointed at).
 * Three windows of the same length, each with the same N resources:
 *
 *   off    an operator with LLMPLAN_LOAD_SCRAPE=off: the baseline CPU of an idle operator
 *   idle   an operator scraping every pod every S seconds, the pods idle: CPU, writes (0)
 *   busy   the same operator, every pod busy with a wobbling load: CPU, status writes
 *
 * Scrape cost per pod = (CPU idle − CPU off) / scrapes; the scrape duration is the operator's
 * own llmplan_load_scrape_duration_seconds. Run: npm run bench:operator -- --scenario load
 * --sizes 100 [--idle-seconds 60] [--operator-env LLMPLAN_LOAD_SCRAPE_SECONDS=15].
 */
import { performance } from 'node:perf_hooks';
import { summarizerServices } from '../../operator/api/summarizerservice.js';
import { type KubeObject, sleep } from '../../operator/runtime/index.js';
import { FakePodMetrics } from '../support/fakes/pod-metrics.js';
import type { BenchContext, Row, Scenario, TargetCheck } from './operator-context.js';
import {
  counterDelta,
  MiB,
  type OperatorCounters,
  parsePrometheus,
  processCpuSeconds,
  round,
  scrape,
} from './operator-metrics.js';

interface Window {
  phase: 'off' | 'idle' | 'busy';
  seconds: number;
  cpuSeconds: number;
  writes: number;
  reconciles: number;
  scrapes: number;
  scrapesOk: number;
  scrapeP50Ms: number;
  scrapeP95Ms: number;
  rssMiB: number;
}

interface LoadResult {
  size: number;
  pods: number;
  scrapeSeconds: number;
  windows: Window[];
  cpuPerScrapeMs: number;
  cpuPerPodPerMinuteMs: number;
}

const NAME = (i: number) => `sumsvc-${String(i).padStart(4, '0')}`;

async function createAll(ctx: BenchContext, namespace: string, size: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < size; i = next++) {
      await ctx.client.create(summarizerServices, {
        apiVersion: `${summarizerServices.group}/${summarizerServices.version}`,
        kind: summarizerServices.kind,
        metadata: { name: NAME(i), namespace },
        spec: { image: { tag: 'v0.1.0' }, resources: { requests: { cpu: '10m', memory: '32Mi' } } },
      });
    }
  };
  await Promise.all(Array.from({ length: ctx.options.createConcurrency }, worker));
}

interface LoadStatusLite {
  state?: string;
  podsReporting?: number;
  pods?: { requestsPerMinute?: number }[];
}

/** Resources whose status satisfies `check`, counted from one LIST. */
async function count(
  ctx: BenchContext,
  namespace: string,
  check: (status: {
    conditions?: { type: string; status: string }[];
    load?: LoadStatusLite;
  }) => boolean,
): Promise<number> {
  const list = await ctx.client.list<KubeObject & { status?: Parameters<typeof check>[0] }>(
    summarizerServices,
    { namespace },
  );
  return list.items.filter((o) => check(o.status ?? {})).length;
}

async function waitFor(
  ctx: BenchContext,
  what: string,
  done: () => Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + ctx.options.phaseTimeoutSeconds * 1000;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1000);
  }
}

/** p50/p95 of the scrape-duration histogram between two readings of /metrics, ms. */
function scrapeQuantiles(
  before: string,
  after: string,
): { p50: number; p95: number; count: number } {
  const buckets = (text: string) =>
    new Map(
      parsePrometheus(text)
        .filter((s) => s.name === 'llmplan_load_scrape_duration_seconds_bucket')
        .map((s) => [Number(s.labels.le === '+Inf' ? Infinity : s.labels.le), s.value]),
    );
  const a = buckets(before);
  const b = buckets(after);
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const counts = bounds.map((le) => (b.get(le) ?? 0) - (a.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  const q = (share: number) => {
    const rank = share * total;
    for (const [i, c] of counts.entries()) {
      if (c >= rank) {
        const upper = bounds[i] ?? 0;
        const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
        const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
        if (!Number.isFinite(upper)) return lower * 1000;
        return (lower + ((upper - lower) * (rank - below)) / Math.max(1, c - below)) * 1000;
      }
    }
    return 0;
  };
  return { p50: round(q(0.5), 2), p95: round(q(0.95), 2), count: total };
}

const scrapesOf = (text: string, result?: string) =>
  parsePrometheus(text)
    .filter(
      (s) => s.name === 'llmplan_load_scrapes_total' && (!result || s.labels.result === result),
    )
    .reduce((n, s) => n + s.value, 0);

/**
 * Waits until the operator has written nothing for `quietSeconds` (the backend probe's condition comes
 * within its first 30 s), so a window measures an idle operator. At most `maxSeconds`.
 */
async function untilQuiet(
  ctx: BenchContext,
  metricsUrl: string,
  quietSeconds: number,
  maxSeconds: number,
): Promise<void> {
  const deadline = performance.now() + maxSeconds * 1000;
  let before = await scrape(metricsUrl);
  let quietSince = performance.now();
  while (performance.now() < deadline) {
    await sleep(1_000);
    const now = await scrape(metricsUrl);
    if (counterDelta(before, now).writes > 0) quietSince = performance.now();
    before = now;
    if (performance.now() - quietSince >= quietSeconds * 1000) return;
  }
  ctx.log(`the operator still writes after ${maxSeconds} s: measuring anyway`);
}

async function measure(
  ctx: BenchContext,
  phase: Window['phase'],
  operator: { pid: number; metricsUrl: string; memory(): { rssBytes: number } | undefined },
): Promise<Window> {
  const text = async () => (await fetch(`${operator.metricsUrl}/metrics`)).text();
  const beforeText = await text();
  const before: OperatorCounters = await scrape(operator.metricsUrl);
  const cpuBefore = processCpuSeconds(operator.pid) ?? before.cpuSeconds;
  const started = performance.now();
  await sleep(ctx.options.idleSeconds * 1000);
  const seconds = (performance.now() - started) / 1000;
  const afterText = await text();
  const after = await scrape(operator.metricsUrl);
  const cpuAfter = processCpuSeconds(operator.pid) ?? after.cpuSeconds;
  const delta = counterDelta(before, after);
  const quantiles = scrapeQuantiles(beforeText, afterText);
  return {
    phase,
    seconds: round(seconds, 1),
    cpuSeconds: round(cpuAfter - cpuBefore, 2),
    writes: delta.writes,
    reconciles: delta.reconciles,
    scrapes: scrapesOf(afterText) - scrapesOf(beforeText),
    scrapesOk: scrapesOf(afterText, 'ok') - scrapesOf(beforeText, 'ok'),
    scrapeP50Ms: quantiles.p50,
    scrapeP95Ms: quantiles.p95,
    rssMiB: MiB(operator.memory()?.rssBytes ?? after.residentBytes),
  };
}

async function runSize(ctx: BenchContext, size: number): Promise<LoadResult> {
  const namespace = await ctx.createNamespace(`llmplan-bench-load-${size}`);
  const pods = await FakePodMetrics.start();
  const scrapeSeconds = Number(ctx.options.operatorEnv.LLMPLAN_LOAD_SCRAPE_SECONDS ?? 15);
  try {
    ctx.log(`load ${size}: creating ${size} SummarizerServices (one pod each) in ${namespace}`);
    // Resource advice off in both (its first LIST, a minute in, writes every resource once
    // when metrics-server is absent): the windows compare scraping against no scraping.
    const off = await ctx.startOperator([namespace], {
      LLMPLAN_LOAD_SCRAPE: 'off',
      LLMPLAN_USAGE_SECONDS: '0',
    });
    const windows: Window[] = [];
    try {
      await createAll(ctx, namespace, size);
      await waitFor(
        ctx,
        `${size} Ready`,
        async () =>
          (await count(
            ctx,
            namespace,
            (s) => s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          )) === size,
      );
      await untilQuiet(ctx, off.metricsUrl, 35, 180);
      ctx.log(`load ${size}: window "off" (${ctx.options.idleSeconds} s, no scraping)`);
      windows.push(await measure(ctx, 'off', off));
      ctx.saveLogs(`operator-load-${size}-off`, off);
    } finally {
      await off.stop();
    }
    const on = await ctx.startOperator([namespace], {
      LLMPLAN_LOAD_SCRAPE: pods.url,
      LLMPLAN_LOAD_SCRAPE_SECONDS: String(scrapeSeconds),
      LLMPLAN_USAGE_SECONDS: '0',
    });
    try {
      ctx.log(
        `load ${size}: waiting for every status.load to settle (scrape every ${scrapeSeconds} s)`,
      );
      await waitFor(
        ctx,
        'status.load settled',
        async () =>
          (await count(
            ctx,
            namespace,
            (s) =>
              s.load?.state === 'Calm' &&
              (s.load.pods ?? []).length > 0 &&
              (s.load.pods ?? []).every((p) => p.requestsPerMinute !== undefined),
          )) === size,
      );
      await sleep(2 * scrapeSeconds * 1000);
      ctx.log(`load ${size}: window "idle" (every pod scraped, idle)`);
      windows.push(await measure(ctx, 'idle', on));
      // Every pod busy, its load moving a little each second (what status.load writes cost).
      const all = [...pods.podsIn(namespace).values()];
      const wobble = setInterval(() => {
        for (const pod of all)
          pod.set({ busySlots: 1 + Math.random() * 2, latencySeconds: 0.4 + Math.random() * 0.2 });
      }, 1000);
      try {
        ctx.log(`load ${size}: window "busy" (${all.length} pods busy)`);
        windows.push(await measure(ctx, 'busy', on));
      } finally {
        clearInterval(wobble);
      }
      ctx.saveLogs(`operator-load-${size}-on`, on);
    } finally {
      await on.stop();
    }
    const offWindow = windows.find((w) => w.phase === 'off');
    const idle = windows.find((w) => w.phase === 'idle');
    const cpuPerScrapeMs =
      offWindow && idle && idle.scrapes > 0
        ? round(((idle.cpuSeconds - offWindow.cpuSeconds) * 1000) / idle.scrapes, 3)
        : 0;
    return {
      size,
      pods: pods.podsIn(namespace).size,
      scrapeSeconds,
      windows,
      cpuPerScrapeMs,
      cpuPerPodPerMinuteMs: round((cpuPerScrapeMs * 60) / scrapeSeconds, 2),
    };
  } finally {
    await pods.stop();
    await ctx.deleteNamespace(namespace);
  }
}

function rows(r: LoadResult): Row[] {
  return r.windows.map((w) => ({
    size: r.size,
    window: w.phase,
    seconds: w.seconds,
    'operator CPU s': w.cpuSeconds,
    'CPU % of a core': round((w.cpuSeconds / w.seconds) * 100, 1),
    writes: w.writes,
    reconciles: w.reconciles,
    'pod scrapes (ok)': `${w.scrapes} (${w.scrapesOk})`,
    'scrape p50/p95 ms': `${w.scrapeP50Ms}/${w.scrapeP95Ms}`,
    'RSS MiB': w.rssMiB,
    'CPU per scrape ms': w.phase === 'idle' ? r.cpuPerScrapeMs : '',
  }));
}

function targets(results: LoadResult[]): TargetCheck[] {
  return results.flatMap((r) => {
    const idle = r.windows.find((w) => w.phase === 'idle');
    return [
      {
        what: `idle writes with every pod scraped at ${r.size}`,
        target: '0',
        measured: `${idle?.writes ?? '?'} (${idle?.scrapes ?? 0} scrapes)`,
        met: idle?.writes === 0 && (idle?.scrapes ?? 0) > 0,
      },
      {
        what: `operator CPU per pod scrape at ${r.size} (every ${r.scrapeSeconds} s)`,
        target: '≤ 5 ms',
        measured: `${r.cpuPerScrapeMs} ms (${r.cpuPerPodPerMinuteMs} ms per pod per minute)`,
        met: r.cpuPerScrapeMs <= 5,
      },
    ];
  });
}

export const loadScenario: Scenario = {
  description:
    "issue 10: N resources' pods scraped (stub /metrics): operator CPU per scrape, idle writes, status writes under load",
  async run(ctx) {
    const results: LoadResult[] = [];
    for (const size of ctx.options.sizes) results.push(await runSize(ctx, size));
    return { rows: results.flatMap(rows), targets: targets(results), results };
  },
};
