/**
 * examples/argocd/health.lua run in a real Lua VM (wasmoon) over recorded SummarizerService
 * states, the way Argo CD runs it: a global `obj` built from the object's JSON, and the
 * script's returned table as the health. Fast and without Argo CD; the verdict of Argo CD's
 * own Lua VM on the same states is hack/argocd/health.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LuaEngine, LuaFactory } from 'wasmoon';
import { parse } from 'yaml';
import { parseSummarizerService } from '../../operator/api/summarizerservice.js';
import { computeStatus, type StatusObservation } from '../../operator/status/compute.js';
import { summarizerService } from '../support/fixtures/summarizer-service.js';

const argocdDir = fileURLToPath(new URL('../../examples/argocd/', import.meta.url));
const script = readFileSync(`${argocdDir}health.lua`, 'utf8');

interface Health {
  status: string;
  message?: string;
}

/** JSON → a Lua table constructor: arrays are 1-based sequences, null is absent. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value); // JSON escapes are valid Lua escapes here
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  const fields = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`);
  return `{${fields.join(', ')}}`;
}

let lua: LuaEngine;
beforeAll(async () => {
  lua = await new LuaFactory().createEngine();
});
afterAll(() => {
  lua.global.close();
});

async function health(obj: unknown): Promise<Health> {
  await lua.doString(`obj = ${toLua(obj)}`);
  return (await lua.doString(script)) as Health;
}

describe('health.lua on recorded states (health_test.yaml)', () => {
  const { tests } = parse(readFileSync(`${argocdDir}health_test.yaml`, 'utf8')) as {
    tests: { healthStatus: Health; inputPath: string }[];
  };

  it('covers every Argo CD health the operator can mean', () => {
    const statuses = new Set(tests.map((t) => t.healthStatus.status));
    expect([...statuses].sort()).toEqual(['Degraded', 'Healthy', 'Progressing', 'Suspended']);
  });

  it.each(tests.map((t) => [t.inputPath, t] as const))('%s', async (inputPath, test) => {
    const obj = parse(readFileSync(`${argocdDir}${inputPath}`, 'utf8'));
    // A recorded state is one the CRD accepts, status included.
    expect(() => parseSummarizerService(obj)).not.toThrow();
    expect(await health(obj)).toEqual(test.healthStatus);
  });
});

describe('health.lua agrees with the status the operator computes', () => {
  const deployment = (
    updated: number,
    conditions: { type: string; status: string; reason: string }[],
  ) => ({
    metadata: { generation: 1 },
    spec: { replicas: 2, selector: {}, template: {} },
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: updated,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions,
    },
  });
  const available = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' };
  const deadline = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' };
  const cases: [string, Partial<StatusObservation>, string][] = [
    ['complete rollout', { deployment: deployment(2, [available]) }, 'Healthy'],
    ['rollout under way', { deployment: deployment(1, [available]) }, 'Progressing'],
    ['deadline exceeded', { deployment: deployment(1, [available, deadline]) }, 'Degraded'],
    ['no Deployment yet', { deployment: undefined }, 'Progressing'],
    [
      'backend down',
      {
        deployment: deployment(2, [available]),
        backend: { state: 'unreachable', reason: 'timeout' },
      },
      'Degraded',
    ],
    [
      'conflict',
      { deployment: undefined, conflicts: [{ kind: 'Deployment', name: 'llmplan' }] },
      'Degraded',
    ],
    [
      'rolled back',
      {
        deployment: deployment(2, [available]),
        conditionOverrides: [
          { type: 'Degraded', status: 'True', reason: 'RolledBack', message: 'back to abc' },
        ],
      },
      'Degraded',
    ],
  ];

  it.each(cases)('%s → %s', async (_title, partial, expected) => {
    const cr = summarizerService({ replicas: 2 }, { generation: 1 });
    const status = computeStatus({
      cr,
      backend: { state: 'reachable' },
      conflicts: [],
      now: new Date(),
      ...partial,
    } as StatusObservation);
    expect((await health({ ...cr, status })).status).toBe(expected);
  });

  it('reports a paused resource as Suspended whatever its status', async () => {
    const cr = summarizerService({ paused: true }, { generation: 1 });
    const status = computeStatus({
      cr,
      backend: { state: 'unknown' },
      conflicts: [],
      now: new Date(),
    });
    expect(await health({ ...cr, status })).toMatchObject({ status: 'Suspended' });
  });
});

describe('argocd-cm.yaml', () => {
  it('installs health.lua verbatim and annotation tracking', () => {
    const cm = parse(readFileSync(`${argocdDir}argocd-cm.yaml`, 'utf8')) as {
      data: Record<string, string>;
    };
    expect(cm.data['resource.customizations.health.llmplan.io_SummarizerService']).toBe(script);
    expect(cm.data['application.resourceTrackingMethod']).toBe('annotation');
  });
});

describe('toLua', () => {
  it('builds 1-based sequences and skips nulls', async () => {
    await lua.doString(`t = ${toLua({ a: [10, 20], b: null, 'c-d': 'x"y' })}`);
    expect(await lua.doString('return {t.a[1] + t.a[2], t.b == nil, t["c-d"]}')).toEqual([
      30,
      true,
      'x"y',
    ]);
  });
});
