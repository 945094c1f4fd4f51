/**
 * The values of a release of the users' chart `llmplan` 0.1.0 → the spec of the equivalent
 * SummarizerService (issues 11, 20). Pure. Every value of the chart gets a fate:
 * - mapped: the spec field it becomes;
 * - covered: the operator does it itself, the same or stricter (its security context, its
 *   probes, its ServiceAccount), or another value's mapping carries it — said, with why;
 * - not mapped: it has no effect on what the release runs (Helm ignored it, a disabled
 *   feature, a ConfigMap the pods never read) — said, with what runs instead;
 * - unmappable: the release does something a SummarizerService cannot, and migrating would
 *   change it — refused, with the reason and the way out.
 *
 * The spec reproduces what the release *runs*, not what its values meant. With this chart
 * that matters: its pods read their settings from `env` only (the Deployment has no
 * envFrom), so `config.*` fills a ConfigMap nobody reads, and the LM Studio URL, the API key
 * and DEBUG come from the env list. An env entry that is one of the operator's own variables
 * (OPERATOR_ENV) becomes its spec field, never a spec.env entry (the CRD refuses those).
 */
import { ENV, ENV_DEFAULTS, type EnvName } from '../../../contract/env.js';
import { RESERVED_POD_LABELS } from '../../api/labels.js';
import { isDns1035Label, isDns1123Subdomain } from '../../api/schema-helpers.js';
import { OPERATOR_ENV } from '../../api/spec.js';
import {
  CONTAINER_SECURITY_CONTEXT,
  POD_SECURITY_CONTEXT,
  PROBES,
  TMP_PATH,
  TMP_SIZE_LIMIT,
} from '../../desired/pod-template.js';
import type { Values } from './helm-release.js';

export const CHART_NAME = 'llmplan';
export const CHART_VERSIONS: readonly string[] = ['0.1.0'];
/** Key of the Secret that holds the release's LM Studio API key after the migration. */
export const API_KEY_SECRET_KEY = 'api-key';
/** The container port of the operator's pods (the chart's default targetPort). */
const CONTAINER_PORT = ENV_DEFAULTS.port;

export type FindingKind = 'mapped' | 'covered' | 'not-mapped' | 'unmappable';

export interface Finding {
  kind: FindingKind;
  /** Dotted path of the value in the release, e.g. `resources.limits.memory`; `env[NAME]` for an env entry. */
  value: string;
  /** The value as the release has it. */
  shown: string;
  /** mapped: the spec field it became (`spec.resources.limits.memory`). */
  to?: string;
  /** Why, for everything not mapped one to one; for unmappable, also the way out. */
  why?: string;
}

export interface MappingContext {
  /** Name of the SummarizerService (the release's object names). */
  name: string;
  /** Name of the Helm release (its pods' app.kubernetes.io/instance). */
  release: string;
  /** The chart's appVersion: the image tag when image.tag is empty. */
  appVersion?: string;
}

export interface Mapping {
  /** The spec, every mapped field set (CRD defaults not yet removed). */
  spec: Record<string, unknown>;
  findings: Finding[];
  /** The LM Studio API key the pods ran with, when a literal: it goes into a Secret, never into the spec. */
  apiKey?: string;
  /** spec path → value path, to name the value behind a field the schema refuses. */
  sources: Record<string, string>;
}

/** The Secret `migrate` creates for the release's LM Studio API key. */
export const apiKeySecretName = (name: string) => `${name}-lmstudio-api-key`;

const isMap = (v: unknown): v is Values => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (isMap(v) && Object.keys(v).length === 0);
const json = (v: unknown) => JSON.stringify(v);

