/**
 * The values of a release of chart `llmplan` 0.1.0 → the spec of the equivalent
 * SummarizerService (issue 11). Pure. Every value the templates read is accounted for:
 * mapped (with the spec field it becomes), not mapped (and why it does not need to be:
 * the operator fixes it, or Helm ignored it), or unmappable (the release does something a
 * SummarizerService cannot, and migrating would change it: an error).
 *
 * The spec reproduces what the release *runs*, not what its values meant: the runbook's
 * `--set replicas=2` and `--set debug=true` are not values of this chart, Helm ignored them,
 * and the migration keeps the pods as they are (and says so).
 */
import { ENV } from '../../../contract/env.js';
import { RESERVED_POD_LABELS } from '../../api/labels.js';
import { isDns1035Label, isDns1123Subdomain } from '../../api/schema-helpers.js';
import type { Values } from './helm-release.js';

export const CHART_NAME = 'llmplan';
export const CHART_VERSIONS: readonly string[] = ['0.1.0'];
/** Key of the Secret that holds `config.lmstudio.apiKey` after the migration. */
export const API_KEY_SECRET_KEY = 'api-key';
/** The container port of the operator's pods (the chart's default targetPort). */
const CONTAINER_PORT = 8000;

export type FindingKind = 'mapped' | 'not-mapped' | 'unmappable';

export interface Finding {
  kind: FindingKind;
  /** Dotted path of the value in the release, e.g. `resources.limits.memory`. */
  value: string;
  /** The value as the release has it. */
  shown: string;
  /** mapped: the spec field it became (`spec.resources.limits.memory`). */
  to?: string;
  /** Why, for everything not mapped one to one. */
  why?: string;
}

export interface MappingContext {
  /** Name of the SummarizerService (the release's object names). */
  name: string;
  /** The chart's appVersion: the image tag when image.tag is empty. */
  appVersion?: string;
}

export interface Mapping {
  /** The spec, every mapped field set (CRD defaults not yet removed). */
  spec: Record<string, unknown>;
  findings: Finding[];
  /** config.lmstudio.apiKey, when set: it goes into a Secret, never into the spec. */
  apiKey?: string;
  /** spec path → value path, to name the value behind a field the schema refuses. */
  sources: Record<string, string>;
}

/** The Secret `migrate` creates for config.lmstudio.apiKey. */
export const apiKeySecretName = (name: string) => `${name}-lmstudio-api-key`;

const isMap = (v: unknown): v is Values => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (isMap(v) && Object.keys(v).length === 0);

export function show(value: unknown): string {
  if (value === undefined) return '<unset>';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/** What the operator's pods run with; a release asking for less is covered, more is not. */
const OPERATOR_POD_SECURITY: Values = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};
const OPERATOR_CONTAINER_SECURITY: Values = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};
const SECURITY_WHY =
  "the operator's pods run with its own hardened security context (non-root uid 1000, read-only root filesystem, no capabilities, RuntimeDefault seccomp)";

class Mapper {
  readonly findings: Finding[] = [];
  readonly spec: Record<string, unknown> = {};
  readonly sources: Record<string, string> = {};
  readonly #consumed = new Set<string>();

  constructor(readonly values: Values) {}

  /** The value at `path`, marked as read by the templates. */
  get(path: string): unknown {
    this.#consumed.add(path);
    let node: unknown = this.values;
    for (const key of path.split('.')) node = isMap(node) ? node[key] : undefined;
    return node;
  }

  isConsumed(path: string): boolean {
    const parts = path.split('.');
    return parts.some((_, i) => this.#consumed.has(parts.slice(0, i + 1).join('.')));
  }

  set(specPath: string, value: unknown, from: string): void {
    let node = this.spec;
    const keys = specPath.split('.');
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1] as string] = value;
    this.sources[`spec.${specPath}`] = from;
  }

  /** `path` → spec.`specPath` as is (or as `convert` makes it). */
  map(path: string, specPath: string, convert: (v: unknown) => unknown = (v) => v, why?: string) {
    const value = this.get(path);
    if (value === undefined) return;
    this.set(specPath, convert(value), path);
    this.record('mapped', path, value, { to: `spec.${specPath}`, ...(why ? { why } : {}) });
  }

  /** Like map, for values that may be empty: an empty one is named, and sets nothing. */
  mapOptional(path: string, specPath: string) {
    if (isEmpty(this.get(path))) {
      this.record('mapped', path, this.get(path), { to: `spec.${specPath}`, why: 'none' });
    } else {
      this.map(path, specPath);
    }
  }

  record(kind: FindingKind, path: string, value: unknown, more: { to?: string; why?: string }) {
    this.findings.push({ kind, value: path, shown: show(value), ...more });
  }
  notMapped(path: string, why: string) {
    this.record('not-mapped', path, this.get(path), { why });
  }
  unmappable(path: string, why: string) {
    this.record('unmappable', path, this.get(path), { why });
  }
}

