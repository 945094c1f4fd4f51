import { describe, expect, it } from 'vitest';
import { OLD_CHART_VALUES } from '../../../test/support/helm/old-chart.js';
import {
  GUIDE_OTHER_UPGRADES,
  LLMPLAN_HISTORY,
  RUNBOOK,
  type RunbookLine,
} from '../../../test/support/helm/runbook.js';
import { OPERATOR_ENV, SpecSchema } from '../../api/spec.js';
import { parseSummarizerService } from '../../api/summarizerservice.js';
import { desiredState } from '../../desired/state.js';
import { withoutDefaults } from '../manifest.js';
import { coalesceValues, type Values } from './helm-release.js';
import { chartFullname, type Finding, type MappingContext, mapValues } from './helm-values.js';

/** The users' chart's own defaults (test/support/helm/charts/llmplan/values.yaml, verbatim). */
const CHART_VALUES = OLD_CHART_VALUES;
const APP_VERSION = '0.1.0';
const EXTERNAL = 'lmstudio.internal.company.com';
const ctxOf = (release: string): MappingContext => ({
  name: chartFullname(release, {}),
  release,
  appVersion: APP_VERSION,
});
const CTX = ctxOf('llmplan');

/** The values a release renders with: the chart's defaults, the user's config over them. */
const valuesOf = (config: Values) => coalesceValues(CHART_VALUES, config);
/** A release llmplan that sets externalName (as every deployed release does) and `config`. */
const mapConfig = (config: Values, ctx = CTX) =>
  mapValues(valuesOf(coalesceValues({ lmstudio: { externalName: EXTERNAL } }, config)), ctx);
const mapLine = (line: RunbookLine) => mapValues(valuesOf(line.config), ctxOf(line.release));
const finding = (findings: Finding[], value: string) => findings.find((f) => f.value === value);
const kinds = (findings: Finding[], kind: Finding['kind']) =>
  findings.filter((f) => f.kind === kind).map((f) => f.value);
const envOf = (debug: string, extra: Values[] = []) => [
  { name: 'LMSTUDIO_BASE_URL', value: 'http://lmstudio:1234/v1' },
  { name: 'LMSTUDIO_API_KEY', value: 'lm-studio' },
  { name: 'DEBUG', value: debug },
  ...extra,
];

