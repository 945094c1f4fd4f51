import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLmStudio } from '../../test/support/fakes/lmstudio.js';
import { parseSummarizerService, type SummarizerService } from '../api/summarizerservice.js';
import { BackendProber, backendTarget } from './backend.js';

function resource(lmstudio: Record<string, unknown>, model = 'qwen/qwen3-4b'): SummarizerService {
  return parseSummarizerService({
    apiVersion: 'llmplan.io/v1alpha1',
    kind: 'SummarizerService',
    metadata: { name: 'llmplan', namespace: 'dev', uid: 'u1', generation: 1 },
    spec: { lmstudio, summary: { defaultModel: model } },
  });
}

describe('backendTarget', () => {
  it('calls the ExternalName target directly, wherever the operator runs', () => {
    const cr = resource({ externalName: 'lmstudio.internal.company.com', port: 1234 });
    expect(backendTarget(cr, false)).toEqual({
      url: 'http://lmstudio.internal.company.com:1234/v1/models',
    });
    expect(backendTarget(cr, true)).toEqual({
      url: 'http://lmstudio.internal.company.com:1234/v1/models',
    });
  });

  it('uses cluster DNS for a plain Service only from inside the cluster', () => {
    const cr = resource({ serviceName: 'my-llm', port: 1234 });
    expect(backendTarget(cr, true)).toEqual({ url: 'http://my-llm.dev.svc:1234/v1/models' });
    const outside = backendTarget(cr, false);
    expect(outside).toHaveProperty('unprobeable');
    expect((outside as { unprobeable: string }).unprobeable).toContain('my-llm');
  });
});

describe('BackendProber against a fake LM Studio', () => {
  let fake: FakeLmStudio;
  let now = 0;
  beforeAll(async () => {
    fake = await FakeLmStudio.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  const cr = () => resource({ externalName: '127.0.0.1', port: fake.port });

  it('reports reachable, and shares one probe per interval between resources', async () => {
    fake.resetStats();
    const prober = new BackendProber({ intervalMs: 10_000, now: () => now });
    const results = await Promise.all([prober.check(cr(), false), prober.check(cr(), false)]);
    expect(results.map((r) => r.state)).toEqual(['reachable', 'reachable']);
    now += 5_000;
    await prober.check(cr(), false);
    expect(fake.stats.modelsCalls).toBe(1);
    now += 6_000;
    await prober.check(cr(), false);
    expect(fake.stats.modelsCalls).toBe(2);
    expect(fake.stats.chatCalls).toBe(0);
  });

  it('reports a model that is not served', async () => {
    const prober = new BackendProber({ now: () => now });
    const result = await prober.check(
      resource({ externalName: '127.0.0.1', port: fake.port }, 'other/model'),
      false,
    );
    expect(result).toMatchObject({ state: 'unreachable' });
    expect((result as { reason: string }).reason).toContain('does not serve model other/model');
  });

  it('reports an HTTP error and a refused connection as unreachable, with the reason', async () => {
    fake.setMode({ kind: 'always_fail', status: 503 });
    const failing = await new BackendProber({ now: () => now }).check(cr(), false);
    expect((failing as { reason: string }).reason).toContain('HTTP 503');
    fake.setMode({ kind: 'ok' });
    await fake.down();
    try {
      const down = await new BackendProber({ now: () => now }).check(cr(), false);
      expect(down.state).toBe('unreachable');
      expect((down as { reason: string }).reason).toContain('ECONNREFUSED');
    } finally {
      await fake.up();
    }
  });

  it('says unknown when the target cannot be resolved from here', async () => {
    const result = await new BackendProber().check(resource({ serviceName: 'lmstudio' }), false);
    expect(result.state).toBe('unknown');
    expect((result as { reason: string }).reason).toContain('Service lmstudio cannot be resolved');
  });
});