/** Integers stay numbers, anything else becomes a quantity string (`0.5` → '0.5'). */
const asQuantity = (v: unknown) => (Number.isInteger(v) ? v : String(v));
const asNumber = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);

function mapImage(m: Mapper, ctx: MappingContext): void {
  m.map('image.repository', 'image.repository', String);
  const tag = m.get('image.tag');
  if (isEmpty(tag) && ctx.appVersion) {
    m.set('image.tag', ctx.appVersion, 'image.tag');
    m.record('mapped', 'image.tag', tag, {
      to: 'spec.image.tag',
      why: `empty: the chart's appVersion ${ctx.appVersion}, the tag the release runs`,
    });
  } else if (isEmpty(tag)) {
    m.unmappable('image.tag', 'empty, and the chart has no appVersion: the tag is unknown');
  } else {
    m.map('image.tag', 'image.tag', String);
  }
  m.map('image.pullPolicy', 'image.pullPolicy', String);
}

function mapResources(m: Mapper): void {
  const resources = m.get('resources');
  for (const kind of ['requests', 'limits'] as const) {
    const list = isMap(resources) ? resources[kind] : undefined;
    for (const resource of ['cpu', 'memory'] as const) {
      const path = `resources.${kind}.${resource}`;
      if (isEmpty(m.get(path))) {
        m.unmappable(
          path,
          `unset: the release's pods have no ${resource} ${kind === 'requests' ? 'request' : 'limit'}, and a SummarizerService always sets one; set it in the release (helm upgrade --reuse-values --set ${path}=…) first`,
        );
      } else {
        m.map(path, path, asQuantity);
      }
    }
    for (const other of Object.keys(isMap(list) ? list : {})) {
      if (other === 'cpu' || other === 'memory') continue;
      m.unmappable(`resources.${kind}.${other}`, 'a SummarizerService sets cpu and memory only');
    }
  }
  for (const other of Object.keys(isMap(resources) ? resources : {})) {
    if (other !== 'requests' && other !== 'limits') {
      m.unmappable(`resources.${other}`, 'a SummarizerService sets requests and limits only');
    }
  }
}

function mapAutoscaling(m: Mapper): void {
  const enabled = m.get('autoscaling.enabled') === true;
  m.map('autoscaling.enabled', 'autoscaling.enabled', Boolean);
  m.map('autoscaling.minReplicas', 'autoscaling.minReplicas', asNumber);
  m.map('autoscaling.maxReplicas', 'autoscaling.maxReplicas', asNumber);
  const cpu = m.get('autoscaling.targetCPUUtilizationPercentage');
  if (isEmpty(cpu) || cpu === 0) {
    if (enabled) {
      m.unmappable(
        'autoscaling.targetCPUUtilizationPercentage',
        "unset: the release's HPA has no CPU target, a SummarizerService's HPA always has one",
      );
    } else {
      m.notMapped('autoscaling.targetCPUUtilizationPercentage', 'unset, and autoscaling is off');
    }
  } else {
    m.map(
      'autoscaling.targetCPUUtilizationPercentage',
      'autoscaling.targetCPUUtilizationPercentage',
      asNumber,
    );
  }
  const memory = m.get('autoscaling.targetMemoryUtilizationPercentage');
  if (isEmpty(memory) || memory === 0) {
    if (memory !== undefined)
      m.notMapped('autoscaling.targetMemoryUtilizationPercentage', 'unset: no memory target');
  } else {
    m.map(
      'autoscaling.targetMemoryUtilizationPercentage',
      'autoscaling.targetMemoryUtilizationPercentage',
      asNumber,
    );
  }
  if (enabled) {
    m.map('replicaCount', 'replicas', asNumber, 'ignored while autoscaling, as by the chart');
  }
}

