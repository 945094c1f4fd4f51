import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OLD_CHART_VALUES } from '../../../test/support/helm/old-chart.js';
import { RUNBOOK } from '../../../test/support/helm/runbook.js';
import { kwokSettings } from '../../../test/support/helm/test-settings.js';
import { childKey } from '../../desired/children.js';
import type { KubeObject } from '../../runtime/index.js';
import { formatPlan } from './format.js';
import { coalesceValues, type HelmRelease, type Values } from './helm-release.js';
import { type PlanInput, planMigration, releaseObjectName } from './plan.js';

/** Objects of release `release` (object names `name`), as the chart renders them. */
function objects(release: string, name: string, externalName = ''): KubeObject[] {
  const selector = { 'app.kubernetes.io/name': 'llmplan', 'app.kubernetes.io/instance': release };
  const meta = (n: string) => ({
    name: n,
    labels: { ...selector, 'app.kubernetes.io/managed-by': 'Helm' },
    annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': 'prod' },
  });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name) },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${name}-config`) },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('lmstudio'),
      ...(externalName
        ? { spec: { type: 'ExternalName', externalName } }
        : { spec: { type: 'ClusterIP', clusterIP: 'None' } }),
    } as KubeObject,
    // Without externalName the chart also renders this EndpointSlice (the API server refuses it).
    ...(externalName
      ? []
      : [
          {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: meta('lmstudio'),
            addressType: 'IPv4',
            endpoints: [{ addresses: ['host.docker.internal'] }],
          } as KubeObject,
        ]),
    { apiVersion: 'v1', kind: 'Service', metadata: meta(name) },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name),
      spec: {
        selector: { matchLabels: selector },
        template: {
          spec: {
            containers: [{ name: 'llmplan', ports: [{ name: 'http', containerPort: 8000 }] }],
          },
        },
      },
    } as KubeObject,
  ];
}

/** A release of the users' chart; like every deployed one, it sets lmstudio.externalName. */
function input(
  overrides: Partial<PlanInput> & { config?: Values; externalName?: string } = {},
): PlanInput {
  const release = overrides.release?.name ?? 'llmplan';
  const name = overrides.name ?? releaseObjectName(release);
  const externalName = overrides.externalName ?? 'lmstudio.internal.company.com';
  const live = objects(release, name, externalName);
  const helmRelease: HelmRelease = {
    name: release,
    namespace: 'prod',
    version: 1,
    info: { status: 'deployed' },
    chart: {
      metadata: { name: 'llmplan', version: '0.1.0', appVersion: 'v0.1.0' },
      values: OLD_CHART_VALUES,
    },
    config: { lmstudio: { externalName }, ...overrides.config },
    manifest: live.map((o) => `---\n${stringify(o)}`).join(''),
    ...overrides.release,
  };
  return {
    release: helmRelease,
    secrets: ['sh.helm.release.v1.llmplan.v1'],
    name,
    namespace: 'prod',
    live: overrides.live ?? new Map(live.map((o) => [childKey(o), o])),
    ...(overrides.resuming ? { resuming: overrides.resuming } : {}),
  };
}

const refs = (list: { kind: string; name: string }[]) => list.map((r) => `${r.kind} ${r.name}`);

describe('planMigration', () => {
  it('adopts what a child corresponds to, keeps the rest, and lists what the operator creates', () => {
    const plan = planMigration(input({ externalName: 'lmstudio.internal' }));
    expect(plan.problems).toEqual([]);
    expect(refs(plan.adopt)).toEqual([
      'ServiceAccount llmplan',
      'ConfigMap llmplan-config',
      'Service lmstudio',
      'Service llmplan',
      'Deployment llmplan',
    ]);
    expect(plan.keep).toEqual([]);
    expect(plan.resource.spec).toMatchObject({ lmstudio: { externalName: 'lmstudio.internal' } });
    expect(plan.resource.metadata.annotations).toEqual({ 'llmplan.io/helm-release': 'llmplan' });
  });

  it('keeps the chart’s LM Studio Service as it is when the pods call another one (no child corresponds)', () => {
    const env = [{ name: 'LMSTUDIO_BASE_URL', value: 'http://llm:1234/v1' }];
    const plan = planMigration(input({ config: { replicaCount: 3, env } }));
    expect(plan.problems).toEqual([]);
    expect(refs(plan.keep)).toEqual(['Service lmstudio']);
    expect(refs(plan.create)).toEqual(['PodDisruptionBudget llmplan']);
  });

  it('issue 20: a release of the users’ chart with its default values migrates, the key into a Secret, no spec.env', () => {
    const plan = planMigration(input());
    expect(plan.problems).toEqual([]);
    expect(plan.apiKeySecret).toEqual({
      name: 'llmplan-lmstudio-api-key',
      key: 'api-key',
      value: 'lm-studio',
    });
    expect(plan.resource.spec).not.toHaveProperty('env');
    expect(plan.resource.spec).toMatchObject({
      lmstudio: { apiKeySecretRef: { name: 'llmplan-lmstudio-api-key', key: 'api-key' } },
    });
  });

  it('refuses the chart’s defaults without lmstudio.externalName: the install failed on its EndpointSlice', () => {
    const base = input({ externalName: '' });
    base.release.config = {};
    base.release.info.status = 'failed';
    const problems = planMigration(base).problems;
    expect(problems).toEqual([
      'release llmplan revision 1 is failed, not deployed: finish or roll back the Helm operation first (helm history llmplan -n prod)',
      expect.stringMatching(
        /^value lmstudio\.enabled \(true\) cannot be mapped: true without lmstudio\.externalName/,
      ),
      'EndpointSlice lmstudio (discovery.k8s.io/v1) of release llmplan is not a kind llmplanctl migrate helm moves',
    ]);
  });

  it('refuses exactly what migrate.cluster.test.ts expects: the dev line with two values it cannot map', () => {
    const line = RUNBOOK.dev;
    const extra = kwokSettings(line, 41234);
    const plan = planMigration(
      input({
        release: { name: line.release } as HelmRelease,
        config: coalesceValues(line.config, {
          lmstudio: { externalName: '127.0.0.1', service: { port: 41234 } },
          env: JSON.parse((extra.setJson[0] ?? '').replace(/^env=/, '')),
          serviceAccount: { annotations: { 'iam.example/role': 'summarizer' } },
          resources: { limits: { memory: null } },
        }),
      }),
    );
    expect(plan.problems).toEqual([
      expect.stringMatching(/^value resources\.limits\.memory \(<unset>\) cannot be mapped/),
      expect.stringMatching(/^value serviceAccount\.annotations /),
    ]);
  });

  it('names the objects after the release as the chart does', () => {
    expect(releaseObjectName('llmplan-prod')).toBe('llmplan-prod');
    expect(releaseObjectName('summarizer')).toBe('summarizer-llmplan');
  });

  it('refuses a release whose pods no SummarizerService can select: <release>-llmplan objects', () => {
    const plan = planMigration(input({ release: { name: 'summarizer' } as HelmRelease }));
    expect(plan.problems.join('\n')).toContain(
      'Deployment summarizer-llmplan selects its pods with {"app.kubernetes.io/name":"llmplan","app.kubernetes.io/instance":"summarizer"}',
    );
    expect(plan.problems.join('\n')).toContain('No SummarizerService can adopt it in place');
  });

  it('refuses another chart, a version it does not know, a release not deployed', () => {
    const other = input();
    other.release.chart.metadata = { name: 'nginx', version: '1.0.0' };
    expect(planMigration(other).problems[0]).toBe(
      'release llmplan is of chart nginx 1.0.0, not llmplan: llmplanctl migrate helm moves releases of the llmplan chart only',
    );
    const newer = input();
    newer.release.chart.metadata.version = '0.2.0';
    newer.release.info.status = 'pending-upgrade';
    expect(planMigration(newer).problems).toEqual([
      'release llmplan is of chart llmplan 0.2.0; this llmplanctl knows how to map 0.1.0',
      'release llmplan revision 1 is pending-upgrade, not deployed: finish or roll back the Helm operation first (helm history llmplan -n prod)',
    ]);
  });

  it('refuses objects that are gone, someone else’s, or not the release’s', () => {
    const base = input();
    const live = new Map(base.live);
    live.delete('/ServiceAccount/llmplan');
    const config = live.get('/ConfigMap/llmplan-config') as KubeObject;
    config.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'Thing', name: 't', uid: 'u', controller: true },
    ];
    const service = live.get('/Service/llmplan') as KubeObject;
    service.metadata.annotations = { 'meta.helm.sh/release-name': 'another' };
    const problems = planMigration({ ...base, live }).problems;
    expect(problems).toEqual([
      'ServiceAccount llmplan of release llmplan does not exist (deleted by hand?)',
      'ConfigMap llmplan-config is controlled by Thing t, not by Helm alone',
      'Service llmplan does not belong to release llmplan (meta.helm.sh/release-name: another)',
    ]);
  });

  it('refuses a name a child needs that an object outside the release holds', () => {
    const base = input({ config: { replicaCount: 2 } });
    const live = new Map(base.live);
    live.set('policy/PodDisruptionBudget/llmplan', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'llmplan' },
    });
    expect(planMigration({ ...base, live }).problems).toEqual([
      'PodDisruptionBudget llmplan exists and is not part of release llmplan: the SummarizerService needs that name',
    ]);
  });

  it('refuses pods without a port named http (they would leave the Service during the migration)', () => {
    const base = input();
    const deployment = base.live.get('apps/Deployment/llmplan') as KubeObject & {
      spec: { template: { spec: { containers: { ports: { name?: string }[] }[] } } };
    };
    delete deployment.spec.template.spec.containers[0]!.ports[0]!.name;
    expect(planMigration(base).problems.join('\n')).toContain('have no port named http');
  });

  it('lists unmappable values and values the schema refuses, each by name', () => {
    const plan = planMigration(
      input({ config: { service: { type: 'ExternalName' }, autoscaling: { minReplicas: 0 } } }),
    );
    expect(plan.problems).toEqual([
      'value service.type (ExternalName) cannot be mapped: a SummarizerService serves through ClusterIP, NodePort or LoadBalancer',
      expect.stringMatching(/^value autoscaling\.minReplicas: spec\.autoscaling\.minReplicas: /),
    ]);
  });

  it('resumes an interrupted migration: objects the SummarizerService controls already are fine', () => {
    const base = input();
    const live = new Map(base.live);
    for (const [key, object] of live) {
      live.set(key, {
        ...object,
        metadata: {
          name: object.metadata.name,
          ownerReferences: [
            {
              apiVersion: 'llmplan.io/v1alpha1',
              kind: 'SummarizerService',
              name: 'llmplan',
              uid: 'cr',
              controller: true,
            },
          ],
        },
      });
    }
    expect(planMigration({ ...base, live, resuming: 'cr' }).problems).toEqual([]);
    expect(planMigration({ ...base, live }).problems).toHaveLength(5);
  });

  it('prints the values and the steps, or the problems and no steps', () => {
    const observed = { replicaSets: ['llmplan-abc'], pods: ['llmplan-abc-1'] };
    const env = [{ name: 'LMSTUDIO_BASE_URL', value: 'http://llm:1234/v1' }];
    const ok = formatPlan(planMigration(input({ config: { env } })), observed, true);
    expect(ok).toContain('Steps (dry run: nothing was changed):');
    expect(ok).toContain(
      'remove ReplicaSet llmplan-abc with orphan propagation: its pods (llmplan-abc-1) keep serving',
    );
    expect(ok).toContain('leave Service lmstudio as they are');
    const bad = formatPlan(
      planMigration(input({ config: { service: { type: 'ExternalName' } } })),
      observed,
      true,
    );
    expect(bad).toMatch(/CANNOT MAP\s+service\.type = ExternalName/);
    expect(bad).toContain('Cannot migrate:');
    expect(bad).not.toContain('Steps');
  });
});
