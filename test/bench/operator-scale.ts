/**
 * Scenario `scale` (issue 4): for each size N, N SummarizerServices are created at once in a
 * fresh namespace under a freshly started operator, and the benchmark measures
 *
 *   - apply → all children: from the first create request to the moment the last expected
 *     child of the last resource is seen by the benchmark's own watches;
 *   - per resource create → children latency (p50/p99): from its create request to the first
 *     sighting of its last expected child; create → Ready likewise, from status;
 *   - API requests per reconcile while converging (operator's rest_client_requests_total delta
 *     ÷ controller_runtime_reconcile_total delta);
 *   - writes (POST/PUT/PATCH/DELETE) during an idle window after everything is Ready and quiet,
 *     with the number of reconciles that window contained: each resource's ConfigMap is
 *     annotated once at its start (a reconcile with nothing to change; --no-idle-touch skips
 *     it), plus resyncs and requeues;
 *   - operator RSS: at start, its high-water mark, and at the end of the idle window.
 *
 * Expected children come from the operator's own pure `desiredState` applied to the object
 * the API server returned (CRD defaults included), so the benchmark follows the reconciler.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { LABELS, MANAGER } from '../../operator/api/labels.js';
import { safeParseSummarizerService } from '../../operator/api/summarizerservice.js';
import { desiredState } from '../../operator/desired/state.js';
import { objectForCache, podForCache, replicaSetForCache } from '../../operator/reconcile/cache.js';
import { childResources, summarizerServices } from '../../operator/reconcile/resources.js';
import {
  builtin,
  Informer,
  type KubeObject,
  type ResourceDescriptor,
  sleep,
} from '../../operator/runtime/index.js';
import type {
  BenchContext,
  OperatorUnderTest,
  Row,
  Scenario,
  TargetCheck,
} from './operator-context.js';
import {
  type CounterDelta,
  CpuWatch,
  counterDelta,
  HealthProbe,
  type Latencies,
  latencies,
  MiB,
  type OperatorCounters,
  round,
  scrape,
} from './operator-metrics.js';

const run = promisify(execFile);

/** Issue 4's targets. */
const TARGETS = {
  allReconciledSeconds: 60,
  allReconciledAt: 1000,
  p99Ms: 1000,
  p99At: 100,
  idleWrites: 0,
  rssMiB: 150,
};
/** The operator is "quiet" after this long without a write and with an empty queue. */
const QUIET_MS = 5000;
const SETTLE_LIMIT_MS = 60_000;

type CpuReading = ReturnType<CpuWatch['read']>;
type HealthWindow = ReturnType<HealthProbe['between']>;

export interface ScaleResult {
  size: number;
  namespace: string;
  createSeconds: number;
  createFailures: number;
  createRequestMs: Latencies;
  /** First create request → last expected child seen; null if not reached in time. */
  allChildrenSeconds: number | null;
  allReadySeconds: number | null;
  childrenLatencyMs: Latencies;
  readyLatencyMs: Latencies;
  withoutAllChildren: number;
  /** What the operator caches per object of each kind (JSON bytes; managedFields share). */
  objectBytes: Record<
    string,
    {
      count: number;
      meanBytes: number;
      meanManagedFieldsBytes: number;
      /** Heap per object as the API returns it, and as the operator's cache transform keeps it. */
      meanHeapBytes: number;
      meanCachedHeapBytes: number;
    }
  >;
  /**
   * CPU seconds per process (operator, benchmark, control plane) and the machine's busy share
   * (0–1 of all cores, every process on the machine included) per phase.
   */
  cpu: { converge: CpuReading; idle: CpuReading };
  /** /healthz answer times seen by a kubelet-like poller: event-loop stalls of the operator. */
  healthz: { converge: HealthWindow; idle: HealthWindow };
  /** The operator's own log over the run: error and warning lines by message. */
  operatorLog: { errors: Record<string, number>; warnings: Record<string, number> };
  notReady: number;
  /** From the first create to the end of settling. */
  converge: CounterDelta & {
    seconds: number;
    requestsPerReconcile: number;
    reconcilesPerResource: number;
    writesPerResource: number;
  };
  settledQuietly: boolean;
  /** `touched`: resources annotated at the start of the window (--no-idle-touch: 0). */
  idle: CounterDelta & { seconds: number; touched: number };
  memoryMiB: {
    start: number;
    peak: number;
    idle: number;
    heapUsedIdle: number;
    heapTotalIdle: number;
    externalIdle: number;
  };
  loadAverage: { before: number[]; after: number[] };
}