function mapService(m: Mapper): void {
  const type = m.get('service.type');
  if (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer') {
    m.map('service.type', 'service.type', String);
  } else {
    m.unmappable(
      'service.type',
      'a SummarizerService serves through ClusterIP, NodePort or LoadBalancer',
    );
  }
  m.map('service.port', 'service.port', asNumber);
  const target = asNumber(m.get('service.targetPort'));
  m.notMapped(
    'service.targetPort',
    target === CONTAINER_PORT
      ? 'the container port: 8000 in a SummarizerService too'
      : `the release's pods listen on ${show(target)}, the SummarizerService's on 8000; its Service targets the port by name (http), so clients of service.port see no change`,
  );
}

function mapIngress(m: Mapper): void {
  m.map('ingress.enabled', 'ingress.enabled', Boolean);
  m.map('ingress.className', 'ingress.className', (v) => (v === null ? '' : String(v)));
  m.mapOptional('ingress.annotations', 'ingress.annotations');
  const hosts = m.get('ingress.hosts');
  if (Array.isArray(hosts)) {
    const known = (entry: unknown, keys: string[]) =>
      isMap(entry) && Object.keys(entry).every((k) => keys.includes(k));
    const ok = hosts.every(
      (h) =>
        known(h, ['host', 'paths']) &&
        (!Array.isArray(h.paths) || h.paths.every((p: unknown) => known(p, ['path', 'pathType']))),
    );
    if (ok) m.map('ingress.hosts', 'ingress.hosts');
    else m.unmappable('ingress.hosts', 'each host has only host and paths[].{path, pathType}');
  }
  m.mapOptional('ingress.tls', 'ingress.tls');
}

function mapEnv(m: Mapper): void {
  const env = m.get('env');
  if (isEmpty(env)) {
    m.mapOptional('env', 'env');
    return;
  }
  if (!Array.isArray(env) || !env.every((e) => isMap(e) && typeof e.name === 'string')) {
    m.unmappable('env', 'must be a list of {name, value} or {name, valueFrom}');
    return;
  }
  const port = env.find((e) => e.name === ENV.port);
  if (port) {
    m.unmappable('env', 'sets PORT: the container port of a SummarizerService is fixed at 8000');
    return;
  }
  const debug = env.some((e) => e.name === ENV.debug);
  m.map(
    'env',
    'env',
    (v) => v,
    debug
      ? 'as is (DEBUG included; spec.debug is the SummarizerService’s own field for it)'
      : undefined,
  );
}

/**
 * config.lmstudio.baseUrl and lmstudio.*: where the pods reach LM Studio. A SummarizerService
 * calls http://<serviceName>:<port>/v1, and creates <serviceName> as an ExternalName Service
 * only when externalName is set.
 */
