import { describe, expect, it } from 'vitest';
import { advise, type UsageSample } from './advice.js';

const MI = 2 ** 20;
const samples = (cpus: number[], memoryMi: number[]): UsageSample[] =>
  cpus.map((cpu, i) => ({
    time: i * 30_000,
    pod: `p-${i % 2}`,
    cpu,
    memory: (memoryMi[i] ?? 0) * MI,
  }));

describe('advise (the runbook’s tuning rules)', () => {
  it('CPU requests ≈ 80 % of the p95 used, limits 2×; memory requests = peak + 10 %, limits 1.5×', () => {
    const usage = samples(
      [
        0.1, 0.12, 0.2, 0.18, 0.11, 0.5, 0.15, 0.16, 0.14, 0.13, 0.12, 0.11, 0.1, 0.1, 0.1, 0.1,
        0.1, 0.1, 0.1, 0.1,
      ],
      [
        150, 160, 170, 200, 180, 190, 175, 170, 165, 160, 150, 150, 150, 150, 150, 150, 150, 150,
        150, 150,
      ],
    );
    expect(advise({ samples: usage, oomKilled: false, window: 'the last hour' })).toEqual({
      message:
        'from 2 pod(s) over the last hour (metrics-server): CPU p95 200m, memory peak 200Mi per pod',
      cpuObserved: '200m',
      memoryObserved: '200Mi',
      oomKilled: false,
      resources: {
        requests: { cpu: '160m', memory: '220Mi' },
        limits: { cpu: '320m', memory: '332Mi' },
      },
    });
  });

  it('after an OOMKilled: limits 2× requests, never below the limit the operator had to raise', () => {
    const usage = samples([0.05, 0.05, 0.05], [90, 95, 100]);
    const advice = advise({ samples: usage, oomKilled: true, memoryLimit: '384Mi', window: 'x' });
    expect(advice.resources).toEqual({
      requests: { cpu: '40m', memory: '112Mi' },
      limits: { cpu: '80m', memory: '384Mi' },
    });
    expect(
      advise({ samples: usage, oomKilled: true, memoryLimit: '64Mi', window: 'x' }).resources
        ?.limits.memory,
    ).toBe('224Mi');
  });

  it('gives no advice on fewer than three samples, and says so', () => {
    expect(advise({ samples: samples([0.1], [100]), oomKilled: false, window: 'x' })).toEqual({
      message: '1 usage sample(s) from metrics-server so far; advice after 3',
    });
  });
});
