import { describe, expect, it } from 'vitest';
import {
  age,
  formatChanges,
  formatHistory,
  formatRevision,
  formatStatus,
  humanDuration,
  renderTable,
  secondsOnly,
} from './format.js';
import type { HistoryView, StatusView } from './views.js';

const now = new Date('2026-01-03T01:00:00Z');
const s = 1000;
const h = 3600 * s;

describe('humanDuration', () => {
  it("matches kubectl's HumanDuration", () => {
    const cases: [number, string][] = [
      [-2 * s, '<invalid>'],
      [-500, '0s'],
      [0, '0s'],
      [s, '1s'],
      [119 * s, '119s'],
      [120 * s, '2m'],
      [190 * s, '3m10s'],
      [70 * 60 * s, '70m'],
      [3 * h, '3h'],
      [3 * h + 20 * 60 * s, '3h20m'],
      [47 * h, '47h'],
      [49 * h, '2d1h'],
      [8 * 24 * h, '8d'],
      [367 * 24 * h, '367d'],
      [2 * 365 * 24 * h, '2y'],
      [(2 * 365 + 1) * 24 * h, '2y1d'],
      [9 * 365 * 24 * h, '9y'],
    ];
    for (const [ms, text] of cases) expect(humanDuration(ms), String(ms)).toBe(text);
  });

  it('ages a timestamp, <none> when there is none', () => {
    expect(age('2026-01-03T00:55:00Z', now)).toBe('5m');
    expect(age(undefined, now)).toBe('<none>');
    expect(age('yesterday', now)).toBe('<none>');
  });
});

describe('secondsOnly', () => {
  it('drops fractional seconds', () => {
    expect(secondsOnly('2026-01-01T01:00:00.000Z')).toBe('2026-01-01T01:00:00Z');
    expect(secondsOnly('2026-01-01T01:00:00.5+02:00')).toBe('2026-01-01T01:00:00+02:00');
    expect(secondsOnly('2026-01-01T01:00:00Z')).toBe('2026-01-01T01:00:00Z');
  });
});

describe('renderTable', () => {
  it('pads columns to the widest cell, three spaces apart, without trailing blanks', () => {
    expect(
      renderTable(
        ['A', 'LONG HEADER', 'C'],
        [
          ['wide cell', 'x', ''],
          ['y', 'z', 'last'],
        ],
        '  ',
      ),
    ).toBe(
      ['  A           LONG HEADER   C', '  wide cell   x', '  y           z             last'].join(
        '\n',
      ),
    );
  });
});

describe('formatRevision', () => {
  it('shows number and hash, or marks a pruned revision', () => {
    expect(formatRevision({ hash: 'aaaaa1', number: 1 })).toBe('1 (aaaaa1)');
    expect(formatRevision({ hash: 'aaaaa1' })).toBe('aaaaa1 (pruned)');
    expect(formatRevision({ hash: 'aaaaa1' }, false)).toBe('aaaaa1');
    expect(formatRevision(undefined)).toBe('<none>');
  });
});

const statusView: StatusView = {
  name: 'llmplan',
  namespace: 'prod',
  generation: 4,
  observedGeneration: 4,
  paused: false,
  state: 'RolledBack',
  image: {
    repository: 'ghcr.io/acme/s',
    tag: 'v2',
    served: 'ghcr.io/acme/s:v1',
    servedTag: 'v1',
  },
  replicas: { desired: 3, current: 5, ready: 5 },
  endpoint: 'http://llmplan.prod.svc:8000',
  revisionsListed: true,
  revisions: {
    current: { hash: 'bbbbb2', number: 2, image: 'ghcr.io/acme/s:v2' },
    lastHealthy: { hash: 'aaaaa1', number: 1, image: 'ghcr.io/acme/s:v1' },
    failed: { hash: 'bbbbb2', number: 2, image: 'ghcr.io/acme/s:v2' },
    served: { hash: 'aaaaa1', number: 1, image: 'ghcr.io/acme/s:v1' },
  },
  remediation: {
    rollback: {
      to: { hash: 'aaaaa1', number: 1 },
      from: { hash: 'bbbbb2', number: 2 },
      since: '2026-01-03T00:50:00Z',
    },
    memoryBump: { memoryLimit: '1536Mi', specMemoryLimit: '1Gi', since: '2026-01-03T00:40:00Z' },
    scaleUp: { replicas: 5, since: '2026-01-03T00:30:00Z' },
  },
  conditions: [
    {
      type: 'Degraded',
      status: 'True',
      reason: 'RolledBack',
      message: 'revision 2 failed:\nCrashLoopBackOff',
      lastTransitionTime: '2026-01-03T00:50:00Z',
    },
  ],
};