function mapLmStudio(m: Mapper): void {
  const raw = m.get('config.lmstudio.baseUrl');
  const enabled = m.get('lmstudio.enabled') === true;
  const serviceName = m.get('lmstudio.service.name');
  const externalName = m.get('lmstudio.externalName');
  const url = URL.canParse(String(raw)) ? new URL(String(raw)) : undefined;
  const path = url?.pathname.replace(/\/+$/, '');
  if (
    url === undefined ||
    url.protocol !== 'http:' ||
    path !== '/v1' ||
    url.search ||
    url.username
  ) {
    m.unmappable(
      'config.lmstudio.baseUrl',
      'a SummarizerService calls LM Studio at http://<service>:<port>/v1',
    );
    return;
  }
  const host = url.hostname.replace(/\.$/, '');
  const port = url.port === '' ? 80 : Number(url.port);
  const viaChart = enabled && host === serviceName;
  if (viaChart && !isEmpty(externalName)) {
    m.set('lmstudio.serviceName', host, 'config.lmstudio.baseUrl');
    m.set('lmstudio.port', port, 'config.lmstudio.baseUrl');
    m.record('mapped', 'config.lmstudio.baseUrl', raw, {
      to: 'spec.lmstudio.serviceName, spec.lmstudio.port',
    });
    m.map(
      'lmstudio.externalName',
      'lmstudio.externalName',
      String,
      `the ExternalName Service ${host} is adopted`,
    );
    m.notMapped(
      'lmstudio.enabled',
      'true: the SummarizerService creates the ExternalName Service while externalName is set',
    );
    m.notMapped(
      'lmstudio.service.name',
      `the Service the URL names (${host}): spec.lmstudio.serviceName`,
    );
    m.notMapped(
      'lmstudio.service.port',
      `the port of the URL (${port}) is the one the pods call: spec.lmstudio.port`,
    );
    return;
  }
  if (isDns1035Label(host)) {
    m.set('lmstudio.serviceName', host, 'config.lmstudio.baseUrl');
    m.set('lmstudio.port', port, 'config.lmstudio.baseUrl');
    m.record('mapped', 'config.lmstudio.baseUrl', raw, {
      to: 'spec.lmstudio.serviceName, spec.lmstudio.port',
    });
  } else if (isDns1123Subdomain(host) && !/^[0-9.]+$/.test(host)) {
    // A host elsewhere: the SummarizerService reaches it through an ExternalName Service.
    m.set('lmstudio.externalName', host, 'config.lmstudio.baseUrl');
    m.set('lmstudio.port', port, 'config.lmstudio.baseUrl');
    m.record('mapped', 'config.lmstudio.baseUrl', raw, {
      to: 'spec.lmstudio.externalName, spec.lmstudio.port',
      why: `the pods call http://lmstudio:${port}/v1, an ExternalName Service lmstudio → ${host}`,
    });
  } else {
    m.unmappable(
      'config.lmstudio.baseUrl',
      'an IP address: a SummarizerService reaches LM Studio by a Service name or a DNS name (ExternalName)',
    );
  }
  if (enabled) {
    m.notMapped(
      'lmstudio.enabled',
      `the chart's Service ${show(serviceName)} (ClusterIP, selecting app.kubernetes.io/name=lmstudio) stays as it is, outside the SummarizerService, which creates only ExternalName backends`,
    );
  } else {
    m.notMapped('lmstudio.enabled', 'false: the chart created no Service for LM Studio');
  }
  for (const path of ['lmstudio.service.name', 'lmstudio.service.port', 'lmstudio.externalName']) {
    m.notMapped(
      path,
      viaChart
        ? 'describes the Service that stays'
        : 'not used by the pods: config.lmstudio.baseUrl is',
    );
  }
}

function mapConfig(m: Mapper, ctx: MappingContext): Mapping['apiKey'] {
  mapLmStudio(m);
  const apiKey = m.get('config.lmstudio.apiKey');
  let key: string | undefined;
  if (isEmpty(apiKey)) {
    m.record('mapped', 'config.lmstudio.apiKey', apiKey, {
      to: 'spec.lmstudio.apiKeySecretRef',
      why: 'none',
    });
  } else {
    key = String(apiKey);
    const secret = apiKeySecretName(ctx.name);
    m.set(
      'lmstudio.apiKeySecretRef',
      { name: secret, key: API_KEY_SECRET_KEY },
      'config.lmstudio.apiKey',
    );
    m.findings.push({
      kind: 'mapped',
      value: 'config.lmstudio.apiKey',
      shown: '<hidden>',
      to: 'spec.lmstudio.apiKeySecretRef',
      why: `the key goes into Secret ${secret} (key ${API_KEY_SECRET_KEY}), no longer into a ConfigMap`,
    });
  }
  m.map('config.lmstudio.timeout', 'lmstudio.timeoutSeconds', asNumber);
  m.map('config.lmstudio.maxRetries', 'lmstudio.maxRetries', asNumber);
  m.map('config.summary.defaultModelName', 'summary.defaultModel', String);
  m.map('config.summary.defaultMaxTokens', 'summary.defaultMaxTokens', asNumber);
  m.map('config.summary.defaultTemperature', 'summary.defaultTemperature', asNumber);
  m.map('config.summary.defaultSummaryType', 'summary.defaultSummaryType', String);
  m.map('config.summary.defaultLanguage', 'summary.defaultLanguage', String);
  return key;
}

