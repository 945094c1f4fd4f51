/**
 * The environment contract between the operator (which writes these variables into
 * the pod template) and the summarizer service (which reads them at start).
 * docs/api.md#configuration. This module is the only place the names and defaults
 * are spelled.
 */
export const ENV = {
  port: 'PORT',
  lmstudioBaseUrl: 'LMSTUDIO_BASE_URL',
  lmstudioApiKey: 'LMSTUDIO_API_KEY',
  lmstudioTimeout: 'LMSTUDIO_TIMEOUT',
  lmstudioMaxRetries: 'LMSTUDIO_MAX_RETRIES',
  defaultModelName: 'DEFAULT_MODEL_NAME',
  defaultMaxTokens: 'DEFAULT_MAX_TOKENS',
  defaultTemperature: 'DEFAULT_TEMPERATURE',
  defaultSummaryType: 'DEFAULT_SUMMARY_TYPE',
  defaultLanguage: 'DEFAULT_LANGUAGE',
  debug: 'DEBUG',
  /** LM Studio calls in flight per pod (LM Studio runs about 4 predictions at once). */
  lmstudioMaxConcurrency: 'LMSTUDIO_MAX_CONCURRENCY',
  /** Summary requests that may wait for an LM Studio slot before 429. */
  maxQueuedRequests: 'MAX_QUEUED_REQUESTS',
  /** Seconds a summary request may wait for an LM Studio slot before 429. */
  queueTimeout: 'QUEUE_TIMEOUT',
  /** The model's context in tokens; overrides what LM Studio reports. */
  lmstudioContextLength: 'LMSTUDIO_CONTEXT_LENGTH',
  /** Seconds a client has to send a request's headers, from its first byte (or the connection). */
  httpHeadersTimeout: 'HTTP_HEADERS_TIMEOUT',
  /** Seconds a client has to send a whole request, headers and body; not the time to answer it. */
  httpRequestTimeout: 'HTTP_REQUEST_TIMEOUT',
  /** Seconds an idle keep-alive connection is kept open. */
  httpKeepAliveTimeout: 'HTTP_KEEP_ALIVE_TIMEOUT',
  /** Connections open at once; more are closed as they arrive. */
  httpMaxConnections: 'HTTP_MAX_CONNECTIONS',
  /** Requests served on one connection before the service closes it (0: no limit). */
  httpMaxRequestsPerSocket: 'HTTP_MAX_REQUESTS_PER_SOCKET',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export const SUMMARY_TYPES = ['concise', 'detailed', 'bullet_points'] as const;
export type SummaryType = (typeof SUMMARY_TYPES)[number];

export const LANGUAGES = ['korean', 'english', 'japanese'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Defaults of docs/api.md#configuration; the CRD's defaults are the same values. */
export const ENV_DEFAULTS = {
  port: 8000,
  lmstudioBaseUrl: 'http://lmstudio:1234/v1',
  lmstudioTimeoutSeconds: 30,
  lmstudioMaxRetries: 3,
  defaultModelName: 'qwen/qwen3-4b',
  defaultMaxTokens: 1000,
  defaultTemperature: 0.3,
  defaultSummaryType: 'concise' satisfies SummaryType,
  defaultLanguage: 'korean' satisfies Language,
  debug: false,
  lmstudioMaxConcurrency: 4,
  maxQueuedRequests: 64,
  queueTimeoutSeconds: 30,
  /**
   * The context assumed when neither LMSTUDIO_CONTEXT_LENGTH nor LM Studio says:
   * LM Studio often loads models with 4,096 tokens, whatever the model supports.
   */
  fallbackContextLength: 4096,
  /** Headers are a few hundred bytes: a client that needs longer is broken or hostile. */
  httpHeadersTimeoutSeconds: 10,
  /**
   * The largest body (640 KiB) at 350 kbit/s. Only receiving the request counts: a summary
   * that takes minutes to write is not cut off.
   */
  httpRequestTimeoutSeconds: 15,
  /** Longer than the idle timeouts of the proxies in front (nginx: 60 s), so they close first. */
  httpKeepAliveTimeoutSeconds: 65,
  /**
   * Well above what the admission can hold (4 slots + 64 queued) plus probes and scrapes,
   * so a burst meets a 429 rather than a refused connection; 256 bodies of 640 KiB being
   * read at once are 160 MiB.
   */
  httpMaxConnections: 256,
  /** nginx's own `keepalive_requests` default: a proxy's connection moves to another pod now and then. */
  httpMaxRequestsPerSocket: 1000,
} as const;

/** Bounds shared by the request schema, the env parser and the CRD. */
export const LIMITS = {
  maxTokens: { min: 50, max: 4000 },
  temperature: { min: 0, max: 2 },
  textLength: { min: 10, max: 50_000 },
  lmstudioTimeoutSeconds: { min: 1, max: 600 },
  lmstudioMaxRetries: { min: 0, max: 10 },
  lmstudioMaxConcurrency: { min: 1, max: 1024 },
  maxQueuedRequests: { min: 0, max: 100_000 },
  queueTimeoutSeconds: { min: 0.1, max: 3600 },
  lmstudioContextLength: { min: 512, max: 10_000_000 },
  httpHeadersTimeoutSeconds: { min: 0.1, max: 600 },
  httpRequestTimeoutSeconds: { min: 0.1, max: 3600 },
  httpKeepAliveTimeoutSeconds: { min: 0.1, max: 3600 },
  httpMaxConnections: { min: 1, max: 1_000_000 },
  httpMaxRequestsPerSocket: { min: 0, max: 1_000_000 },
} as const;

/** Paths the pod template's probes use; served by service/app.ts. */
export const PROBE_PATHS = {
  liveness: '/livez',
  readiness: '/readyz',
  metrics: '/metrics',
} as const;

/**
 * Tuning knobs read only by the service. The operator does not need to set them
 * (their defaults suit one pod in front of one LM Studio); users can still pass
 * them through `spec.env`. Kept apart from ENV so the operator's contract stays small.
 */
export const SERVICE_ENV = {
  host: 'HOST',
  chunkChars: 'SUMMARY_CHUNK_CHARS',
  mapConcurrency: 'SUMMARY_MAP_CONCURRENCY',
  retryBaseMs: 'LMSTUDIO_RETRY_BASE_MS',
  breakerFailures: 'LMSTUDIO_BREAKER_FAILURES',
  breakerResetSeconds: 'LMSTUDIO_BREAKER_RESET_SECONDS',
  healthCacheSeconds: 'LMSTUDIO_HEALTH_CACHE_SECONDS',
  loadTimeoutSeconds: 'LMSTUDIO_LOAD_TIMEOUT',
  shutdownTimeoutSeconds: 'SHUTDOWN_TIMEOUT_SECONDS',
} as const;

export const SERVICE_ENV_DEFAULTS = {
  /** Empty: every interface (IPv4 and IPv6), as a pod needs. */
  host: '',
  chunkChars: 8000,
  mapConcurrency: 8,
  retryBaseMs: 250,
  breakerFailures: 5,
  breakerResetSeconds: 10,
  healthCacheSeconds: 5,
  /** Per-attempt timeout of a call that makes LM Studio load the model first (JIT loading). */
  loadTimeoutSeconds: 300,
  shutdownTimeoutSeconds: 25,
} as const;

export const SERVICE_LIMITS = {
  chunkChars: { min: 500, max: 50_000 },
  mapConcurrency: { min: 1, max: 64 },
  retryBaseMs: { min: 1, max: 60_000 },
  breakerFailures: { min: 1, max: 1000 },
  breakerResetSeconds: { min: 0.1, max: 3600 },
  healthCacheSeconds: { min: 0, max: 300 },
  loadTimeoutSeconds: { min: 1, max: 3600 },
  shutdownTimeoutSeconds: { min: 1, max: 3600 },
} as const;