export function show(value: unknown): string {
  if (value === undefined) return '<unset>';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/** Go's strings.TrimSuffix(s, "-") after trunc 63, as the chart's helpers do. */
const trunc63 = (s: string) => {
  const cut = s.slice(0, 63);
  return cut.endsWith('-') ? cut.slice(0, -1) : cut;
};
const text = (v: unknown) => (isEmpty(v) ? '' : String(v));

/** The chart's `llmplan.fullname`: the release's object names. */
export function chartFullname(release: string, values: Values): string {
  const override = text(values.fullnameOverride);
  if (override) return trunc63(override);
  const name = text(values.nameOverride) || CHART_NAME;
  return trunc63(release.includes(name) ? release : `${release}-${name}`);
}

/** The chart's `llmplan.name`: the pods' app.kubernetes.io/name. */
const chartName = (values: Values) => trunc63(text(values.nameOverride) || CHART_NAME);

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

  record(
    kind: FindingKind,
    path: string,
    value: unknown,
    more: { to?: string; why?: string; shown?: string },
  ) {
    const { shown, ...rest } = more;
    this.findings.push({ kind, value: path, shown: shown ?? show(value), ...rest });
  }
  covered(path: string, why: string) {
    this.record('covered', path, this.get(path), { why });
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
const reuse = (path: string) => `helm upgrade --reuse-values --set ${path}=…`;

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
  const secrets = m.get('imagePullSecrets');
  if (isEmpty(secrets)) {
    m.covered(
      'imagePullSecrets',
      "none: the release's pods pull the image without a Secret, as the SummarizerService's will",
    );
  } else {
    m.unmappable(
      'imagePullSecrets',
      "the release's pods pull the image with these Secrets, and a SummarizerService has no imagePullSecrets: its pods could not pull a private image (ImagePullBackOff). " +
        'Way out: make the image pullable without a Secret in the pod (a registry credential on the nodes — the kubelet credential provider — or a registry the nodes may pull from), then helm upgrade --reuse-values --set imagePullSecrets=null and migrate',
    );
  }
}

const RUN_BESIDE =
  'Way out: run a SummarizerService beside the release (another name), move the clients to its Service, then helm uninstall the release';

function mapNames(m: Mapper, ctx: MappingContext): void {
  const nameOverride = text(m.get('nameOverride'));
  if (nameOverride === '' || nameOverride === CHART_NAME) {
    m.covered(
      'nameOverride',
      `${nameOverride === '' ? 'empty' : 'the chart name'}: the pods are labelled app.kubernetes.io/name=${CHART_NAME}, as a SummarizerService's`,
    );
  } else {
    m.unmappable(
      'nameOverride',
      `the chart labels the pods app.kubernetes.io/name=${chartName(m.values)} in the Deployment's selector, which cannot change, and a SummarizerService's pods are app.kubernetes.io/name=${CHART_NAME}: none can adopt the Deployment in place. ${RUN_BESIDE}`,
    );
  }
  const fullnameOverride = text(m.get('fullnameOverride'));
  const fullname = chartFullname(ctx.release, m.values);
  if (fullnameOverride === '') {
    m.covered(
      'fullnameOverride',
      `empty: the objects are named ${fullname} after the release, and so is the SummarizerService`,
    );
  } else if (fullname === ctx.release) {
    m.covered(
      'fullnameOverride',
      `the release's name: the objects are named ${fullname}, and so is the SummarizerService`,
    );
  } else {
    m.unmappable(
      'fullnameOverride',
      `names the objects ${fullname}, while the pods are selected by app.kubernetes.io/instance=${ctx.release}: a SummarizerService named ${fullname} selects instance=${fullname}, and a Deployment's selector cannot change. ${RUN_BESIDE}`,
    );
  }
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
          `unset: the release's pods have no ${resource} ${kind === 'requests' ? 'request' : 'limit'}, and a SummarizerService always sets one; set it in the release (${reuse(path)}) first`,
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
  m.covered(
    'service.targetPort',
    target === CONTAINER_PORT
      ? 'the container port: 8000 in a SummarizerService too'
      : `the release's pods declare port ${show(target)}, the SummarizerService's listen on 8000; both are the port named http, which the Service targets by name, so clients of service.port see no change`,
  );
}

function mapIngress(m: Mapper): void {
  const enabled = m.get('ingress.enabled') === true;
  m.map('ingress.enabled', 'ingress.enabled', Boolean);
  const className = m.get('ingress.className');
  m.map(
    'ingress.className',
    'ingress.className',
    (v) => (v === null ? '' : String(v)),
    isEmpty(className)
      ? undefined
      : "the chart also writes the deprecated annotation kubernetes.io/ingress.class with the same class; the SummarizerService's Ingress names it by ingressClassName only",
  );
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
    const pathless = hosts.filter((h) => isMap(h) && isEmpty(h.paths)).map((h) => h.host);
    if (!ok) {
      m.unmappable('ingress.hosts', 'each host has only host and paths[].{path, pathType}');
    } else if (enabled && pathless.length > 0) {
      m.unmappable(
        'ingress.hosts',
        `host ${pathless.join(', ')} has no paths: the chart renders its rule with no paths, which the API server refuses (paths: Required value), so no revision with these values deploys. Way out: give it its paths (helm upgrade --reuse-values --set ingress.hosts[0].paths[0].path=/ --set ingress.hosts[0].paths[0].pathType=Prefix), then migrate`,
      );
    } else {
      m.map('ingress.hosts', 'ingress.hosts');
    }
  }
  m.mapOptional('ingress.tls', 'ingress.tls');
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

// ---------------------------------------------------------------------------------------
// env, config.* and LM Studio: what the pods really read.

/** The keys of the chart's ConfigMap `<fullname>-config`, from config.*. */
const CONFIG_KEYS: readonly { path: string; env: EnvName }[] = [
  { path: 'config.lmstudio.baseUrl', env: ENV.lmstudioBaseUrl },
  { path: 'config.lmstudio.apiKey', env: ENV.lmstudioApiKey },
  { path: 'config.lmstudio.timeout', env: ENV.lmstudioTimeout },
  { path: 'config.lmstudio.maxRetries', env: ENV.lmstudioMaxRetries },
  { path: 'config.summary.defaultModelName', env: ENV.defaultModelName },
  { path: 'config.summary.defaultMaxTokens', env: ENV.defaultMaxTokens },
  { path: 'config.summary.defaultTemperature', env: ENV.defaultTemperature },
  { path: 'config.summary.defaultSummaryType', env: ENV.defaultSummaryType },
  { path: 'config.summary.defaultLanguage', env: ENV.defaultLanguage },
];

/** What the service runs with when the variable is unset (docs/api.md, Configuration). */
const SERVICE_DEFAULTS: Partial<Record<EnvName, string>> = {
  [ENV.port]: String(ENV_DEFAULTS.port),
  [ENV.lmstudioBaseUrl]: ENV_DEFAULTS.lmstudioBaseUrl,
  [ENV.lmstudioApiKey]: '',
  [ENV.lmstudioTimeout]: String(ENV_DEFAULTS.lmstudioTimeoutSeconds),
  [ENV.lmstudioMaxRetries]: String(ENV_DEFAULTS.lmstudioMaxRetries),
  [ENV.lmstudioMaxConcurrency]: String(ENV_DEFAULTS.lmstudioMaxConcurrency),
  [ENV.defaultModelName]: ENV_DEFAULTS.defaultModelName,
  [ENV.defaultMaxTokens]: String(ENV_DEFAULTS.defaultMaxTokens),
  [ENV.defaultTemperature]: String(ENV_DEFAULTS.defaultTemperature),
  [ENV.defaultSummaryType]: ENV_DEFAULTS.defaultSummaryType,
  [ENV.defaultLanguage]: ENV_DEFAULTS.defaultLanguage,
  [ENV.debug]: String(ENV_DEFAULTS.debug),
};

/** The spec field each of the operator's variables is set from (number: parsed as one). */
const ENV_FIELDS: Partial<Record<EnvName, { spec: string; number?: boolean }>> = {
  [ENV.lmstudioTimeout]: { spec: 'lmstudio.timeoutSeconds', number: true },
  [ENV.lmstudioMaxRetries]: { spec: 'lmstudio.maxRetries', number: true },
  [ENV.lmstudioMaxConcurrency]: { spec: 'lmstudio.maxConcurrency', number: true },
  [ENV.defaultModelName]: { spec: 'summary.defaultModel' },
  [ENV.defaultMaxTokens]: { spec: 'summary.defaultMaxTokens', number: true },
  [ENV.defaultTemperature]: { spec: 'summary.defaultTemperature', number: true },
  [ENV.defaultSummaryType]: { spec: 'summary.defaultSummaryType' },
  [ENV.defaultLanguage]: { spec: 'summary.defaultLanguage' },
};

const OPERATOR_NAMES = new Set<string>(OPERATOR_ENV.map((v) => v.name));
const DEBUG_TRUE = ['true', '1', 'yes', 'on'];
const DEBUG_FALSE = ['false', '0', 'no', 'off'];

type EnvEntry = { name: string; value?: unknown; valueFrom?: unknown };

/** What the pods ran with for one of the operator's variables, and where it came from. */
interface Effective {
  value: string;
  /** The env finding that set it (`env[NAME]`), absent: the service's default. */
  from?: string;
}

interface EnvResult {
  /** The operator's variables as the pods had them (only those set by env). */
  effective: Map<string, Effective>;
  /** The ConfigMap keys an env entry read (configMapKeyRef), by env finding. */
  configRead: Map<string, string>;
  /** The API key's Secret key ref, when env took it from a Secret. */
  apiKeyRef?: { name: string; key: string };
  apiKey?: string;
}

/** The chart's ConfigMap data, as its template renders it (`quote`: strings of the values). */
function configMapData(m: Mapper): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { path, env } of CONFIG_KEYS) {
    let node: unknown = m.values;
    for (const key of path.split('.')) node = isMap(node) ? node[key] : undefined;
    out[env] = node === undefined || node === null ? '' : String(node);
  }
  return out;
}

