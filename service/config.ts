/**
 * Reads the service's configuration from the environment
 * (docs/api.md#configuration). Pure: it takes an env object and returns a typed
 * config or throws a ConfigError that names every bad variable; main.ts turns that
 * into CRITICAL lines and exit 1.
 */
import { z } from 'zod';
import {
  ENV,
  ENV_DEFAULTS,
  LANGUAGES,
  type Language,
  LIMITS,
  SERVICE_ENV,
  SERVICE_ENV_DEFAULTS,
  SERVICE_LIMITS,
  SUMMARY_TYPES,
  type SummaryType,
} from '../contract/env.js';

export interface LmStudioConfig {
  /** OpenAI-compatible base URL including its `/v1` prefix. */
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  breakerFailures: number;
  breakerResetMs: number;
  healthCacheMs: number;
  /** Per-attempt timeout while LM Studio still has to load the model (JIT loading). */
  loadTimeoutMs: number;
  /** LMSTUDIO_CONTEXT_LENGTH: the model's context in tokens, overriding LM Studio's answer. */
  contextLength: number | undefined;
}

/** Admission in front of LM Studio (docs/api.md#limits). */
export interface AdmissionConfig {
  /** LM Studio calls in flight at most. */
  concurrency: number;
  /** Requests waiting for a slot at most; one more is refused with 429. */
  maxQueued: number;
  /** Longest wait for a slot before 429. */
  queueTimeoutMs: number;
}

/** The HTTP server's connection limits (docs/api.md#limits). */
export interface HttpConfig {
  /** Time to send the headers, from the request's first byte (or the connection's start). */
  headersTimeoutMs: number;
  /** Time to send the whole request; the answer's time is not counted. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  /** 0: no limit. */
  maxRequestsPerSocket: number;
}

export interface SummaryDefaults {
  model: string;
  maxTokens: number;
  temperature: number;
  summaryType: SummaryType;
  language: Language;
}