/** Every leaf of the values: each must be accounted for by a finding. */
function leaves(values: Values, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) =>
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0
      ? leaves(value as Values, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

/** Every values set the guide leaves a release with. */
const GUIDE_VALUES: [string, Values, MappingContext][] = [
  ...Object.entries(RUNBOOK).map(
    ([key, line]) =>
      [key, valuesOf(line.config), ctxOf(line.release)] as [string, Values, MappingContext],
  ),
  ...LLMPLAN_HISTORY.map(
    (r) =>
      [`llmplan revision ${r.revision}`, valuesOf(r.config), CTX] as [
        string,
        Values,
        MappingContext,
      ],
  ),
  ...Object.entries(GUIDE_OTHER_UPGRADES).map(
    ([key, line]) =>
      [`llmplan after ${key}`, valuesOf(line.config), CTX] as [string, Values, MappingContext],
  ),
];

describe("mapValues: the users' chart as the guide's lines leave it", () => {
  it('llmplan (the first install line): the tag, the 2Gi limit, the ExternalName backend, the key in a Secret', () => {
    const { spec, findings, apiKey } = mapLine(RUNBOOK.llmplan);
    expect(withoutDefaults(spec)).toEqual({
      image: { repository: 'eunheejo/llmplan', tag: 'v0.1.0' },
      resources: { limits: { memory: '2Gi' } },
      lmstudio: {
        externalName: EXTERNAL,
        apiKeySecretRef: { name: 'llmplan-lmstudio-api-key', key: 'api-key' },
      },
    });
    expect(apiKey).toBe('lm-studio');
    expect(kinds(findings, 'unmappable')).toEqual([]);
  });

  it('llmplan after upgrade --reuse-values (4Gi) and rollback to 1: runs 2Gi again, and so does the spec', () => {
    const memory = (config: Values) =>
      (mapValues(valuesOf(config), CTX).spec.resources as { limits: { memory: string } }).limits
        .memory;
    const [first, second, third] = LLMPLAN_HISTORY;
    expect(memory(first?.config as Values)).toBe('2Gi');
    expect(memory(second?.config as Values)).toBe('4Gi');
    expect(third?.guide).toBe('helm rollback llmplan 1 -n llmplan');
    expect(memory(third?.config as Values)).toBe('2Gi');
    expect(mapValues(valuesOf(third?.config as Values), CTX)).toEqual(
      mapValues(valuesOf(first?.config as Values), CTX),
    );
  });

  it("llmplan after the guide's OOM and monthly upgrades (-n added): requests 1Gi; tag latest", () => {
    expect(
      withoutDefaults(mapValues(valuesOf(GUIDE_OTHER_UPGRADES.oom.config), CTX).spec),
    ).toMatchObject({
      resources: { requests: { memory: '1Gi' }, limits: { memory: '2Gi' } },
    });
    expect(mapValues(valuesOf(GUIDE_OTHER_UPGRADES.monthly.config), CTX).spec.image).toMatchObject({
      tag: 'latest',
    });
  });

  it('dev (env as a list, DEBUG "true"): spec.debug, not spec.env; objects named llmplan-dev', () => {
    const { spec, findings } = mapLine(RUNBOOK.dev);
    expect(withoutDefaults(spec)).toEqual({
      image: { repository: 'eunheejo/llmplan', tag: 'main' },
      resources: { requests: { cpu: '250m', memory: '256Mi' } },
      debug: true,
      lmstudio: {
        externalName: EXTERNAL,
        apiKeySecretRef: { name: 'llmplan-dev-lmstudio-api-key', key: 'api-key' },
      },
    });
    expect(spec.env).toBeUndefined();
    expect(finding(findings, 'env[DEBUG]')).toMatchObject({ kind: 'mapped', to: 'spec.debug' });
    expect(finding(findings, 'fullnameOverride')?.why).toContain('named llmplan-dev');
    expect(kinds(findings, 'unmappable')).toEqual([]);
  });

  it('staging: replicaCount=2 is a value of this chart, so the spec runs 2 replicas', () => {
    const { spec, findings } = mapLine(RUNBOOK.staging);
    expect(withoutDefaults(spec)).toMatchObject({
      image: { tag: 'latest' },
      replicas: 2,
    });
    expect(spec.debug).toBe(false);
    expect(kinds(findings, 'unmappable')).toEqual([]);
  });

  it('prod: autoscaling, the memory limit, the Ingress host with its path', () => {
    const { spec, findings } = mapLine(RUNBOOK.prod);
    expect(withoutDefaults(spec)).toMatchObject({
      image: { repository: 'eunheejo/llmplan', tag: 'v0.1.0' },
      autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 },
      resources: { limits: { memory: '2Gi' } },
      ingress: {
        enabled: true,
        hosts: [{ host: 'llmplan.company.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
      },
    });
    expect(finding(findings, 'replicaCount')?.why).toContain('ignored while autoscaling');
    expect(kinds(findings, 'unmappable')).toEqual([]);
  });

  it('the lines as printed cannot deploy with this chart: migrate says why and what to do', () => {
    const dev = mapValues(
      valuesOf({ image: { tag: 'main' }, env: { DEBUG: true } }),
      ctxOf('llmplan-dev'),
    );
    expect(kinds(dev.findings, 'unmappable')).toEqual(['env', 'lmstudio.enabled']);
    expect(finding(dev.findings, 'env')?.why).toMatch(
      /a map, not a list.*API server refuses the Deployment.*--set-json/,
    );
    expect(finding(dev.findings, 'lmstudio.enabled')?.why).toMatch(
      /EndpointSlice with the address host\.docker\.internal, which the API server refuses.*Way out: set lmstudio\.externalName/,
    );
    const prod = mapValues(
      valuesOf({ ingress: { enabled: true, hosts: [{ host: 'llmplan.company.com' }] } }),
      ctxOf('llmplan-prod'),
    );
    expect(kinds(prod.findings, 'unmappable')).toEqual(['ingress.hosts', 'lmstudio.enabled']);
    expect(finding(prod.findings, 'ingress.hosts')?.why).toContain('paths: Required value');
  });

  it('issue 20: the chart’s default security contexts are covered, not refused', () => {
    const { findings } = mapValues(valuesOf(RUNBOOK.llmplan.config), CTX);
    for (const value of [
      'podSecurityContext.fsGroup',
      'securityContext.capabilities',
      'securityContext.readOnlyRootFilesystem',
      'securityContext.runAsNonRoot',
      'securityContext.runAsUser',
    ]) {
      expect(finding(findings, value)?.kind, value).toBe('covered');
    }
    expect(finding(findings, 'securityContext.readOnlyRootFilesystem')?.why).toMatch(
      /the operator sets true: stricter/,
    );
  });

  it('issue 20: never spec.env for a variable the operator sets; the Deployment has no duplicate env', () => {
    for (const [title, values, ctx] of GUIDE_VALUES) {
      const { spec } = mapValues(values, ctx);
      const names = ((spec.env ?? []) as { name: string }[]).map((e) => e.name);
      expect(
        names.filter((n) => OPERATOR_ENV.some((v) => v.name === n)),
        title,
      ).toEqual([]);
      const parsed = SpecSchema.safeParse(spec);
      expect(parsed.success, `${title}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      const cr = parseSummarizerService({
        apiVersion: 'llmplan.io/v1alpha1',
        kind: 'SummarizerService',
        metadata: { name: ctx.name, namespace: 'ns', uid: 'u' },
        spec,
      });
      const deployment = desiredState(cr, { defaultImage: 'x:y' }).objects.find(
        (o) => o.kind === 'Deployment',
      ) as unknown as {
        spec: { template: { spec: { containers: { env?: { name: string }[] }[] } } };
      };
      const env = deployment.spec.template.spec.containers[0]?.env?.map((e) => e.name) ?? [];
      expect(env, title).toEqual([...new Set(env)]);
      expect(env, title).toContain('LMSTUDIO_API_KEY');
    }
  });

  it('accounts for every value, and only once', () => {
    for (const [title, values, ctx] of GUIDE_VALUES) {
      const { findings } = mapValues(values, ctx);
      const named = findings.map((f) => f.value);
      const missing = leaves(values).filter(
        (leaf) =>
          !named.some((n) => leaf === n || leaf.startsWith(`${n}.`) || n.startsWith(`${leaf}[`)),
      );
      expect(missing, title).toEqual([]);
      expect(new Set(named).size, title).toBe(named.length);
    }
  });

  it("gives every value of the chart's values.yaml a fate", () => {
    const { findings } = mapValues(valuesOf(RUNBOOK.llmplan.config), CTX);
    const fate = (value: string) => finding(findings, value)?.kind;
    expect(
      Object.fromEntries(
        [
          'replicaCount',
          'image.repository',
          'image.pullPolicy',
          'image.tag',
          'imagePullSecrets',
          'nameOverride',
          'fullnameOverride',
          'serviceAccount.create',
          'serviceAccount.automount',
          'serviceAccount.annotations',
          'serviceAccount.name',
          'podAnnotations',
          'podLabels',
          'podSecurityContext.fsGroup',
          'securityContext.runAsUser',
          'service.type',
          'service.port',
          'service.targetPort',
          'ingress.enabled',
          'ingress.className',
          'ingress.annotations',
          'ingress.hosts',
          'ingress.tls',
          'resources.limits.memory',
          'livenessProbe',
          'readinessProbe',
          'autoscaling.enabled',
          'autoscaling.targetCPUUtilizationPercentage',
          'volumes',
          'volumeMounts',
          'nodeSelector',
          'tolerations',
          'affinity',
          'config.lmstudio.baseUrl',
          'config.lmstudio.apiKey',
          'config.summary.defaultModelName',
          'env[LMSTUDIO_BASE_URL]',
          'env[LMSTUDIO_API_KEY]',
          'env[DEBUG]',
          'lmstudio.enabled',
          'lmstudio.service.name',
          'lmstudio.service.port',
          'lmstudio.externalName',
        ].map((v) => [v, fate(v)]),
      ),
    ).toEqual({
      replicaCount: 'mapped',
      'image.repository': 'mapped',
      'image.pullPolicy': 'mapped',
      'image.tag': 'mapped',
      imagePullSecrets: 'covered',
      nameOverride: 'covered',
      fullnameOverride: 'covered',
      'serviceAccount.create': 'covered',
      'serviceAccount.automount': 'covered',
      'serviceAccount.annotations': 'covered',
      'serviceAccount.name': 'covered',
      podAnnotations: 'mapped',
      podLabels: 'mapped',
      'podSecurityContext.fsGroup': 'covered',
      'securityContext.runAsUser': 'covered',
      'service.type': 'mapped',
      'service.port': 'mapped',
      'service.targetPort': 'covered',
      'ingress.enabled': 'mapped',
      'ingress.className': 'mapped',
      'ingress.annotations': 'mapped',
      'ingress.hosts': 'mapped',
      'ingress.tls': 'mapped',
      'resources.limits.memory': 'mapped',
      livenessProbe: 'covered',
      readinessProbe: 'covered',
      'autoscaling.enabled': 'mapped',
      'autoscaling.targetCPUUtilizationPercentage': 'mapped',
      volumes: 'covered',
      volumeMounts: 'covered',
      nodeSelector: 'mapped',
      tolerations: 'mapped',
      affinity: 'mapped',
      'config.lmstudio.baseUrl': 'not-mapped',
      'config.lmstudio.apiKey': 'not-mapped',
      'config.summary.defaultModelName': 'not-mapped',
      'env[LMSTUDIO_BASE_URL]': 'mapped',
      'env[LMSTUDIO_API_KEY]': 'mapped',
      'env[DEBUG]': 'mapped',
      'lmstudio.enabled': 'covered',
      'lmstudio.service.name': 'covered',
      'lmstudio.service.port': 'covered',
      'lmstudio.externalName': 'mapped',
    });
  });
});

describe('mapValues: env, what the pods read', () => {
  it('maps each of the operator’s variables to its field, keeps the others in spec.env', () => {
    const { spec, findings } = mapConfig({
      env: envOf('yes', [
        { name: 'LMSTUDIO_TIMEOUT', value: '60' },
        { name: 'LMSTUDIO_MAX_RETRIES', value: '5' },
        { name: 'LMSTUDIO_MAX_CONCURRENCY', value: '8' },
        { name: 'DEFAULT_MODEL_NAME', value: 'qwen/qwen3-8b' },
        { name: 'DEFAULT_MAX_TOKENS', value: '500' },
        { name: 'DEFAULT_TEMPERATURE', value: '0.7' },
        { name: 'DEFAULT_SUMMARY_TYPE', value: 'detailed' },
        { name: 'DEFAULT_LANGUAGE', value: 'english' },
        { name: 'MAX_QUEUED_REQUESTS', value: '16' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ]),
    });
    expect(spec).toMatchObject({
      debug: true,
      lmstudio: { timeoutSeconds: 60, maxRetries: 5, maxConcurrency: 8 },
      summary: {
        defaultModel: 'qwen/qwen3-8b',
        defaultMaxTokens: 500,
        defaultTemperature: 0.7,
        defaultSummaryType: 'detailed',
        defaultLanguage: 'english',
      },
      env: [
        { name: 'MAX_QUEUED_REQUESTS', value: '16' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
    });
    expect(finding(findings, 'env[LMSTUDIO_TIMEOUT]')).toMatchObject({
      kind: 'mapped',
      to: 'spec.lmstudio.timeoutSeconds',
    });
    expect(SpecSchema.safeParse(spec).success).toBe(true);
  });

  it('takes the API key from a Secret by reference, never copying it', () => {
    const ref = { name: 'lmstudio', key: 'token' };
    const { spec, apiKey, findings } = mapConfig({
      env: [{ name: 'LMSTUDIO_API_KEY', valueFrom: { secretKeyRef: ref } }],
    });
    expect(apiKey).toBeUndefined();
    expect(spec.lmstudio).toMatchObject({ apiKeySecretRef: ref });
    expect(finding(findings, 'env[LMSTUDIO_API_KEY]')?.kind).toBe('mapped');
  });

  it('never shows a literal API key', () => {
    const { findings, apiKey } = mapConfig({
      env: [{ name: 'LMSTUDIO_API_KEY', value: 's3cret' }],
      config: { lmstudio: { apiKey: 'an0ther' } },
    });
    expect(apiKey).toBe('s3cret');
    expect(finding(findings, 'env[LMSTUDIO_API_KEY]')?.shown).toBe('<hidden>');
    expect(finding(findings, 'config.lmstudio.apiKey')).toMatchObject({
      shown: '<hidden>',
      why: expect.stringContaining('set spec.lmstudio.apiKeySecretRef if you meant this key'),
    });
    expect(JSON.stringify(findings)).not.toMatch(/s3cret|an0ther/);
  });

  it("reads a value from the chart's own ConfigMap as the pods saw it (the operator rewrites that ConfigMap)", () => {
    const ref = (key: string) => ({ configMapKeyRef: { name: 'llmplan-config', key } });
    const { spec, findings } = mapConfig({
      config: { lmstudio: { timeout: 90 }, summary: { defaultLanguage: 'japanese' } },
      env: [
        { name: 'LMSTUDIO_TIMEOUT', valueFrom: ref('LMSTUDIO_TIMEOUT') },
        { name: 'MY_LANGUAGE', valueFrom: ref('DEFAULT_LANGUAGE') },
      ],
    });
    expect(spec.lmstudio).toMatchObject({ timeoutSeconds: 90 });
    expect(spec.env).toEqual([{ name: 'MY_LANGUAGE', value: 'japanese' }]);
    expect(finding(findings, 'config.lmstudio.timeout')).toMatchObject({
      kind: 'covered',
      why: expect.stringContaining('env[LMSTUDIO_TIMEOUT]'),
    });
  });

  it('refuses an operator variable it cannot read (another ConfigMap), a DEBUG the service refuses, a non-string value', () => {
    const { findings } = mapConfig({
      env: [
        {
          name: 'DEFAULT_MODEL_NAME',
          valueFrom: { configMapKeyRef: { name: 'models', key: 'm' } },
        },
        { name: 'DEBUG', value: 'maybe' },
        { name: 'EXTRA', value: 3 },
      ],
    });
    expect(kinds(findings, 'unmappable')).toEqual([
      'env[DEFAULT_MODEL_NAME]',
      'env[DEBUG]',
      'env[EXTRA]',
    ]);
    expect(finding(findings, 'env[DEFAULT_MODEL_NAME]')?.why).toContain(
      'Way out: give it as a value',
    );
  });

  it('covers PORT and blank values: the Service targets the port by name; blank is unset', () => {
    const { spec, findings } = mapConfig({
      env: [
        { name: 'PORT', value: '9000' },
        { name: 'DEBUG', value: '' },
      ],
    });
    expect(finding(findings, 'env[PORT]')).toMatchObject({
      kind: 'covered',
      why: expect.stringContaining('targets by name'),
    });
    expect(finding(findings, 'env[DEBUG]')?.kind).toBe('covered');
    expect(spec.env).toBeUndefined();
  });

  it('gives a repeated name the last value, as Kubernetes does', () => {
    const { spec, findings } = mapConfig({
      env: envOf('false', [
        { name: 'DEBUG', value: 'true' },
        { name: 'X', value: '1' },
        { name: 'X', value: '2' },
      ]),
    });
    expect(spec.debug).toBe(true);
    expect(spec.env).toEqual([{ name: 'X', value: '2' }]);
    expect(finding(findings, 'env[2]')?.why).toContain('a later entry sets DEBUG too');
  });

  it('config.*: only in a ConfigMap the pods never read; says what they ran with, and the field to set', () => {
    const { spec, findings } = mapConfig({ config: { summary: { defaultLanguage: 'english' } } });
    expect(spec.summary).toBeUndefined();
    expect(finding(findings, 'config.summary.defaultLanguage')).toMatchObject({
      kind: 'not-mapped',
      why: "only in ConfigMap llmplan-config, which the chart's pods never read (no envFrom): they ran with DEFAULT_LANGUAGE=korean (the service's default), and so will the SummarizerService; set spec.summary.defaultLanguage if you meant this value",
    });
  });
});

describe('mapValues: LM Studio', () => {
  it('adopts the chart’s ExternalName Service the pods call', () => {
    const { spec, findings } = mapConfig({ lmstudio: { service: { port: 4321 } } });
    expect(spec.lmstudio).toMatchObject({
      serviceName: 'lmstudio',
      port: 1234,
      externalName: EXTERNAL,
    });
    expect(finding(findings, 'lmstudio.service.port')?.why).toContain(
      "an ExternalName Service's ports change nothing",
    );
  });

  it('lmstudio.enabled=false: the pods call a Service of the namespace by the URL', () => {
    const { spec, findings } = mapValues(valuesOf({ lmstudio: { enabled: false } }), CTX);
    expect(spec.lmstudio).toMatchObject({ serviceName: 'lmstudio', port: 1234 });
    expect(spec.lmstudio).not.toHaveProperty('externalName');
    expect(finding(findings, 'lmstudio.enabled')?.why).toContain('created no Service');
    expect(kinds(findings, 'unmappable')).toEqual([]);
  });

  it('a URL to a host elsewhere: an ExternalName backend', () => {
    const { spec, findings } = mapValues(
      valuesOf({
        lmstudio: { enabled: false },
        env: [{ name: 'LMSTUDIO_BASE_URL', value: 'http://gpu-box.lan:8080/v1/' }],
      }),
      CTX,
    );
    expect(spec.lmstudio).toMatchObject({ externalName: 'gpu-box.lan', port: 8080 });
    expect(finding(findings, 'env[LMSTUDIO_BASE_URL]')?.why).toContain(
      'ExternalName Service lmstudio → gpu-box.lan',
    );
  });

  it('refuses URLs a SummarizerService cannot call', () => {
    for (const url of [
      'https://lmstudio:1234/v1',
      'http://lmstudio:1234/api',
      'http://10.0.0.5:1234/v1',
    ]) {
      const { findings } = mapConfig({ env: [{ name: 'LMSTUDIO_BASE_URL', value: url }] });
      expect(kinds(findings, 'unmappable'), url).toEqual(['env[LMSTUDIO_BASE_URL]']);
    }
  });
});

describe('mapValues: what the operator fixes for every pod', () => {
  it('security contexts: stricter or the same is covered; what it cannot carry is refused', () => {
    const covered = mapConfig({
      podSecurityContext: {
        runAsUser: 0,
        runAsNonRoot: false,
        seccompProfile: { type: 'Unconfined' },
      },
      securityContext: {
        privileged: true,
        allowPrivilegeEscalation: true,
        capabilities: { add: ['NET_ADMIN'] },
        procMount: 'Unmasked',
      },
    });
    expect(kinds(covered.findings, 'unmappable')).toEqual([]);
    expect(finding(covered.findings, 'securityContext.capabilities')?.why).toContain(
      'stricter than adding NET_ADMIN',
    );
    const refused = mapConfig({
      podSecurityContext: {
        sysctls: [{ name: 'net.core.somaxconn', value: '1024' }],
        seccompProfile: { type: 'Localhost', localhostProfile: 'x.json' },
      },
      securityContext: { seLinuxOptions: { level: 's0:c1' }, somethingNew: true },
    });
    expect(kinds(refused.findings, 'unmappable')).toEqual([
      'podSecurityContext.sysctls',
      'podSecurityContext.seccompProfile',
      'securityContext.seLinuxOptions',
      'securityContext.somethingNew',
    ]);
    for (const f of refused.findings.filter((f) => f.kind === 'unmappable')) {
      expect(f.why, f.value).toContain('Way out');
    }
  });

  it('probes: replaced by the operator’s, compared', () => {
    const { findings } = mapConfig({});
    expect(finding(findings, 'livenessProbe')?.why).toMatch(
      /\/livez.*GET \/api\/v1\/summary\/health every 30 s.*restarted after about 30 s instead of 90 s.*LM Studio/,
    );
    expect(finding(findings, 'readinessProbe')?.why).toMatch(
      /\/readyz.*leaves the Service after about 15 s instead of 30 s/,
    );
    expect(
      finding(
        mapConfig({ livenessProbe: { exec: { command: ['true'] } } }).findings,
        'livenessProbe',
      )?.kind,
    ).toBe('covered');
  });

  it('volumes: an emptyDir on /tmp is covered; anything else refused', () => {
    const tmp = mapConfig({
      volumes: [{ name: 'scratch', emptyDir: {} }],
      volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }],
    });
    expect(finding(tmp.findings, 'volumes')?.kind).toBe('covered');
    const config = mapConfig({
      volumes: [{ name: 'prompts', configMap: { name: 'prompts' } }],
      volumeMounts: [{ name: 'prompts', mountPath: '/etc/prompts' }],
    });
    expect(kinds(config.findings, 'unmappable')).toEqual(['volumes', 'volumeMounts']);
    expect(finding(config.findings, 'volumes')?.why).toContain('Way out');
  });

  it('imagePullSecrets: refused, with the way out', () => {
    const { findings } = mapConfig({ imagePullSecrets: [{ name: 'regcred' }] });
    expect(kinds(findings, 'unmappable')).toEqual(['imagePullSecrets']);
    expect(finding(findings, 'imagePullSecrets')?.why).toContain('--set imagePullSecrets=null');
  });

  it('nameOverride and fullnameOverride: the same names are covered, others cannot be adopted in place', () => {
    expect(chartFullname('llmplan-prod', {})).toBe('llmplan-prod');
    expect(chartFullname('summarizer', {})).toBe('summarizer-llmplan');
    expect(chartFullname('summarizer', { nameOverride: 'summarizer' })).toBe('summarizer');
    expect(chartFullname('x', { fullnameOverride: 'y' })).toBe('y');
    expect(kinds(mapConfig({ fullnameOverride: 'llmplan' }).findings, 'unmappable')).toEqual([]);
    const other = mapConfig({ nameOverride: 'sum', fullnameOverride: 'summarizer' });
    expect(kinds(other.findings, 'unmappable')).toEqual(['nameOverride', 'fullnameOverride']);
    expect(finding(other.findings, 'fullnameOverride')?.why).toContain(
      'selected by app.kubernetes.io/instance=llmplan',
    );
  });

  it('serviceAccount: annotations refused; no token mounted; an account not created by the release', () => {
    const { findings } = mapConfig({
      serviceAccount: { annotations: { 'iam.example/role': 'x' } },
    });
    expect(kinds(findings, 'unmappable')).toEqual(['serviceAccount.annotations']);
    expect(finding(findings, 'serviceAccount.automount')?.why).toContain('stricter');
    const own = mapConfig({ serviceAccount: { create: false, name: 'batch' } });
    expect(finding(own.findings, 'serviceAccount.create')?.why).toContain(
      "the release's pods run as ServiceAccount batch",
    );
  });
});

describe('mapValues: one value at a time', () => {
  it("takes the chart's appVersion when image.tag is empty", () => {
    const { spec, findings } = mapConfig({ image: { tag: '' } });
    expect(spec.image).toMatchObject({ tag: '0.1.0' });
    expect(finding(findings, 'image.tag')?.why).toContain("the chart's appVersion");
  });

  it('keeps numbers as the chart rendered them: tag 1.5 and cpu 0.5', () => {
    const { spec } = mapConfig({ image: { tag: 1.5 }, resources: { requests: { cpu: 0.5 } } });
    expect(spec.image).toMatchObject({ tag: '1.5' });
    expect((spec.resources as { requests: { cpu: unknown } }).requests.cpu).toBe('0.5');
  });

  it('refuses a release without a memory limit, and resources besides cpu and memory', () => {
    const { findings } = mapConfig({
      resources: { limits: { memory: null, 'nvidia.com/gpu': 1 } },
    });
    expect(kinds(findings, 'unmappable')).toEqual([
      'resources.limits.memory',
      'resources.limits.nvidia.com/gpu',
    ]);
    expect(finding(findings, 'resources.limits.memory')?.why).toContain(
      'helm upgrade --reuse-values --set resources.limits.memory=',
    );
  });

  it('service: targetPort covered by the port name; type ExternalName refused', () => {
    expect(
      finding(mapConfig({ service: { targetPort: 9000 } }).findings, 'service.targetPort'),
    ).toMatchObject({
      kind: 'covered',
      why: expect.stringContaining('targets by name'),
    });
    expect(kinds(mapConfig({ service: { type: 'ExternalName' } }).findings, 'unmappable')).toEqual([
      'service.type',
    ]);
  });

  it('ingress: className with TLS', () => {
    const tls = [{ secretName: 'llmplan-tls', hosts: ['llmplan.company.com'] }];
    const { spec, findings } = mapConfig({
      ingress: {
        enabled: true,
        className: 'nginx',
        hosts: [{ host: 'llmplan.company.com', paths: [{ path: '/', pathType: 'Prefix' }] }],
        tls,
      },
    });
    expect(spec.ingress).toMatchObject({ className: 'nginx', tls });
    expect(finding(findings, 'ingress.className')?.why).toContain('kubernetes.io/ingress.class');
    expect(SpecSchema.safeParse(spec).success).toBe(true);
  });

  it('refuses pod labels the operator owns, maps the others with the scheduling fields', () => {
    expect(
      kinds(mapConfig({ podLabels: { 'app.kubernetes.io/name': 'x' } }).findings, 'unmappable'),
    ).toEqual(['podLabels']);
    const tolerations = [{ key: 'gpu', operator: 'Exists' }];
    const { spec } = mapConfig({
      podLabels: { team: 'nlp' },
      podAnnotations: { a: 'b' },
      nodeSelector: { pool: 'cpu' },
      tolerations,
    });
    expect(spec).toMatchObject({
      podLabels: { team: 'nlp' },
      podAnnotations: { a: 'b' },
      nodeSelector: { pool: 'cpu' },
      tolerations,
    });
  });

  it('refuses an HPA without a CPU target', () => {
    const { findings } = mapConfig({
      autoscaling: {
        enabled: true,
        targetCPUUtilizationPercentage: null,
        targetMemoryUtilizationPercentage: 70,
      },
    });
    expect(kinds(findings, 'unmappable')).toEqual(['autoscaling.targetCPUUtilizationPercentage']);
  });

  it('names a value the chart does not have', () => {
    expect(finding(mapConfig({ replicas: 2 }).findings, 'replicas')).toMatchObject({
      kind: 'not-mapped',
      why: expect.stringContaining('chart llmplan 0.1.0 has no value "replicas": Helm ignored it'),
    });
  });
});