/**
 * The chart's `env` list: the operator's variables become their spec fields (or are covered,
 * or refused), the others go to spec.env as they are; a value read from the chart's own
 * ConfigMap (which the operator rewrites) is carried as the value the pods saw.
 */
function mapEnv(m: Mapper, fullname: string): EnvResult {
  const result: EnvResult = { effective: new Map(), configRead: new Map() };
  const env = m.get('env');
  if (isEmpty(env)) {
    m.record('mapped', 'env', env, {
      to: 'spec.env',
      why: "none: the pods ran with the service's defaults",
    });
    return result;
  }
  if (!Array.isArray(env)) {
    m.unmappable(
      'env',
      'a map, not a list: the chart writes it as the container\'s env, which Kubernetes requires to be a list of {name, value}, so the API server refuses the Deployment and no revision with it deploys (the guide\'s --set env.DEBUG=true does this). Way out: set env as a list, e.g. helm upgrade --reuse-values --set-json \'env=[{"name":"DEBUG","value":"true"}]\', then migrate',
    );
    return result;
  }
  if (!env.every((e) => isMap(e) && typeof e.name === 'string' && e.name !== '')) {
    m.unmappable('env', 'must be a list of {name, value} or {name, valueFrom}');
    return result;
  }
  const entries = env as EnvEntry[];
  const configMap = `${fullname}-config`;
  const data = configMapData(m);
  const extras: EnvEntry[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const last = entries.findLastIndex((e) => e.name === entry.name) === i;
    const path = seen.has(entry.name) || !last ? `env[${i}]` : `env[${entry.name}]`;
    seen.add(entry.name);
    const isKey = entry.name === ENV.lmstudioApiKey;
    const shown =
      isKey && entry.value !== undefined && entry.value !== ''
        ? '<hidden>'
        : show(entry.valueFrom ?? entry.value ?? '');
    const say = (kind: FindingKind, more: { to?: string; why?: string }) =>
      m.record(kind, path, undefined, { ...more, shown });
    if (!last) {
      say('not-mapped', {
        why: `a later entry sets ${entry.name} too, and Kubernetes gives the container the last one`,
      });
      return;
    }
    // Where the value comes from: a literal, the chart's own ConfigMap, or elsewhere.
    let literal: string | undefined;
    let source: string | undefined;
    const from = isMap(entry.valueFrom) ? entry.valueFrom : undefined;
    const cmRef = isMap(from?.configMapKeyRef) ? from.configMapKeyRef : undefined;
    const secretRef = isMap(from?.secretKeyRef) ? from.secretKeyRef : undefined;
    if (from === undefined) {
      if (entry.value !== undefined && entry.value !== null && typeof entry.value !== 'string') {
        say('unmappable', {
          why: `value ${json(entry.value)} is not a string: the API server refuses it, so no revision with it deploys. Way out: quote it (--set-json with "value":"…")`,
        });
        return;
      }
      literal = typeof entry.value === 'string' ? entry.value : '';
    } else if (cmRef?.name === configMap && typeof cmRef.key === 'string' && cmRef.key in data) {
      literal = data[cmRef.key] ?? '';
      source = `read from the chart's ConfigMap ${configMap} (key ${cmRef.key}), whose data the operator rewrites: carried as the value the pods saw`;
      result.configRead.set(cmRef.key, path);
    } else {
      source = `from ${json(from)}`;
    }

    if (!OPERATOR_NAMES.has(entry.name)) {
      const carried: EnvEntry =
        literal === undefined ? entry : { name: entry.name, value: literal };
      extras.push(carried);
      say('mapped', { to: 'spec.env', ...(source ? { why: source } : { why: 'as is' }) });
      return;
    }
    mapOperatorVariable(
      m,
      entry.name as EnvName,
      path,
      { literal, source, secretRef },
      say,
      result,
    );
  });
  if (extras.length > 0) m.set('env', extras, 'env');
  return result;
}