/** A SummarizerService as small as the pods allow: 10m CPU, 32Mi, so 1000 fit on kwok nodes. */
function benchResource(name: string, namespace: string, replicas: number) {
  return {
    apiVersion: `${summarizerServices.group}/${summarizerServices.version}`,
    kind: summarizerServices.kind,
    metadata: { name, namespace },
    spec: {
      image: { tag: 'v0.1.0' },
      replicas,
      resources: { requests: { cpu: '10m', memory: '32Mi' } },
    },
  };
}

interface Tracked {
  requestedAt: number;
  expected: Set<string> | undefined;
  generation: number;
  childrenAt?: number;
  readyAt?: number;
}

/** Watches what the operator produces and records when each resource is complete and Ready. */
class Observer {
  readonly byUid = new Map<string, Tracked>();
  /** Child first sightings by owner uid, also for owners whose create has not returned yet. */
  readonly #seen = new Map<string, Map<string, number>>();
  readonly #ready = new Map<string, number>();
  readonly informers: Informer<KubeObject>[] = [];
  complete = 0;
  ready = 0;

  constructor(ctx: BenchContext, namespace: string) {
    const selector = `${LABELS.managedBy}=${MANAGER}`;
    for (const resource of childResources) {
      const informer = new Informer<KubeObject>(ctx.client, resource, {
        namespace,
        labelSelector: selector,
        resyncPeriodMs: 0,
      });
      informer.addHandler({
        onAdd: (obj) => this.#onChild(`${resource.kind}/${obj.metadata.name}`, obj),
      });
      this.informers.push(informer);
    }
    const primaries = new Informer<KubeObject>(ctx.client, summarizerServices, {
      namespace,
      resyncPeriodMs: 0,
    });
    const onResource = (obj: KubeObject) => this.#onResource(obj);
    primaries.addHandler({ onAdd: onResource, onUpdate: (_old, obj) => onResource(obj) });
    this.informers.push(primaries);
  }

  async start(): Promise<void> {
    for (const informer of this.informers) informer.start();
    await Promise.all(this.informers.map((i) => i.waitForSync(AbortSignal.timeout(30_000))));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  track(uid: string, requestedAt: number, created: KubeObject, defaultImage: string): void {
    const parsed = safeParseSummarizerService(created);
    if (!parsed.success) throw parsed.error;
    const expected = new Set(
      desiredState(parsed.data, { defaultImage }).objects.map(
        (o) => `${o.kind}/${o.metadata.name}`,
      ),
    );
    this.byUid.set(uid, { requestedAt, expected, generation: created.metadata.generation ?? 1 });
    this.#check(uid);
    const readyAt = this.#ready.get(uid);
    if (readyAt !== undefined) this.#markReady(uid, readyAt);
  }

  #onChild(key: string, obj: KubeObject): void {
    const now = performance.now();
    const owner = obj.metadata.ownerReferences?.find((r) => r.controller);
    if (!owner) return;
    let seen = this.#seen.get(owner.uid);
    if (!seen) {
      seen = new Map();
      this.#seen.set(owner.uid, seen);
    }
    if (!seen.has(key)) seen.set(key, now);
    this.#check(owner.uid);
  }

  #check(uid: string): void {
    const tracked = this.byUid.get(uid);
    const seen = this.#seen.get(uid);
    if (!tracked?.expected || !seen || tracked.childrenAt !== undefined) return;
    let last = 0;
    for (const key of tracked.expected) {
      const at = seen.get(key);
      if (at === undefined) return;
      last = Math.max(last, at);
    }
    tracked.childrenAt = last;
    this.complete++;
  }

  #onResource(obj: KubeObject): void {
    const uid = obj.metadata.uid ?? '';
    if (this.#ready.has(uid)) return;
    const status = (
      obj as {
        status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
      }
    ).status;
    const isReady =
      status?.observedGeneration === obj.metadata.generation &&
      status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!isReady) return;
    const now = performance.now();
    this.#ready.set(uid, now);
    this.#markReady(uid, now);
  }

  #markReady(uid: string, at: number): void {
    const tracked = this.byUid.get(uid);
    if (!tracked || tracked.readyAt !== undefined) return;
    tracked.readyAt = at;
    this.ready++;
  }
}

