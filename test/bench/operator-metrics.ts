/**
 * What the benchmark reads from the operator under test: its own Prometheus counters
 * (client-go's `rest_client_requests_total`, controller-runtime's reconcile counters,
 * Node's process metrics) and the kernel's view of its memory (/proc/<pid>/status).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (histogram series included; comments skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ''] = pair[2] ?? '';
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** One scrape of the counters the benchmark uses. */
export interface OperatorCounters {
  /** rest_client_requests_total by method (GET includes list and watch). */
  requestsByMethod: Record<string, number>;
  /** rest_client_requests_total by `METHOD code`, to spot 404s, 409s, 429s. */
  requestsByMethodCode: Record<string, number>;
  /** controller_runtime_reconcile_total by result (success, error, requeue, requeue_after). */
  reconcilesByResult: Record<string, number>;
  cpuSeconds: number;
  residentBytes: number;
  heapUsedBytes: number;
  /** V8 heap reserved (used + free), and memory outside it (Buffers, TLS): what RSS holds besides live objects. */
  heapTotalBytes: number;
  externalBytes: number;
  queueDepth: number;
  /** Sum and count of a histogram: request latency, client-side throttling, reconcile time. */
  requestSeconds: SumCount;
  rateLimiterSeconds: SumCount;
  reconcileSeconds: SumCount;
}

export interface SumCount {
  sum: number;
  count: number;
}

function add(map: Record<string, number>, key: string, value: number): void {
  map[key] = (map[key] ?? 0) + value;
}

export function countersFrom(text: string): OperatorCounters {
  const counters: OperatorCounters = {
    requestsByMethod: {},
    requestsByMethodCode: {},
    reconcilesByResult: {},
    cpuSeconds: 0,
    residentBytes: 0,
    heapUsedBytes: 0,
    heapTotalBytes: 0,
    externalBytes: 0,
    queueDepth: 0,
    requestSeconds: { sum: 0, count: 0 },
    rateLimiterSeconds: { sum: 0, count: 0 },
    reconcileSeconds: { sum: 0, count: 0 },
  };
  const histograms: Record<string, SumCount> = {
    rest_client_request_duration_seconds: counters.requestSeconds,
    rest_client_rate_limiter_duration_seconds: counters.rateLimiterSeconds,
    controller_runtime_reconcile_time_seconds: counters.reconcileSeconds,
  };
  for (const s of parsePrometheus(text)) {
    const histogram = /^(.*)_(sum|count)$/.exec(s.name);
    const target = histogram ? histograms[histogram[1] ?? ''] : undefined;
    if (histogram && target) {
      target[histogram[2] === 'sum' ? 'sum' : 'count'] += s.value;
      continue;
    }
    switch (s.name) {
      case 'rest_client_requests_total':
        add(counters.requestsByMethod, s.labels.method ?? '?', s.value);
        add(
          counters.requestsByMethodCode,
          `${s.labels.method ?? '?'} ${s.labels.code ?? '?'}`,
          s.value,
        );
        break;
      case 'controller_runtime_reconcile_total':
        add(counters.reconcilesByResult, s.labels.result ?? '?', s.value);
        break;
      case 'process_cpu_seconds_total':
        counters.cpuSeconds = s.value;
        break;
      case 'process_resident_memory_bytes':
        counters.residentBytes = s.value;
        break;
      case 'nodejs_heap_size_used_bytes':
        counters.heapUsedBytes = s.value;
        break;
      case 'nodejs_heap_size_total_bytes':
        counters.heapTotalBytes = s.value;
        break;
      case 'nodejs_external_memory_bytes':
        counters.externalBytes = s.value;
        break;
      case 'workqueue_depth':
        counters.queueDepth += s.value;
        break;
    }
  }
  return counters;
}

export async function scrape(metricsUrl: string): Promise<OperatorCounters> {
  // Generous: a busy operator answers late, and a late answer is still a measurement.
  const response = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`GET ${metricsUrl}/metrics answered ${response.status}`);
  return countersFrom(await response.text());
}

const sum = (map: Record<string, number>) => Object.values(map).reduce((a, b) => a + b, 0);