function mapOperatorVariable(
  m: Mapper,
  name: EnvName,
  path: string,
  value: { literal?: string; source?: string; secretRef?: Values },
  say: (kind: FindingKind, more: { to?: string; why?: string }) => void,
  result: EnvResult,
): void {
  const via = value.source ? `; ${value.source}` : '';
  const operator = OPERATOR_ENV.find((v) => v.name === name);
  if (name === ENV.lmstudioApiKey && value.secretRef) {
    const ref = value.secretRef;
    result.apiKeyRef = { name: String(ref.name), key: String(ref.key) };
    m.set('lmstudio.apiKeySecretRef', result.apiKeyRef, path);
    say('mapped', {
      to: 'spec.lmstudio.apiKeySecretRef',
      why: `the same Secret key${ref.optional === true ? ' (optional there: the operator requires the Secret)' : ''}`,
    });
    return;
  }
  if (value.literal === undefined) {
    say('unmappable', {
      why: `${value.source}: the SummarizerService sets ${name} itself from ${operator?.field ?? 'the spec'}, a value in the resource, and cannot read it from elsewhere. Way out: give it as a value in the release's env (helm upgrade --reuse-values --set-json 'env=[…]'), then migrate`,
    });
    return;
  }
  const raw = value.literal;
  result.effective.set(name, { value: raw, from: path });
  if (raw.trim() === '') {
    say('covered', {
      why: `blank: unset, so the service's default (${show(SERVICE_DEFAULTS[name])}), which the SummarizerService's default gives too${via}`,
    });
    return;
  }
  switch (name) {
    case ENV.port:
      say('covered', {
        why: `the SummarizerService's pods listen on ${CONTAINER_PORT} (PORT=${CONTAINER_PORT}), the port named http, which its Service targets by name: clients of service.port see no change${via}`,
      });
      return;
    case ENV.lmstudioBaseUrl:
      // mapLmStudio records it.
      return;
    case ENV.lmstudioApiKey: {
      result.apiKey = raw;
      say('mapped', {
        to: 'spec.lmstudio.apiKeySecretRef',
        why: `the key goes into a Secret (key ${API_KEY_SECRET_KEY}) that the SummarizerService references, never into the spec${via}`,
      });
      return;
    }
    case ENV.debug: {
      const v = raw.trim().toLowerCase();
      if (!DEBUG_TRUE.includes(v) && !DEBUG_FALSE.includes(v)) {
        say('unmappable', {
          why: `not a boolean the service accepts (${[...DEBUG_TRUE, ...DEBUG_FALSE].join('/')}): the pods refused to start with it. Way out: fix it in the release first`,
        });
        return;
      }
      m.set('debug', DEBUG_TRUE.includes(v), path);
      say('mapped', { to: 'spec.debug', why: `${DEBUG_TRUE.includes(v)}${via}` });
      return;
    }
    default: {
      const field = ENV_FIELDS[name];
      if (!field) return;
      m.set(field.spec, field.number ? asNumber(raw) : raw, path);
      say('mapped', { to: `spec.${field.spec}`, ...(via ? { why: via.slice(2) } : {}) });
    }
  }
}