async function createAll(
  ctx: BenchContext,
  observer: Observer,
  namespace: string,
  size: number,
): Promise<{ failures: number; requestMs: number[] }> {
  const names = Array.from({ length: size }, (_, i) => `sumsvc-${String(i).padStart(4, '0')}`);
  const requestMs: number[] = [];
  let failures = 0;
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++] ?? '';
      const requestedAt = performance.now();
      try {
        const created = await ctx.client.create(
          summarizerServices,
          benchResource(name, namespace, ctx.options.replicas),
        );
        requestMs.push(performance.now() - requestedAt);
        observer.track(
          created.metadata.uid ?? '',
          requestedAt,
          created,
          'ghcr.io/llmplan/summarizer',
        );
      } catch (error) {
        failures++;
        if (failures <= 3) ctx.log(`create ${name} failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: ctx.options.createConcurrency }, worker));
  return { failures, requestMs };
}

/**
 * Annotates each resource's ConfigMap once, as another tool might: the operator reconciles
 * the owner and must find nothing to change. (The resource's own metadata would not do: the
 * operator ignores changes to a SummarizerService that leave its generation alone.)
 * Returns how many were touched.
 */
async function touchAll(ctx: BenchContext, namespace: string, size: number): Promise<number> {
  const at = new Date().toISOString();
  let next = 0;
  let touched = 0;
  const worker = async () => {
    for (let i = next++; i < size; i = next++) {
      await ctx.client.patch(
        builtin.configMaps,
        `sumsvc-${String(i).padStart(4, '0')}-config`,
        namespace,
        { metadata: { annotations: { 'bench.llmplan.io/touched': at } } },
        { type: 'merge' },
      );
      touched++;
    }
  };
  await Promise.all(Array.from({ length: ctx.options.createConcurrency }, worker));
  return touched;
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Waits until the operator wrote nothing for QUIET_MS and its queue is empty (bounded). */
async function settle(operator: OperatorUnderTest): Promise<boolean> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  let last = await scrape(operator.metricsUrl);
  let quietSince = performance.now();
  while (performance.now() < deadline) {
    await sleep(1000);
    const now = await scrape(operator.metricsUrl).catch(() => undefined);
    if (!now) continue;
    if (counterDelta(last, now).writes > 0 || now.queueDepth > 0) quietSince = performance.now();
    last = now;
    if (performance.now() - quietSince >= QUIET_MS) return true;
  }
  return false;
}

/**
 * Heap bytes per parsed object, measured in a fresh Node process (nothing else allocating):
 * each kind's items are parsed and kept, between two full collections.
 */
const HEAP_PROBE = `
const fs = require('node:fs');
const lists = JSON.parse(fs.readFileSync(0, 'utf8'));
const kept = [];
const out = {};
for (const [kind, text] of Object.entries(lists)) {
  gc(); gc();
  const before = process.memoryUsage().heapUsed;
  kept.push(JSON.parse(text));
  gc(); gc();
  out[kind] = process.memoryUsage().heapUsed - before;
}
process.stdout.write(JSON.stringify(out));
`;

async function heapBytesOf(lists: Record<string, string>): Promise<Record<string, number>> {
  const child = run(process.execPath, ['--expose-gc', '-e', HEAP_PROBE], { maxBuffer: 1 << 20 });
  child.child.stdin?.end(JSON.stringify(lists));
  return JSON.parse((await child).stdout) as Record<string, number>;
}

/** The operator's informer transform for a kind (operator/reconcile/controller.ts). */
function cachedForm(resource: ResourceDescriptor): (obj: KubeObject) => KubeObject {
  if (resource === builtin.pods) return podForCache;
  if (resource === builtin.replicaSets) return replicaSetForCache;
  return objectForCache;
}

/** Sizes of the objects the operator's informers hold for these resources (one list per kind). */
async function measureObjects(
  ctx: BenchContext,
  namespace: string,
): Promise<ScaleResult['objectBytes']> {
  const out: ScaleResult['objectBytes'] = {};
  const texts: Record<string, string> = {};
  const kinds = [
    summarizerServices,
    ...childResources,
    builtin.pods,
    builtin.replicaSets,
    builtin.controllerRevisions,
  ];
  for (const resource of kinds) {
    const list = await ctx.client.list<KubeObject>(resource, { namespace });
    if (list.items.length === 0) continue;
    texts[resource.kind] = JSON.stringify(list.items);
    texts[`${resource.kind}/cached`] = JSON.stringify(list.items.map(cachedForm(resource)));
    let bytes = 0;
    let managed = 0;
    for (const item of list.items) {
      bytes += Buffer.byteLength(JSON.stringify(item));
      managed += Buffer.byteLength(JSON.stringify(item.metadata.managedFields ?? []));
    }
    out[resource.kind] = {
      count: list.items.length,
      meanBytes: Math.round(bytes / list.items.length),
      meanManagedFieldsBytes: Math.round(managed / list.items.length),
      meanHeapBytes: 0,
      meanCachedHeapBytes: 0,
    };
  }
  const heap = await heapBytesOf(texts);
  for (const [kind, entry] of Object.entries(out)) {
    entry.meanHeapBytes = Math.round((heap[kind] ?? 0) / entry.count);
    entry.meanCachedHeapBytes = Math.round((heap[`${kind}/cached`] ?? 0) / entry.count);
  }
  return out;
}

function logSummary(operator: OperatorUnderTest): ScaleResult['operatorLog'] {
  const summary: ScaleResult['operatorLog'] = { errors: {}, warnings: {} };
  for (const line of operator.logs) {
    const bucket =
      line.level === 'error' || line.level === 'fatal'
        ? summary.errors
        : line.level === 'warn'
          ? summary.warnings
          : undefined;
    if (bucket) bucket[String(line.msg)] = (bucket[String(line.msg)] ?? 0) + 1;
  }
  for (const raw of operator.rawLines) {
    summary.warnings[raw.slice(0, 120)] = (summary.warnings[raw.slice(0, 120)] ?? 0) + 1;
  }
  return summary;
}

const seconds = (ms: number) => round(ms / 1000, 2);

async function runSize(ctx: BenchContext, size: number): Promise<ScaleResult> {
  const { options } = ctx;
  const loadBefore = loadavg().map((l) => round(l, 2));
  const namespace = await ctx.createNamespace(`llmplan-bench-${size}`);
  const observer = new Observer(ctx, namespace);
  await observer.start();
  const operator = await ctx.startOperator([namespace]);
  let health: HealthProbe | undefined;
  try {
    const startRss =
      operator.memory()?.rssBytes ?? (await scrape(operator.metricsUrl)).residentBytes;
    const baseline: OperatorCounters = await scrape(operator.metricsUrl);
    const timeoutMs = options.phaseTimeoutSeconds * 1000;

    ctx.log(
      `size ${size}: creating ${size} SummarizerServices in ${namespace} (${options.createConcurrency} at a time)`,
    );
    const cpuPids = { operator: operator.pid, benchmark: process.pid, ...ctx.cluster.processes() };
    const convergeCpu = new CpuWatch(cpuPids);
    health = new HealthProbe(operator.healthUrl);
    const t0 = performance.now();
    const created = await createAll(ctx, observer, namespace, size);
    const createSeconds = seconds(performance.now() - t0);
    const expected = size - created.failures;
    ctx.log(
      `size ${size}: created in ${createSeconds} s; waiting for children (${observer.complete}/${expected} complete)`,
    );
    const allChildren = await until(() => observer.complete >= expected, timeoutMs);
    const tracked = [...observer.byUid.values()];
    const childrenDone = tracked.flatMap((t) => (t.childrenAt === undefined ? [] : [t.childrenAt]));
    ctx.log(
      `size ${size}: ${observer.complete}/${expected} with all children; waiting for Ready (${observer.ready})`,
    );
    const allReady = await until(() => observer.ready >= expected, timeoutMs);
    const readyDone = tracked.flatMap((t) => (t.readyAt === undefined ? [] : [t.readyAt]));
    ctx.log(`size ${size}: ${observer.ready}/${expected} Ready; settling`);
    const settledQuietly = await settle(operator);
    const convergeEnd = await scrape(operator.metricsUrl);
    const convergeMs = performance.now() - t0;
    const peakAfterConverge = operator.memory()?.peakRssBytes ?? convergeEnd.residentBytes;

    ctx.log(`size ${size}: idle for ${options.idleSeconds} s`);
    const convergeCpuReading = convergeCpu.read();
    const idleCpu = new CpuWatch(cpuPids);
    const idleStart = performance.now();
    const touched = options.idleTouch ? await touchAll(ctx, namespace, size) : 0;
    await sleep(Math.max(0, options.idleSeconds * 1000 - (performance.now() - idleStart)));
    const idleEnd = await scrape(operator.metricsUrl);
    const idleMs = performance.now() - idleStart;
    const idleCpuReading = idleCpu.read();
    const idleEndAt = performance.now();
    await health.stop();
    const memory = operator.memory();
    const objectBytes = await measureObjects(ctx, namespace);
    await operator.heapSnapshot();
    const converge = counterDelta(baseline, convergeEnd);
    const result: ScaleResult = {
      size,
      namespace,
      createSeconds,
      createFailures: created.failures,
      createRequestMs: latencies(created.requestMs),
      allChildrenSeconds: allChildren ? seconds(Math.max(...childrenDone) - t0) : null,
      allReadySeconds: allReady ? seconds(Math.max(...readyDone) - t0) : null,
      childrenLatencyMs: latencies(
        tracked.flatMap((t) => (t.childrenAt === undefined ? [] : [t.childrenAt - t.requestedAt])),
      ),
      readyLatencyMs: latencies(
        tracked.flatMap((t) => (t.readyAt === undefined ? [] : [t.readyAt - t.requestedAt])),
      ),
      withoutAllChildren: expected - observer.complete,
      notReady: expected - observer.ready,
      objectBytes,
      cpu: { converge: convergeCpuReading, idle: idleCpuReading },
      healthz: {
        converge: health.between(t0, idleStart),
        idle: health.between(idleStart, idleEndAt),
      },
      operatorLog: logSummary(operator),
      converge: {
        ...converge,
        seconds: seconds(convergeMs),
        requestsPerReconcile: round(converge.requests / Math.max(1, converge.reconciles), 2),
        reconcilesPerResource: round(converge.reconciles / Math.max(1, expected), 2),
        writesPerResource: round(converge.writes / Math.max(1, expected), 2),
      },
      settledQuietly,
      idle: { ...counterDelta(convergeEnd, idleEnd), seconds: seconds(idleMs), touched },
      memoryMiB: {
        start: MiB(startRss),
        peak: MiB(Math.max(memory?.peakRssBytes ?? 0, peakAfterConverge)),
        idle: MiB(memory?.rssBytes ?? idleEnd.residentBytes),
        heapUsedIdle: MiB(idleEnd.heapUsedBytes),
        heapTotalIdle: MiB(idleEnd.heapTotalBytes),
        externalIdle: MiB(idleEnd.externalBytes),
      },
      loadAverage: { before: loadBefore, after: loadavg().map((l) => round(l, 2)) },
    };
    return result;
  } finally {
    await health?.stop();
    await operator.stop();
    await observer.stop();
    ctx.saveLogs(`operator-scale-${size}`, operator);
    ctx.log(`size ${size}: deleting ${namespace}`);
    if (!(await ctx.deleteNamespace(namespace))) {
      ctx.log(
        `size ${size}: ${namespace} still terminating after ${options.phaseTimeoutSeconds} s; continuing`,
      );
    }
  }
}

function cpuOf(reading: CpuReading, ...names: string[]): string {
  const values = names.map((n) => reading.processes[n]);
  return values.some((v) => v === undefined)
    ? 'n/a'
    : String(
        round(
          values.reduce<number>((a, v) => a + (v ?? 0), 0),
          1,
        ),
      );
}

const percent = (share: number | null) => (share === null ? 'n/a' : `${Math.round(share * 100)}%`);

function row(r: ScaleResult): Row {
  const orDash = (v: number | null) => (v === null ? 'timeout' : v);
  return {
    size: r.size,
    'apply→all children s': orDash(r.allChildrenSeconds),
    'apply→all Ready s': orDash(r.allReadySeconds),
    'children p50 ms': r.childrenLatencyMs.p50,
    'children p99 ms': r.childrenLatencyMs.p99,
    'Ready p99 ms': r.readyLatencyMs.p99,
    'reconciles/CR': r.converge.reconcilesPerResource,
    'requests/reconcile': r.converge.requestsPerReconcile,
    'writes/CR': r.converge.writesPerResource,
    'mean reconcile ms': r.converge.meanReconcileMs,
    'mean API request ms': r.converge.meanRequestMs,
    'mean QPS-limiter wait ms': r.converge.meanRateLimiterWaitMs,
    'reconcile errors conv/idle': `${r.converge.reconcileErrors}/${r.idle.reconcileErrors}`,
    'idle writes': r.idle.writes,
    'idle reconciles': r.idle.reconciles,
    'RSS start/peak/idle MiB': `${r.memoryMiB.start}/${r.memoryMiB.peak}/${r.memoryMiB.idle}`,
    'max /healthz ms conv/idle': `${r.healthz.converge.maxMs}/${r.healthz.idle.maxMs}`,
    'operator CPU s conv/idle': `${r.converge.cpuSeconds}/${r.idle.cpuSeconds}`,
    'apiserver+etcd CPU s conv': cpuOf(r.cpu.converge, 'kube-apiserver', 'etcd'),
    'machine busy conv/idle': `${percent(r.cpu.converge.machineBusyShare)}/${percent(r.cpu.idle.machineBusyShare)}`,
    load1: `${r.loadAverage.before[0]}→${r.loadAverage.after[0]}`,
  };
}

function targets(results: ScaleResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const r of results) {
    if (r.size === TARGETS.allReconciledAt) {
      checks.push({
        what: `${r.size} reconciled (apply → all children)`,
        target: `≤ ${TARGETS.allReconciledSeconds} s`,
        measured: r.allChildrenSeconds === null ? 'timeout' : `${r.allChildrenSeconds} s`,
        met: r.allChildrenSeconds !== null && r.allChildrenSeconds <= TARGETS.allReconciledSeconds,
      });
    }
    if (r.size === TARGETS.p99At) {
      checks.push({
        what: `p99 create → children at ${r.size}`,
        target: `≤ ${TARGETS.p99Ms} ms`,
        measured: `${r.childrenLatencyMs.p99} ms`,
        met: r.withoutAllChildren === 0 && r.childrenLatencyMs.p99 <= TARGETS.p99Ms,
      });
    }
    checks.push({
      what: `idle writes at ${r.size} (${r.idle.seconds} s, ${r.idle.touched} touched, ${r.idle.reconciles} reconciles)`,
      target: `${TARGETS.idleWrites}`,
      measured:
        r.idle.reconciles > 0 ? `${r.idle.writes}` : `${r.idle.writes}, but no reconcile ran`,
      // Zero writes only proves something if reconciles ran in the window.
      met: r.idle.writes === TARGETS.idleWrites && r.idle.reconciles > 0,
    });
    checks.push({
      what: `operator peak RSS at ${r.size}`,
      target: `≤ ${TARGETS.rssMiB} MiB`,
      measured: `${r.memoryMiB.peak} MiB`,
      met: r.memoryMiB.peak <= TARGETS.rssMiB,
    });
  }
  return checks;
}

export const scaleScenario: Scenario = {
  description:
    'N SummarizerServices at once: apply → children, requests/reconcile, idle writes, RSS',
  async run(ctx) {
    const results: ScaleResult[] = [];
    for (const size of ctx.options.sizes) {
      results.push(await runSize(ctx, size));
    }
    return { rows: results.map(row), targets: targets(results), results };
  },
};
