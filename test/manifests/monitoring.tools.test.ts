/**
 * deploy/monitoring/: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`, alerts.test.yaml); every expression of the rules and of the Grafana
 * dashboard is valid PromQL (promtool checks them as recording rules) and names only metrics
 * the service and the operator really export (read from their own registries), so a renamed
 * metric breaks this test, not a dashboard in production. promtool comes from Debian's
 * prometheus package, extracted into the cache by hack/monitoring/promtool.sh.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadMetrics } from '../../operator/load/monitor.js';
import { remediationActionsCounter } from '../../operator/remediation/remediator.js';
import { RuntimeMetrics } from '../../operator/runtime/index.js';
import { StatusMetrics } from '../../operator/status/metrics.js';
import { createMetrics } from '../../service/metrics.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const monitoring = path.join(root, 'deploy/monitoring');
let promtool: string;
let work: string;

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}

const groups = (): RuleGroup[] =>
  (
    parse(readFileSync(path.join(monitoring, 'prometheusrule.yaml'), 'utf8')) as {
      spec: { groups: RuleGroup[] };
    }
  ).spec.groups;

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
const dashboard = () =>
  JSON.parse(readFileSync(path.join(monitoring, 'dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; query?: string | { query: string } }[] };
  };

beforeAll(async () => {
  promtool = (
    await run(path.join(root, 'hack/monitoring/promtool.sh'), [], { timeout: 170_000 })
  ).stdout.trim();
  work = mkdtempSync(path.join(tmpdir(), 'llmplan-monitoring-'));
  writeFileSync(path.join(work, 'rules.yaml'), stringify({ groups: groups() }));
  copyFileSync(path.join(monitoring, 'alerts.test.yaml'), path.join(work, 'alerts.test.yaml'));
}, 180_000);

async function promtoolOk(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(promtool, args, { cwd: work, timeout: 60_000 });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Every metric name the service and the operator export (histograms with their series). */
async function exported(): Promise<Set<string>> {
  const registries = [createMetrics().registry, new RuntimeMetrics(undefined).registry];
  const operator = new Registry();
  operator.registerMetric(remediationActionsCounter());
  const load = loadMetrics();
  operator.registerMetric(load.scrapes);
  operator.registerMetric(load.scrapeDuration);
  new StatusMetrics(operator);
  registries.push(operator);
  const names = new Set<string>();
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      }
    }
  }
  return names;
}

const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'rate',
  'increase',
  'histogram_quantile',
  'max',
  'min',
  'le',
  'label_values',
  'without',
  'on',
  'ignoring',
  'avg',
  'count',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

/** Metric names in a PromQL expression: identifiers not inside {…} or quotes, not functions. */
function metricNames(query: string): string[] {
  // Grafana's label_values(selector, label): the label is not a metric.
  const expr = query.replace(/label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)/, '$1');
  const outside = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/"[^"]*"/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const tokens = outside.match(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*[({[\s)=<>!*/+-]|$)/g) ?? [];
  const groupingLabels = new Set(
    [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
      (m[1] ?? '').split(',').map((s) => s.trim()),
    ),
  );
  return tokens.filter(
    (t) => !PROMQL_WORDS.has(t) && !groupingLabels.has(t) && !/^[0-9]/.test(t) && t.includes('_'),
  );
}

function dashboardExprs(): { title: string; expr: string }[] {
  return dashboard().panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
  );
}

/** Grafana's variables replaced by values PromQL accepts. */
const concrete = (expr: string) =>
  expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$namespace', '.*')
    .replaceAll('$instance', '.*');

describe('deploy/monitoring', () => {
  it('the alert rules are valid (promtool check rules)', async () => {
    expect(await promtoolOk(['check', 'rules', 'rules.yaml'])).toMatch(/SUCCESS: 5 rules found/);
  });

  it('the alerts fire when they should, and only then (promtool test rules)', async () => {
    expect(await promtoolOk(['test', 'rules', 'alerts.test.yaml'])).toMatch(/SUCCESS/);
  });

  it('covers what the issue asks: degraded, rollback, backend unreachable or saturated, shedding', () => {
    const alerts = groups().flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual([
      'LlmplanSummarizerServiceDegraded',
      'LlmplanRolledBack',
      'LlmplanBackendUnreachable',
      'LlmplanBackendSaturated',
      'LlmplanSustainedShedding',
    ]);
  });

  it('every dashboard query is valid PromQL (checked by promtool as recording rules)', async () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: concrete(e.expr) })),
        },
      ],
    };
    writeFileSync(path.join(work, 'dashboard-rules.yaml'), stringify(rules));
    expect(await promtoolOk(['check', 'rules', 'dashboard-rules.yaml'])).toMatch(
      new RegExp(`SUCCESS: ${exprs.length} rules found`),
    );
  });

  it('names only metrics the service and the operator export', async () => {
    const names = await exported();
    const used = [
      ...dashboardExprs().map((e) => ({ where: `dashboard panel "${e.title}"`, expr: e.expr })),
      ...groups().flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
      ...dashboard().templating.list.flatMap((v) => {
        const q = typeof v.query === 'string' ? v.query : v.query?.query;
        return q && v.name !== 'datasource' ? [{ where: `variable ${v.name}`, expr: q }] : [];
      }),
    ];
    const unknown = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !names.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    // The dashboard shows the whole load contract.
    const shown = new Set(dashboardExprs().flatMap((e) => metricNames(e.expr)));
    for (const name of [
      'summary_queue_depth',
      'summary_queue_capacity',
      'summary_queue_wait_seconds_bucket',
      'lmstudio_calls_in_flight',
      'lmstudio_concurrency_limit',
      'summary_requests_shed_total',
      'lmstudio_request_duration_seconds_bucket',
      'http_request_duration_seconds_count',
      'lmstudio_up',
      'lmstudio_circuit_state',
      'llmplan_remediation_actions_total',
    ]) {
      expect(shown, name).toContain(name);
    }
  });
});