export interface ServiceConfig {
  port: number;
  host: string;
  debug: boolean;
  lmstudio: LmStudioConfig;
  defaults: SummaryDefaults;
  admission: AdmissionConfig;
  http: HttpConfig;
  chunkChars: number;
  mapConcurrency: number;
  shutdownTimeoutMs: number;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${p.variable}: ${p.message}`).join('; '));
    this.name = 'ConfigError';
  }
}

/** Variables whose values must never be echoed into a log line. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set([ENV.lmstudioApiKey]);

interface Bounds {
  min: number;
  max: number;
}

// Kubernetes renders an env entry with an empty value as "", so "" means "unset".
const unsetIfBlank = (value: unknown): unknown =>
  typeof value === 'string' ? (value.trim() === '' ? undefined : value.trim()) : value;

function boundedInteger(bounds: Bounds) {
  return z
    .string()
    .regex(/^[+-]?\d+$/, `must be an integer between ${bounds.min} and ${bounds.max}`)
    .transform(Number)
    .pipe(
      z
        .int()
        .min(bounds.min, `must be at least ${bounds.min}`)
        .max(bounds.max, `must be at most ${bounds.max}`),
    );
}

function integer(fallback: number, bounds: Bounds) {
  return z.preprocess(unsetIfBlank, boundedInteger(bounds).default(fallback));
}

function optionalInteger(bounds: Bounds) {
  return z.preprocess(unsetIfBlank, boundedInteger(bounds).optional());
}

function decimal(fallback: number, bounds: Bounds) {
  return z.preprocess(
    unsetIfBlank,
    z
      .string()
      .regex(/^[+-]?(\d+\.?\d*|\.\d+)$/, `must be a number between ${bounds.min} and ${bounds.max}`)
      .transform(Number)
      .pipe(
        z
          .number()
          .min(bounds.min, `must be at least ${bounds.min}`)
          .max(bounds.max, `must be at most ${bounds.max}`),
      )
      .default(fallback),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z.preprocess(
    unsetIfBlank,
    z.enum(values, { error: `must be one of ${values.join(', ')}` }).default(fallback),
  );
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function flag(fallback: boolean) {
  return z.preprocess(
    unsetIfBlank,
    z
      .string()
      .transform((value, ctx) => {
        const word = value.toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
        ctx.addIssue({ code: 'custom', message: 'must be true or false (or 1/0, yes/no, on/off)' });
        return z.NEVER;
      })
      .default(fallback),
  );
}

const httpUrl = z.preprocess(
  unsetIfBlank,
  z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default(ENV_DEFAULTS.lmstudioBaseUrl),
);

const text = (fallback: string) => z.preprocess(unsetIfBlank, z.string().default(fallback));
const optionalText = z.preprocess(unsetIfBlank, z.string().optional());

/** One schema per variable, keyed by the variable's name, so every issue names it. */
const envSchema = z.object({
  [ENV.port]: integer(ENV_DEFAULTS.port, { min: 0, max: 65_535 }),
  [ENV.lmstudioBaseUrl]: httpUrl,
  [ENV.lmstudioApiKey]: optionalText,
  [ENV.lmstudioTimeout]: decimal(
    ENV_DEFAULTS.lmstudioTimeoutSeconds,
    LIMITS.lmstudioTimeoutSeconds,
  ),
  [ENV.lmstudioMaxRetries]: integer(ENV_DEFAULTS.lmstudioMaxRetries, LIMITS.lmstudioMaxRetries),
  [ENV.defaultModelName]: text(ENV_DEFAULTS.defaultModelName),
  [ENV.defaultMaxTokens]: integer(ENV_DEFAULTS.defaultMaxTokens, LIMITS.maxTokens),
  [ENV.defaultTemperature]: decimal(ENV_DEFAULTS.defaultTemperature, LIMITS.temperature),
  [ENV.defaultSummaryType]: oneOf(SUMMARY_TYPES, ENV_DEFAULTS.defaultSummaryType),
  [ENV.defaultLanguage]: oneOf(LANGUAGES, ENV_DEFAULTS.defaultLanguage),
  [ENV.debug]: flag(ENV_DEFAULTS.debug),
  [ENV.lmstudioMaxConcurrency]: integer(
    ENV_DEFAULTS.lmstudioMaxConcurrency,
    LIMITS.lmstudioMaxConcurrency,
  ),
  [ENV.maxQueuedRequests]: integer(ENV_DEFAULTS.maxQueuedRequests, LIMITS.maxQueuedRequests),
  [ENV.queueTimeout]: decimal(ENV_DEFAULTS.queueTimeoutSeconds, LIMITS.queueTimeoutSeconds),
  [ENV.lmstudioContextLength]: optionalInteger(LIMITS.lmstudioContextLength),
  [ENV.httpHeadersTimeout]: decimal(
    ENV_DEFAULTS.httpHeadersTimeoutSeconds,
    LIMITS.httpHeadersTimeoutSeconds,
  ),
  [ENV.httpRequestTimeout]: decimal(
    ENV_DEFAULTS.httpRequestTimeoutSeconds,
    LIMITS.httpRequestTimeoutSeconds,
  ),
  [ENV.httpKeepAliveTimeout]: decimal(
    ENV_DEFAULTS.httpKeepAliveTimeoutSeconds,
    LIMITS.httpKeepAliveTimeoutSeconds,
  ),
  [ENV.httpMaxConnections]: integer(ENV_DEFAULTS.httpMaxConnections, LIMITS.httpMaxConnections),
  [ENV.httpMaxRequestsPerSocket]: integer(
    ENV_DEFAULTS.httpMaxRequestsPerSocket,
    LIMITS.httpMaxRequestsPerSocket,
  ),
  [SERVICE_ENV.host]: text(SERVICE_ENV_DEFAULTS.host),
  [SERVICE_ENV.chunkChars]: integer(SERVICE_ENV_DEFAULTS.chunkChars, SERVICE_LIMITS.chunkChars),
  [SERVICE_ENV.mapConcurrency]: integer(
    SERVICE_ENV_DEFAULTS.mapConcurrency,
    SERVICE_LIMITS.mapConcurrency,
  ),
  [SERVICE_ENV.retryBaseMs]: integer(SERVICE_ENV_DEFAULTS.retryBaseMs, SERVICE_LIMITS.retryBaseMs),
  [SERVICE_ENV.breakerFailures]: integer(
    SERVICE_ENV_DEFAULTS.breakerFailures,
    SERVICE_LIMITS.breakerFailures,
  ),
  [SERVICE_ENV.breakerResetSeconds]: decimal(
    SERVICE_ENV_DEFAULTS.breakerResetSeconds,
    SERVICE_LIMITS.breakerResetSeconds,
  ),
  [SERVICE_ENV.healthCacheSeconds]: decimal(
    SERVICE_ENV_DEFAULTS.healthCacheSeconds,
    SERVICE_LIMITS.healthCacheSeconds,
  ),
  [SERVICE_ENV.loadTimeoutSeconds]: decimal(
    SERVICE_ENV_DEFAULTS.loadTimeoutSeconds,
    SERVICE_LIMITS.loadTimeoutSeconds,
  ),
  [SERVICE_ENV.shutdownTimeoutSeconds]: decimal(
    SERVICE_ENV_DEFAULTS.shutdownTimeoutSeconds,
    SERVICE_LIMITS.shutdownTimeoutSeconds,
  ),
});

function describeValue(variable: string, raw: string | undefined): string {
  if (raw === undefined) return '';
  return SECRET_VARIABLES.has(variable) ? ' (value hidden)' : ` (got ${JSON.stringify(raw)})`;
}

/** Parses the environment; throws ConfigError listing every invalid variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): ServiceConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      return { variable, message: `${issue.message}${describeValue(variable, env[variable])}` };
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const seconds = (value: number) => Math.round(value * 1000);
  // Node refuses a headers timeout longer than the request's (the request includes its headers).
  if (e[ENV.httpHeadersTimeout] > e[ENV.httpRequestTimeout]) {
    throw new ConfigError([
      {
        variable: ENV.httpHeadersTimeout,
        message: `must not exceed ${ENV.httpRequestTimeout} (${e[ENV.httpRequestTimeout]})${describeValue(ENV.httpHeadersTimeout, env[ENV.httpHeadersTimeout])}`,
      },
    ]);
  }
  return {
    port: e[ENV.port],
    host: e[SERVICE_ENV.host],
    debug: e[ENV.debug],
    lmstudio: {
      baseUrl: e[ENV.lmstudioBaseUrl],
      apiKey: e[ENV.lmstudioApiKey],
      timeoutMs: seconds(e[ENV.lmstudioTimeout]),
      maxRetries: e[ENV.lmstudioMaxRetries],
      retryBaseMs: e[SERVICE_ENV.retryBaseMs],
      breakerFailures: e[SERVICE_ENV.breakerFailures],
      breakerResetMs: seconds(e[SERVICE_ENV.breakerResetSeconds]),
      healthCacheMs: seconds(e[SERVICE_ENV.healthCacheSeconds]),
      loadTimeoutMs: seconds(e[SERVICE_ENV.loadTimeoutSeconds]),
      contextLength: e[ENV.lmstudioContextLength],
    },
    defaults: {
      model: e[ENV.defaultModelName],
      maxTokens: e[ENV.defaultMaxTokens],
      temperature: e[ENV.defaultTemperature],
      summaryType: e[ENV.defaultSummaryType],
      language: e[ENV.defaultLanguage],
    },
    admission: {
      concurrency: e[ENV.lmstudioMaxConcurrency],
      maxQueued: e[ENV.maxQueuedRequests],
      queueTimeoutMs: seconds(e[ENV.queueTimeout]),
    },
    http: {
      headersTimeoutMs: seconds(e[ENV.httpHeadersTimeout]),
      requestTimeoutMs: seconds(e[ENV.httpRequestTimeout]),
      keepAliveTimeoutMs: seconds(e[ENV.httpKeepAliveTimeout]),
      maxConnections: e[ENV.httpMaxConnections],
      maxRequestsPerSocket: e[ENV.httpMaxRequestsPerSocket],
    },
    chunkChars: e[SERVICE_ENV.chunkChars],
    mapConcurrency: e[SERVICE_ENV.mapConcurrency],
    shutdownTimeoutMs: seconds(e[SERVICE_ENV.shutdownTimeoutSeconds]),
  };
}