/** config.*: the chart's ConfigMap, which its pods read only where env says so. */
function mapConfig(m: Mapper, fullname: string, env: EnvResult): void {
  const configMap = `${fullname}-config`;
  for (const { path, env: name } of CONFIG_KEYS) {
    const value = m.get(path);
    const secret = name === ENV.lmstudioApiKey && !isEmpty(value);
    const shown = secret ? '<hidden>' : show(value);
    const readBy = env.configRead.get(name);
    if (readBy) {
      m.record('covered', path, value, {
        shown,
        why: `read by the pods through ${readBy} (configMapKeyRef), which carries it`,
      });
      continue;
    }
    const effective = env.effective.get(name);
    const ran = effective?.value ?? SERVICE_DEFAULTS[name] ?? '';
    const where = effective?.from ? `from ${effective.from}` : "the service's default";
    const field = `spec.${OPERATOR_ENV.find((v) => v.name === name)?.field ?? ''}`;
    const differs = String(value ?? '') !== ran;
    const ranShown = name === ENV.lmstudioApiKey && ran !== '' ? '<hidden>' : show(ran);
    m.record('not-mapped', path, value, {
      shown,
      why:
        `only in ConfigMap ${configMap}, which the chart's pods never read (no envFrom): they ran with ${name}=${ranShown} (${where}), and so will the SummarizerService` +
        (differs ? `; set ${field} if you meant this ${secret ? 'key' : 'value'}` : ''),
    });
  }
}

/**
 * Where the pods reach LM Studio: env LMSTUDIO_BASE_URL (else the service's default), and
 * lmstudio.*, the Service the chart creates for it. A SummarizerService calls
 * http://<serviceName>:<port>/v1 and creates <serviceName> as an ExternalName Service only
 * when externalName is set.
 */
