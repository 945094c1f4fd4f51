import { describe, expect, it } from 'vitest';
import { summarizerService } from '../remediation/fixtures.test-helpers.js';
import { formatRecommendation, recommendationPatch } from './recommend.js';
import { buildTopView, formatTop } from './top.js';

const now = new Date('2026-01-01T00:10:00Z');
const saturated = summarizerService(
  {},
  {
    load: {
      state: 'Saturated',
      message:
        '2/2 pod(s) saturated: 8/8 LM Studio slots in use (100 % over the interval), 20 queued',
      observedTime: '2026-01-01T00:09:55Z',
      since: '2026-01-01T00:08:00Z',
      podsReporting: 2,
      inFlight: 8,
      concurrency: 8,
      queued: 20,
      saturationPercent: 100,
      queueWaitP95Ms: 2400,
      shedPerMinute: 310,
      requestsPerMinute: 900,
      errorsPerMinute: 0,
      backendLatencyMs: 520,
      backendP95Ms: 900,
      backendBaselineMs: 500,
      pods: [
        {
          name: 'llmplan-a',
          state: 'Saturated',
          inFlight: 4,
          concurrency: 4,
          queued: 12,
          saturationPercent: 100,
          queueWaitP95Ms: 2400,
          shedPerMinute: 200,
          backendP95Ms: 900,
          errorsPerMinute: 0,
        },
        {
          name: 'llmplan-b',
          state: 'Unreachable',
          inFlight: 0,
          concurrency: 0,
          queued: 0,
          saturationPercent: 0,
          message: 'no answer within 3000 ms',
        },
      ],
    },
    recommendations: {
      message:
        'from 2 pod(s) over the last hour (metrics-server): CPU p95 200m, memory peak 200Mi per pod',
      cpuObserved: '200m',
      memoryObserved: '200Mi',
      oomKilled: false,
      resources: {
        requests: { cpu: '160m', memory: '220Mi' },
        limits: { cpu: '320m', memory: '332Mi' },
      },
    },
  },
);

describe('llmplanctl top', () => {
  it('prints the state, the figures per pod, the totals and LM Studio’s baseline', () => {
    expect(formatTop(buildTopView(saturated), now)).toBe(
      [
        'llmplan (namespace ns): Saturated for 2m, read 5s ago',
        '  2/2 pod(s) saturated: 8/8 LM Studio slots in use (100 % over the interval), 20 queued',
        '',
        'POD         STATE         IN-FLIGHT   QUEUED   WAIT-P95   SHED/MIN   LLM-P95   ERRORS/MIN   NOTE',
        'llmplan-a   Saturated     4/4         12       2.4s       200        900ms     0',
        'llmplan-b   Unreachable   -           -        -          -          -         -            no answer within 3000 ms',
        'TOTAL                     8/8         20       2.4s       310        900ms     0',
        '',
        "LM Studio's usual latency (light load): 500ms; now 520ms per call",
        '',
      ].join('\n'),
    );
  });

  it('says so when no load was reported', () => {
    expect(formatTop(buildTopView(summarizerService({}, {})), now)).toMatch(
      /^llmplan \(namespace ns\): no load reported yet/,
    );
  });
});

describe('llmplanctl recommend', () => {
  it('prints a merge patch of spec.resources with what it is based on', () => {
    const text = formatRecommendation(saturated, recommendationPatch(saturated));
    expect(text).toContain('# SummarizerService ns/llmplan: from 2 pod(s) over the last hour');
    expect(text).toContain('# Now: requests cpu 500m memory 512Mi, limits cpu 1000m memory 1Gi.');
    expect(text).toMatch(
      /kubectl patch sumsvc llmplan -n ns --type merge --patch-file patch\.yaml\n/,
    );
    expect(
      text
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n'),
    ).toBe(
      [
        'spec:',
        '  resources:',
        '    requests:',
        '      cpu: 160m',
        '      memory: 220Mi',
        '    limits:',
        '      cpu: 320m',
        '      memory: 332Mi',
        '',
      ].join('\n'),
    );
  });

  it('refuses, with the reason, when there is no advice', () => {
    expect(() =>
      recommendationPatch(
        summarizerService({}, { recommendations: { message: 'metrics.k8s.io is not served' } }),
      ),
    ).toThrow(/has no resource advice: metrics.k8s.io is not served/);
    expect(() => recommendationPatch(summarizerService({}, {}))).toThrow(/no resource advice yet/);
  });
});