describe('formatStatus', () => {
  it('shows every part of the status in readable lines and tables', () => {
    const text = formatStatus(statusView, now);
    expect(text).toContain('Name:             llmplan');
    expect(text).toContain('Status:           RolledBack');
    // The tag the spec asks for, and the one served instead (what kubectl get shows as SERVING).
    expect(text).toContain('Image tag:        v2 (serving v1)\n');
    expect(text).toContain('Replicas:         3 desired, 5 current, 5 ready');
    expect(text).toContain('Paused:           no');
    expect(text).toContain('Endpoint:         http://llmplan.prod.svc:8000');
    expect(text).toMatch(/ {2}current +2 \(bbbbb2\) +ghcr\.io\/acme\/s:v2/);
    expect(text).toMatch(/ {2}last healthy +1 \(aaaaa1\)/);
    expect(text).toMatch(/ {2}served +1 \(aaaaa1\) +ghcr\.io\/acme\/s:v1/);
    expect(text).toContain(
      'rollback      serving revision 1 (aaaaa1) instead of failed revision 2 (bbbbb2), since 2026-01-03T00:50:00Z (10m ago)',
    );
    expect(text).toContain('memory bump   memory limit 1536Mi (spec 1Gi)');
    expect(text).toContain(
      'scale-up      5 replicas, since 2026-01-03T00:30:00Z (30m ago); not healthy yet',
    );
    expect(text).toMatch(/Degraded +True +RolledBack +10m +revision 2 failed: CrashLoopBackOff/);
  });

  it('says <none> where there is nothing', () => {
    const { state: _none, ...withoutState } = statusView;
    const text = formatStatus(
      {
        ...withoutState,
        paused: true,
        image: {},
        replicas: { autoscaling: { minReplicas: 1, maxReplicas: 4 } },
        revisions: {},
        remediation: {},
        conditions: [],
      },
      now,
    );
    expect(text).toContain('Status:           <none>');
    expect(text).toContain("Image tag:        <operator's default>\n");
    expect(text).toContain('Replicas:         autoscaling 1-4, current unknown, ready unknown');
    expect(text).toContain('Paused:           yes');
    expect(text).toContain('Remediation in effect:\n  <none>');
    expect(text).toContain('Conditions:\n  <none>');
  });
});

describe('formatHistory', () => {
  const view: HistoryView = {
    name: 'llmplan',
    namespace: 'prod',
    revisions: [
      {
        number: 1,
        hash: 'aaaaa1',
        name: 'llmplan-aaaaa1',
        createdAt: '2026-01-01T01:00:00.000Z',
        image: 'ghcr.io/acme/s:v1',
        health: 'healthy',
        marks: ['last-healthy', 'served'],
      },
      {
        number: 2,
        hash: 'bbbbb2',
        name: 'llmplan-bbbbb2',
        createdAt: '2026-01-03T00:45:00Z',
        image: 'ghcr.io/acme/s:v2',
        health: 'failed',
        healthReason: 'CrashLoopBackOff',
        marks: ['current', 'failed'],
      },
    ],
    actions: [
      {
        time: '2026-01-03T00:50:00Z',
        action: 'Rollback',
        reason: 'CrashLoopBackOff',
        from: 'bbbbb2',
        to: 'aaaaa1',
        revision: 'bbbbb2',
        message: 'served revision 1 again',
      },
    ],
  };

  it('tables the revisions with health and roles, then the actions with revision numbers', () => {
    const lines = formatHistory(view, now).split('\n');
    expect(lines[0]).toMatch(/^REVISION +HASH +CREATED +AGE +IMAGE +HEALTH +ROLE$/);
    expect(lines[1]).toMatch(
      /^1 +aaaaa1 +2026-01-01T01:00:00Z +2d +ghcr\.io\/acme\/s:v1 +healthy +last-healthy, served$/,
    );
    expect(lines[2]).toMatch(
      /^2 +bbbbb2 .* 15m +ghcr\.io\/acme\/s:v2 +failed \(CrashLoopBackOff\) +current, failed$/,
    );
    expect(lines[4]).toBe('Remediation actions (oldest first):');
    expect(lines[6]).toMatch(
      /^2026-01-03T00:50:00Z +10m +Rollback +CrashLoopBackOff +2 \(bbbbb2\) +1 \(aaaaa1\) +2 \(bbbbb2\) +served revision 1 again$/,
    );
  });

  it('says when there are no revisions or actions', () => {
    const text = formatHistory({ ...view, revisions: [], actions: [] }, now);
    expect(text).toContain('<none> (the operator records a revision per pod template it deploys)');
    expect(text).toContain('Remediation actions (oldest first):\n<none>');
  });
});

describe('formatChanges', () => {
  it('prints one line per field, unset for absent values', () => {
    expect(
      formatChanges([
        { path: 'spec.image.tag', from: 'v2', to: 'v1' },
        { path: 'spec.debug', from: true },
        { path: 'spec.env', from: [], to: [{ name: 'A' }] },
      ]),
    ).toBe(
      '  spec.image.tag: v2 → v1\n  spec.debug: true → <unset>\n  spec.env: [] → [{"name":"A"}]',
    );
  });
});