function mapPods(m: Mapper): void {
  for (const path of ['podAnnotations', 'nodeSelector', 'affinity', 'tolerations']) {
    m.mapOptional(path, path);
  }
  const labels = m.get('podLabels');
  if (isMap(labels) && RESERVED_POD_LABELS.some((l) => l in labels)) {
    m.unmappable('podLabels', `sets ${RESERVED_POD_LABELS.join(' or ')}: the operator owns them`);
  } else {
    m.mapOptional('podLabels', 'podLabels');
  }
}

/** Whether every field `requested` sets is what the operator sets anyway. */
function coveredBy(requested: unknown, operator: Values): boolean {
  if (!isMap(requested)) return requested === undefined;
  return Object.entries(requested).every(([key, value]) =>
    isMap(value)
      ? coveredBy(value, (operator[key] ?? {}) as Values)
      : JSON.stringify(value) === JSON.stringify(operator[key]),
  );
}

function mapIdentity(m: Mapper, ctx: MappingContext): void {
  const create = m.get('serviceAccount.create') !== false;
  const name = m.get('serviceAccount.name');
  if (create && (isEmpty(name) || name === ctx.name)) {
    m.notMapped(
      'serviceAccount.create',
      `the release's ServiceAccount ${ctx.name} is adopted (no token mounted)`,
    );
    if (name !== undefined) m.notMapped('serviceAccount.name', `empty: the full name, ${ctx.name}`);
  } else {
    m.notMapped(
      'serviceAccount.create',
      `the pods will run as ServiceAccount ${ctx.name}, created by the operator (no token mounted; the summarizer needs no API access)`,
    );
    m.notMapped(
      'serviceAccount.name',
      create
        ? `the release's ServiceAccount ${show(name)} stays as it is`
        : 'not created by the release',
    );
  }
  if (!isEmpty(m.get('serviceAccount.annotations'))) {
    m.unmappable(
      'serviceAccount.annotations',
      "the operator's ServiceAccount carries no annotations (e.g. a cloud identity would be lost)",
    );
  } else if (m.get('serviceAccount.annotations') !== undefined) {
    m.notMapped('serviceAccount.annotations', 'none');
  }
  for (const [path, operator] of [
    ['podSecurityContext', OPERATOR_POD_SECURITY],
    ['securityContext', OPERATOR_CONTAINER_SECURITY],
  ] as const) {
    const value = m.get(path);
    if (isEmpty(value) || coveredBy(value, operator)) m.notMapped(path, SECURITY_WHY);
    else
      m.unmappable(
        path,
        `asks for something the operator's fixed security context differs from: ${SECURITY_WHY}`,
      );
  }
}

/** What to say about a value chart llmplan 0.1.0 does not have. */
function unknownValueWhy(path: string, values: Values): string {
  const base = `chart llmplan 0.1.0 has no value "${path}": Helm ignored it, so the release never used it`;
  if (path === 'replicas') {
    const autoscaling = isMap(values.autoscaling) && values.autoscaling.enabled === true;
    return autoscaling
      ? `${base} (the chart reads replicaCount, and while autoscaling.enabled the HPA sets the count, as it will for the SummarizerService)`
      : `${base} (the chart reads replicaCount: the release runs ${show(values.replicaCount)} replica(s), and so will the SummarizerService; set spec.replicas if you meant ${path})`;
  }
  if (path === 'debug') {
    return `${base} (debug logging is env DEBUG in this chart; the SummarizerService keeps it as the release ran, set spec.debug: true if you meant it)`;
  }
  return base;
}

function leafPaths(values: Values, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) =>
    isMap(value) && Object.keys(value).length > 0
      ? leafPaths(value, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

export function mapValues(values: Values, ctx: MappingContext): Mapping {
  const m = new Mapper(values);
  if (m.get('autoscaling.enabled') !== true) m.map('replicaCount', 'replicas', asNumber);
  mapImage(m, ctx);
  mapResources(m);
  mapAutoscaling(m);
  mapService(m);
  mapIngress(m);
  mapEnv(m);
  const apiKey = mapConfig(m, ctx);
  mapPods(m);
  mapIdentity(m, ctx);
  for (const path of leafPaths(values)) {
    if (!m.isConsumed(path)) {
      m.record('not-mapped', path, m.get(path), {
        why: unknownValueWhy(path, values),
      });
    }
  }
  return { spec: m.spec, findings: m.findings, sources: m.sources, ...(apiKey ? { apiKey } : {}) };
}
