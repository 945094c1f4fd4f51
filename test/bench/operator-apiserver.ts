/**
 * The yardstick for the other scenarios: how many requests per second the cluster's API
 * server answers, with no operator running. An admin client sends the request kinds a new
 * SummarizerService costs (a GET that answers 404, a server-side apply that creates, one that
 * changes nothing, a plain create) for small ConfigMaps, one at a time and 8 at a time (the
 * operator's default workers). Nothing is a target; it says what the API server can give.
 */
import { builtin, type KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import type { Row, Scenario, ScenarioReport } from './operator-context.js';
import { type Latencies, latencies, round } from './operator-metrics.js';

const REQUESTS = 200;
const CONCURRENCIES = [1, 8] as const;

interface Measure extends Latencies {
  request: string;
  concurrency: number;
  meanMs: number;
  perSecond: number;
}

async function measure(
  request: string,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<Measure> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < REQUESTS; i = next++) {
        const sent = performance.now();
        await call(i);
        times.push(performance.now() - sent);
      }
    }),
  );
  const wallMs = performance.now() - started;
  return {
    request,
    concurrency,
    ...latencies(times),
    meanMs: round(times.reduce((a, b) => a + b, 0) / times.length, 1),
    perSecond: Math.round((REQUESTS / wallMs) * 1000),
  };
}

function configMap(namespace: string, name: string): KubeObject {
  const object: KubeObject & { data: Record<string, string> } = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: { LMSTUDIO_MODEL: 'qwen/qwen3-4b', SUMMARY_PROMPT: 'x'.repeat(500) },
  };
  return object;
}

async function measureAll(client: KubeClient, namespace: string): Promise<Measure[]> {
  const out: Measure[] = [];
  const applied = { fieldManager: 'bench', force: true };
  for (const c of CONCURRENCIES) {
    out.push(
      await measure('GET → 404', c, (i) =>
        client.find(builtin.configMaps, `absent-${i}`, namespace),
      ),
    );
    out.push(
      await measure('apply, creates', c, (i) =>
        client.apply(builtin.configMaps, configMap(namespace, `a${c}-${i}`), applied),
      ),
    );
    out.push(
      await measure('apply, no change', c, (i) =>
        client.apply(builtin.configMaps, configMap(namespace, `a${c}-${i}`), applied),
      ),
    );
    out.push(
      await measure('POST create', c, (i) =>
        client.create(builtin.configMaps, configMap(namespace, `p${c}-${i}`)),
      ),
    );
  }
  return out;
}

export const apiserverScenario: Scenario = {
  description:
    'the API server alone: requests/s and latency of small reads and writes, 1 and 8 at a time',
  async run(ctx): Promise<ScenarioReport> {
    const namespace = await ctx.createNamespace('bench-apiserver');
    let measures: Measure[];
    try {
      measures = await measureAll(ctx.client, namespace);
    } finally {
      await ctx.deleteNamespace(namespace);
    }
    const rows: Row[] = measures.map((m) => ({
      request: `${m.request}, ${m.concurrency} at a time`,
      'requests/s': m.perSecond,
      'mean ms': m.meanMs,
      'p50 ms': m.p50,
      'p99 ms': m.p99,
    }));
    return { rows, targets: [], results: { requestsPerCase: REQUESTS, measures } };
  },
};