function mapDelta(
  after: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

/** What happened between two scrapes. */
export interface CounterDelta {
  requests: number;
  writes: number;
  reconciles: number;
  reconcileErrors: number;
  requestsByMethod: Record<string, number>;
  requestsByMethodCode: Record<string, number>;
  reconcilesByResult: Record<string, number>;
  cpuSeconds: number;
  /** Means over the interval, in milliseconds. */
  meanRequestMs: number;
  meanRateLimiterWaitMs: number;
  meanReconcileMs: number;
}

function meanMs(before: SumCount, after: SumCount): number {
  const count = after.count - before.count;
  return count > 0 ? round(((after.sum - before.sum) / count) * 1000, 1) : 0;
}

export function counterDelta(before: OperatorCounters, after: OperatorCounters): CounterDelta {
  const requestsByMethod = mapDelta(after.requestsByMethod, before.requestsByMethod);
  const reconcilesByResult = mapDelta(after.reconcilesByResult, before.reconcilesByResult);
  return {
    requests: sum(requestsByMethod),
    writes: WRITE_METHODS.reduce((n, m) => n + (requestsByMethod[m] ?? 0), 0),
    reconciles: sum(reconcilesByResult),
    reconcileErrors: reconcilesByResult.error ?? 0,
    requestsByMethod,
    requestsByMethodCode: mapDelta(after.requestsByMethodCode, before.requestsByMethodCode),
    reconcilesByResult,
    cpuSeconds: round(after.cpuSeconds - before.cpuSeconds, 2),
    meanRequestMs: meanMs(before.requestSeconds, after.requestSeconds),
    meanRateLimiterWaitMs: meanMs(before.rateLimiterSeconds, after.rateLimiterSeconds),
    meanReconcileMs: meanMs(before.reconcileSeconds, after.reconcileSeconds),
  };
}

/** Resident set size now and its high-water mark, from the kernel (bytes). */
export interface MemoryReading {
  rssBytes: number;
  peakRssBytes: number;
}

export function readMemory(pid: number): MemoryReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssBytes: kb('VmRSS') * 1024, peakRssBytes: kb('VmHWM') * 1024 };
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; undefined if unknown. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** CPU used by each named process and by the machine over an interval. */
export class CpuWatch {
  readonly #pids: Record<string, number>;
  readonly #start: Record<string, number | undefined>;
  readonly #machineStart = machineCpuSeconds();

  constructor(pids: Record<string, number>) {
    this.#pids = pids;
    this.#start = Object.fromEntries(
      Object.entries(pids).map(([n, pid]) => [n, processCpuSeconds(pid)]),
    );
  }

  /** CPU seconds per process since construction, and the machine's busy share (0–1 of all cores). */
  read(): { processes: Record<string, number>; machineBusyShare: number | null } {
    const processes: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.#pids)) {
      const now = processCpuSeconds(pid);
      const start = this.#start[name];
      if (now !== undefined && start !== undefined) processes[name] = round(now - start, 1);
    }
    const end = machineCpuSeconds();
    const start = this.#machineStart;
    const machineBusyShare =
      end && start && end.total > start.total
        ? round((end.busy - start.busy) / (end.total - start.total), 2)
        : null;
    return { processes, machineBusyShare };
  }
}

/**
 * Polls the operator's /healthz as a kubelet would (every 500 ms), recording how long each
 * answer took: a long answer means the event loop was blocked, and a kubelet with the default
 * 1 s probe timeout would have counted a failure.
 */
export class HealthProbe {
  readonly #samples: { at: number; ms: number }[] = [];
  #running = true;
  readonly #done: Promise<void>;

  constructor(healthUrl: string) {
    this.#done = (async () => {
      while (this.#running) {
        const start = performance.now();
        try {
          const response = await fetch(`${healthUrl}/healthz`, {
            signal: AbortSignal.timeout(120_000),
          });
          await response.arrayBuffer();
        } catch {
          // Counted by its duration like any other answer.
        }
        this.#samples.push({ at: start, ms: performance.now() - start });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
  }

  /** Longest answer and answers over 1 s, for probes started in [from, to). */
  between(from: number, to: number): { probes: number; maxMs: number; over1s: number } {
    const inWindow = this.#samples.filter((s) => s.at >= from && s.at < to);
    return {
      probes: inWindow.length,
      maxMs: round(Math.max(0, ...inWindow.map((s) => s.ms)), 0),
      over1s: inWindow.filter((s) => s.ms > 1000).length,
    };
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

export const MiB = (bytes: number) => round(bytes / 2 ** 20, 1);

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Nearest-rank percentiles of a sample (milliseconds or any unit), rounded to 0.1. */
export interface Latencies {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function latencies(values: number[]): Latencies {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return {
    count: sorted.length,
    p50: round(rank(50), 1),
    p90: round(rank(90), 1),
    p99: round(rank(99), 1),
    max: round(sorted.at(-1) ?? Number.NaN, 1),
  };
}
