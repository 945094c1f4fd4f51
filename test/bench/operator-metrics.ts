/**
 * What the benchmark reads from the operator under test: its own Prometheus counters
 * (client-go's `rest_client_requests_total`, controller-runtime's reconcile counters,
 * Node's process metrics) and the kernel's view of its memory (/proc/<pid>/status).
 */
import { readFileSync } from 'node:fs';

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
      case 'workqueue_depth':
        counters.queueDepth += s.value;
        break;
    }
  }
  return counters;
}

export async function scrape(metricsUrl: string): Promise<OperatorCounters> {
  const response = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
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

export const MiB = (bytes: number) => round(bytes / 2 ** 20, 1);

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