function mapLmStudio(m: Mapper, env: EnvResult): void {
  const fromEnv = env.effective.get(ENV.lmstudioBaseUrl);
  // A blank entry was reported by mapEnv (unset: the service's default).
  const set = fromEnv !== undefined && fromEnv.value.trim() !== '';
  const raw = set ? fromEnv.value : ENV_DEFAULTS.lmstudioBaseUrl;
  const urlPath = set ? fromEnv.from : undefined;
  const enabled = m.get('lmstudio.enabled') === true;
  const serviceName = m.get('lmstudio.service.name');
  const servicePort = m.get('lmstudio.service.port');
  const externalName = m.get('lmstudio.externalName');
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  const path = url?.pathname.replace(/\/+$/, '');
  const say = (kind: FindingKind, more: { to?: string; why?: string }) => {
    if (urlPath) m.record(kind, urlPath, raw, more);
  };
  const source = urlPath ?? 'env';
  if (
    url === undefined ||
    url.protocol !== 'http:' ||
    path !== '/v1' ||
    url.search ||
    url.username
  ) {
    say('unmappable', {
      why: 'a SummarizerService calls LM Studio at http://<service>:<port>/v1; https, another path, a query or credentials in the URL cannot be carried over',
    });
    return;
  }
  const host = url.hostname.replace(/\.$/, '');
  const port = url.port === '' ? 80 : Number(url.port);
  const broken = enabled && isEmpty(externalName);
  if (broken) {
    m.unmappable(
      'lmstudio.enabled',
      `true without lmstudio.externalName: the chart renders a headless Service ${show(serviceName)} and an EndpointSlice with the address host.docker.internal, which the API server refuses (not an IPv4 address), so no revision with these values deploys. Way out: set lmstudio.externalName to LM Studio's DNS name, or lmstudio.enabled=false (${reuse('lmstudio.externalName')}), then migrate`,
    );
  }
  const viaChart = enabled && !broken && host === serviceName;
  if (viaChart) {
    m.set('lmstudio.serviceName', host, source);
    m.set('lmstudio.port', port, source);
    say('mapped', { to: 'spec.lmstudio.serviceName, spec.lmstudio.port' });
    m.map(
      'lmstudio.externalName',
      'lmstudio.externalName',
      String,
      `the chart's ExternalName Service ${host} is adopted`,
    );
    m.covered(
      'lmstudio.enabled',
      'true: the SummarizerService keeps the ExternalName Service while externalName is set',
    );
    m.covered(
      'lmstudio.service.name',
      `the Service the pods' URL names (${host}): spec.lmstudio.serviceName`,
    );
    m.covered(
      'lmstudio.service.port',
      asNumber(servicePort) === port
        ? `the port the pods call: spec.lmstudio.port`
        : `an ExternalName Service's ports change nothing (it is a DNS name only): the pods call port ${port}, spec.lmstudio.port`,
    );
    return;
  }
  if (isDns1035Label(host)) {
    m.set('lmstudio.serviceName', host, source);
    m.set('lmstudio.port', port, source);
    say('mapped', {
      to: 'spec.lmstudio.serviceName, spec.lmstudio.port',
      why: `the pods keep calling the Service ${host} of the namespace, which is not the release's`,
    });
  } else if (isDns1123Subdomain(host) && !/^[0-9.]+$/.test(host)) {
    // A host elsewhere: the SummarizerService reaches it through an ExternalName Service.
    m.set('lmstudio.externalName', host, source);
    m.set('lmstudio.port', port, source);
    say('mapped', {
      to: 'spec.lmstudio.externalName, spec.lmstudio.port',
      why: `the pods will call http://lmstudio:${port}/v1, an ExternalName Service lmstudio → ${host}`,
    });
  } else {
    say('unmappable', {
      why: 'an IP address: a SummarizerService reaches LM Studio by a Service name or a DNS name (ExternalName). Way out: give LM Studio a DNS name, or a Service of the namespace, and point the release at it first',
    });
  }
  if (!enabled) {
    m.notMapped('lmstudio.enabled', 'false: the chart created no Service for LM Studio');
  } else if (!broken) {
    m.notMapped(
      'lmstudio.enabled',
      `the chart's ExternalName Service ${show(serviceName)} → ${show(externalName)}, which the pods do not call (their URL names ${host}): it stays as it is, outside the SummarizerService`,
    );
  }
  for (const p of ['lmstudio.service.name', 'lmstudio.service.port', 'lmstudio.externalName']) {
    if (broken && p === 'lmstudio.externalName') {
      m.notMapped(p, 'empty (see lmstudio.enabled)');
    } else {
      m.notMapped(
        p,
        enabled
          ? `describes the chart's Service ${show(serviceName)}, not what the pods call`
          : 'no effect: lmstudio.enabled is false',
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// What the operator fixes for every pod: probes, volumes, identity, security context.

const describeProbe = (p: Values) => {
  const get = (k: string) => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
  const period = get('periodSeconds') ?? 10;
  const failures = get('failureThreshold') ?? 3;
  const delay = get('initialDelaySeconds');
  return `every ${period} s, timeout ${get('timeoutSeconds') ?? 1} s, ${failures} failures${delay ? `, from ${delay} s` : ''}`;
};
const OPERATOR_PROBES = {
  liveness: `a startup probe on /livez (${describeProbe(PROBES.startup)}: up to ${PROBES.startup.periodSeconds * PROBES.startup.failureThreshold} s to start), then a liveness probe on /livez (${describeProbe(PROBES.liveness)})`,
  readiness: `a readiness probe on /readyz (${describeProbe(PROBES.readiness)})`,
};

function mapProbes(m: Mapper): void {
  for (const [path, kind] of [
    ['livenessProbe', 'liveness'],
    ['readinessProbe', 'readiness'],
  ] as const) {
    const probe = m.get(path);
    const target = isMap(probe) && isMap(probe.httpGet) ? String(probe.httpGet.path) : undefined;
    const mine = PROBES[kind];
    let why = `replaced by the operator's own, on the service's endpoints: ${OPERATOR_PROBES[kind]}`;
    if (isMap(probe)) {
      const theirs = Number(probe.periodSeconds ?? 10) * Number(probe.failureThreshold ?? 3);
      const ours = mine.periodSeconds * mine.failureThreshold;
      why += `; the chart's: ${target ? `GET ${target} ` : ''}${describeProbe(probe)}. ${
        kind === 'liveness'
          ? `A hung pod is restarted after about ${ours} s instead of ${theirs} s`
          : `A pod that stops answering leaves the Service after about ${ours} s instead of ${theirs} s`
      }`;
      if (target === '/api/v1/summary/health') {
        why +=
          kind === 'liveness'
            ? '; /api/v1/summary/health also asks LM Studio, so an LM Studio outage restarted every pod — /livez never depends on LM Studio (docs/api.md, Probes; the operator reports the outage as BackendReachable=False)'
            : '; /api/v1/summary/health also asks LM Studio, so an LM Studio outage emptied the Service — /readyz does not depend on it (docs/api.md, Probes)';
      }
    } else {
      why += "; the chart's pods had none";
    }
    m.covered(path, why);
  }
}

function mapVolumes(m: Mapper): void {
  const volumes = m.get('volumes');
  const mounts = m.get('volumeMounts');
  if (isEmpty(volumes) && isEmpty(mounts)) {
    for (const path of ['volumes', 'volumeMounts']) {
      m.covered(path, `none: the SummarizerService's pods mount only an emptyDir on ${TMP_PATH}`);
    }
    return;
  }
  const volumeList = Array.isArray(volumes) ? volumes.filter(isMap) : [];
  const mountList = Array.isArray(mounts) ? mounts.filter(isMap) : [];
  const emptyDirs = new Set(volumeList.filter((v) => isMap(v.emptyDir)).map((v) => v.name));
  const tmpOnly =
    Array.isArray(volumes) &&
    Array.isArray(mounts) &&
    volumeList.length === volumes.length &&
    mountList.length === mounts.length &&
    mountList.every(
      (v) => String(v.mountPath).replace(/\/+$/, '') === TMP_PATH && emptyDirs.has(v.name),
    ) &&
    volumeList.every((v) => mountList.some((mt) => mt.name === v.name));
  if (tmpOnly) {
    for (const path of ['volumes', 'volumeMounts']) {
      m.covered(
        path,
        `an emptyDir on ${TMP_PATH}: the SummarizerService's pods have their own (at most ${TMP_SIZE_LIMIT}), and a read-only root filesystem elsewhere`,
      );
    }
    return;
  }
  const way = `a SummarizerService mounts no volume but its own emptyDir on ${TMP_PATH}: the pods would lose what these provide. Way out: the summarizer reads its settings from the environment (spec.env, valueFrom a Secret or ConfigMap key) and writes only ${TMP_PATH}; once the release no longer needs them (helm upgrade --reuse-values --set volumes=null --set volumeMounts=null), migrate — or run a SummarizerService beside the release`;
  m.unmappable('volumes', way);
  m.unmappable('volumeMounts', way);
}

function mapIdentity(m: Mapper, ctx: MappingContext, fullname: string): void {
  const create = m.get('serviceAccount.create') !== false;
  const name = m.get('serviceAccount.name');
  const account = create ? text(name) || fullname : text(name) || 'default';
  if (create && account === ctx.name) {
    m.covered(
      'serviceAccount.create',
      `the release's ServiceAccount ${ctx.name} is adopted: the SummarizerService's pods run as it`,
    );
    if (name !== undefined)
      m.covered(
        'serviceAccount.name',
        `${isEmpty(name) ? 'empty: the full name, ' : ''}${ctx.name}`,
      );
  } else {
    m.covered(
      'serviceAccount.create',
      `the release's pods run as ServiceAccount ${account}; the SummarizerService's will run as ${ctx.name}, created by the operator: the summarizer never calls the Kubernetes API, so it needs no rights any ServiceAccount has`,
    );
    m.covered(
      'serviceAccount.name',
      create
        ? `the release's ServiceAccount ${account} stays as it is`
        : `${account}, not created by the release`,
    );
  }
  const automount = m.get('serviceAccount.automount');
  if (automount !== undefined) {
    m.covered(
      'serviceAccount.automount',
      automount === false
        ? 'false: no token in the pods, as the SummarizerService mounts none'
        : 'the release mounts an API token into its pods; the SummarizerService mounts none (automountServiceAccountToken: false) — stricter, and the summarizer never calls the Kubernetes API',
    );
  }
  const annotations = m.get('serviceAccount.annotations');
  if (!isEmpty(annotations)) {
    m.unmappable(
      'serviceAccount.annotations',
      "the operator's ServiceAccount carries no annotations, so what they grant (e.g. a cloud identity) would be lost. Way out: the summarizer needs none — remove them (helm upgrade --reuse-values --set serviceAccount.annotations=null) once nothing relies on them, then migrate",
    );
  } else if (annotations !== undefined) {
    m.covered('serviceAccount.annotations', "none, as the operator's ServiceAccount");
  }
}

type SecurityRule = (
  value: unknown,
) => { covered: true; why: string } | { covered: false; why: string };
const ok = (why: string) => ({ covered: true as const, why });
const refuse = (why: string) => ({ covered: false as const, why });
const UID = POD_SECURITY_CONTEXT.runAsUser;

const seccomp: SecurityRule = (v) => {
  const type = isMap(v) ? v.type : undefined;
  if (type === 'RuntimeDefault') return ok('RuntimeDefault, as the operator sets');
  if (type === 'Unconfined') return ok('the operator sets RuntimeDefault: stricter');
  return refuse(
    `a ${String(type)} profile may forbid more than RuntimeDefault, which the operator sets, and a SummarizerService cannot carry it. Way out: if RuntimeDefault is acceptable, remove it from the release first`,
  );
};
const appArmor: SecurityRule = (v) => {
  const type = isMap(v) ? v.type : undefined;
  if (type === 'RuntimeDefault' || type === 'Unconfined')
    return ok(
      `the operator leaves the runtime's default profile: ${type === 'Unconfined' ? 'stricter' : 'the same'}`,
    );
  return refuse(
    "a Localhost profile may forbid more than the runtime's default, which the SummarizerService's pods get, and it cannot carry it. Way out: if the default is acceptable, remove it from the release first",
  );
};
const cannotCarry =
  (what: string): SecurityRule =>
  () =>
    refuse(
      `${what}: a SummarizerService cannot carry it. Way out: remove it from the release first (helm upgrade --reuse-values) if the pods do not need it`,
    );
const RUNS_AS = `the operator runs the image's non-root uid/gid ${UID} and enforces runAsNonRoot`;

/** PodSecurityContext fields: covered when the operator's is the same or stricter. */
const POD_SECURITY: Record<string, SecurityRule> = {
  runAsNonRoot: () => ok('the operator sets runAsNonRoot: true'),
  runAsUser: (v) =>
    ok(
      v === UID
        ? `uid ${UID}, as the operator's`
        : `${RUNS_AS}; the summarizer image is built for uid ${UID}`,
    ),
  runAsGroup: (v) => ok(v === UID ? `gid ${UID}, as the operator's` : RUNS_AS),
  fsGroup: (v) =>
    ok(
      `the operator sets fsGroup ${UID}: the group of the pod's volumes; the release's pods wrote to no volume of theirs (volumes above), so nothing depended on ${show(v)}`,
    ),
  fsGroupChangePolicy: () =>
    ok("applies to volumes only; the SummarizerService's pods have only their emptyDir"),
  supplementalGroups: () =>
    ok(
      "the SummarizerService's pods get no supplementary group: fewer rights, and the summarizer reads no file a group would grant",
    ),
  supplementalGroupsPolicy: () => ok("the SummarizerService's pods get no supplementary group"),
  seccompProfile: seccomp,
  appArmorProfile: appArmor,
  seLinuxOptions: cannotCarry('an SELinux label may confine more than the default'),
  seLinuxChangePolicy: () =>
    ok("applies to volumes only; the SummarizerService's pods have only their emptyDir"),
  sysctls: cannotCarry("sysctls change the pod's kernel settings"),
  windowsOptions: cannotCarry('Windows options: the summarizer image runs on Linux'),
};

/** SecurityContext (container) fields. */
const CONTAINER_SECURITY: Record<string, SecurityRule> = {
  runAsNonRoot: () => ok('the operator sets runAsNonRoot: true'),
  runAsUser: POD_SECURITY.runAsUser as SecurityRule,
  runAsGroup: POD_SECURITY.runAsGroup as SecurityRule,
  readOnlyRootFilesystem: (v) =>
    ok(
      v === true
        ? 'true, as the operator sets'
        : `the operator sets true: stricter; the summarizer writes nothing to disk but ${TMP_PATH}, an emptyDir`,
    ),
  allowPrivilegeEscalation: (v) =>
    ok(v === false ? 'false, as the operator sets' : 'the operator sets false: stricter'),
  privileged: (v) =>
    ok(
      v === true
        ? 'the operator runs unprivileged: stricter; the summarizer needs no privilege'
        : 'unprivileged, as the operator runs',
    ),
  capabilities: (v) => {
    const add = isMap(v) && Array.isArray(v.add) ? v.add : [];
    return ok(
      `the operator drops ALL capabilities and adds none${add.length > 0 ? `: stricter than adding ${add.join(', ')}; the summarizer listens on ${CONTAINER_PORT} and needs none` : ''}`,
    );
  },
  procMount: (v) =>
    ok(
      v === 'Default' || v === undefined
        ? "Default, as the operator's"
        : 'the operator uses the Default proc mount: stricter',
    ),
  seccompProfile: seccomp,
  appArmorProfile: appArmor,
  seLinuxOptions: POD_SECURITY.seLinuxOptions as SecurityRule,
  windowsOptions: POD_SECURITY.windowsOptions as SecurityRule,
};

function mapSecurity(m: Mapper): void {
  for (const [path, rules, operator] of [
    ['podSecurityContext', POD_SECURITY, POD_SECURITY_CONTEXT],
    ['securityContext', CONTAINER_SECURITY, CONTAINER_SECURITY_CONTEXT],
  ] as const) {
    const value = m.get(path);
    const mine = `the operator's: ${json(operator)}`;
    if (isEmpty(value)) {
      m.covered(path, `none: the operator's hardened context applies (${mine})`);
      continue;
    }
    if (!isMap(value)) {
      m.unmappable(path, `must be a map: ${mine}`);
      continue;
    }
    for (const [key, field] of Object.entries(value)) {
      const rule = rules[key];
      const at = `${path}.${key}`;
      if (field === null || field === undefined) {
        m.covered(at, `unset: ${mine}`);
      } else if (!rule) {
        m.unmappable(
          at,
          `a field migrate does not know how to compare with ${mine}. Way out: remove it from the release first if the pods do not need it`,
        );
      } else {
        const verdict = rule(field);
        if (verdict.covered) m.covered(at, verdict.why);
        else m.unmappable(at, verdict.why);
      }
    }
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
  const fullname = chartFullname(ctx.release, values);
  if (m.get('autoscaling.enabled') !== true) m.map('replicaCount', 'replicas', asNumber);
  mapImage(m, ctx);
  mapNames(m, ctx);
  mapResources(m);
  mapAutoscaling(m);
  mapService(m);
  mapIngress(m);
  const env = mapEnv(m, fullname);
  mapLmStudio(m, env);
  mapConfig(m, fullname, env);
  mapPods(m);
  mapProbes(m);
  mapVolumes(m);
  mapIdentity(m, ctx, fullname);
  mapSecurity(m);
  for (const path of leafPaths(values)) {
    if (!m.isConsumed(path)) {
      m.record('not-mapped', path, m.get(path), {
        why: unknownValueWhy(path, values),
      });
    }
  }
  if (env.apiKey !== undefined) {
    m.set(
      'lmstudio.apiKeySecretRef',
      { name: apiKeySecretName(ctx.name), key: API_KEY_SECRET_KEY },
      `env[${ENV.lmstudioApiKey}]`,
    );
  }
  return {
    spec: m.spec,
    findings: m.findings,
    sources: m.sources,
    ...(env.apiKey !== undefined ? { apiKey: env.apiKey } : {}),
  };
}
