/**
 * Routes and error mapping (SPEC §1.1), admission control (429 instead of a
 * queue), the per-request log line and metrics, and the service's lifecycle
 * (start on a port, drain on shutdown). Tests start it on 127.0.0.1:0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { z } from 'zod';
import {
  type ErrorCode,
  type ErrorResponse,
  type FieldIssue,
  HEALTH_PATH,
  type HealthResponse,
  openApiDocument,
  SERVICE_NAME,
  SUMMARY_PATH,
  SUMMARY_PATH_NO_SLASH,
  type SummaryResponse,
  summaryRequestSchema,
} from './api.js';
import type { ServiceConfig } from './config.js';
import { PROBE_PATHS } from './env.js';
import {
  answerMalformedRequestsWithJson,
  BodyError,
  closeGracefully,
  listen,
  mediaType,
  readJsonBody,
  requestPath,
} from './http.js';
import {
  type BackendHealth,
  Cancellation,
  type ChatFn,
  LlmError,
  LmStudioClient,
} from './lmstudio.js';
import { type Logger, logSummaryRequest } from './logging.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { characterCount, compressionRatio, EmptySummaryError, summarize } from './summarize.js';

/** Version of the HTTP API document served at /openapi.json. */
export const API_VERSION = '1.0.0';
export const BODY_LIMIT_BYTES = 1024 * 1024;
export const OPENAPI_PATH = '/openapi.json';
/** Seconds a shed client is told to wait; summaries take seconds, so one is a fair first retry. */
const SHED_RETRY_AFTER_SECONDS = 1;
const JSON_TYPE = 'application/json; charset=utf-8';
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What the app needs from LM Studio; LmStudioClient in production, anything in tests. */
export interface LlmBackend {
  chat: ChatFn;
  health(): Promise<BackendHealth>;
  close?(): Promise<void>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorResponse['details'] = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Maps anything thrown while serving a request to the error the client gets. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof BodyError) {
    switch (error.problem) {
      case 'too_large':
        return new ApiError(413, 'PAYLOAD_TOO_LARGE', error.message, null, { Connection: 'close' });
      case 'invalid_json':
        return new ApiError(
          400,
          'INVALID_JSON',
          'The request body is not valid JSON',
          error.message,
        );
      case 'unsupported_encoding':
      case 'unsupported_charset':
        return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', error.message);
    }
  }
  if (error instanceof LlmError) {
    switch (error.kind) {
      case 'timeout':
        return new ApiError(504, 'LLM_TIMEOUT', 'LM Studio did not answer in time', error.message);
      case 'unreachable':
        return new ApiError(503, 'LLM_UNAVAILABLE', 'LM Studio is unreachable', error.message);
      case 'circuit_open':
        return new ApiError(
          503,
          'LLM_UNAVAILABLE',
          'LM Studio is failing; requests fail fast until it recovers',
          error.message,
          { 'Retry-After': String(error.info.retryAfterSeconds ?? 1) },
        );
      case 'aborted':
        return new ApiError(499, 'BAD_REQUEST', 'The client closed the request');
      case 'rejected':
      case 'server_error':
      case 'bad_response':
        return new ApiError(502, 'SUMMARIZATION_ERROR', 'Summarization failed', error.message);
    }
  }
  if (error instanceof EmptySummaryError) {
    return new ApiError(502, 'SUMMARIZATION_ERROR', 'Summarization failed', error.message);
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'An unexpected error occurred');
}

function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join('.'),
    message:
      issue.path.length === 0 && issue.code === 'invalid_type'
        ? 'The body must be a JSON object'
        : issue.message,
    code: issue.code,
  }));
}

/** An absent Content-Type is read as JSON (as the service this replaces did); any other type is refused. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === undefined || type === '' || type === 'application/json' || type.endsWith('+json');
}

export interface AppState {
  draining: boolean;
  inFlight: number;
}

export interface AppDeps {
  config: ServiceConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  llm: LlmBackend;
}

/** Per-request bookkeeping. */
interface RequestContext {
  requestId: string;
  path: string;
  /** Metrics label: the route's path, or "unmatched" (keeps label cardinality bounded). */
  route: string;
  /** Set for POST summary requests: they get the runbook's log line. */
  summary: boolean;
  /** Counted against the concurrency limit. */
  admitted: boolean;
  /** Extra fields for the log line; never the user's text. */
  logFields: Record<string, unknown>;
  cancellation?: Cancellation;
}

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
) => Promise<void> | void;

interface Route {
  methods: Readonly<Record<string, Handler>>;
  allow: string;
}

export function createApp(deps: AppDeps): {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  state: AppState;
} {
  const { config, logger, metrics, llm } = deps;
  const state: AppState = { draining: false, inFlight: 0 };
  const requestSchema = summaryRequestSchema(config.defaults);
  const openApiJson = JSON.stringify(openApiDocument(requestSchema, API_VERSION));

  /** Every response goes out through here: one writeHead with a flat header list (Node's fast path). */
  const send = (
    res: ServerResponse,
    ctx: RequestContext,
    status: number,
    body: string,
    contentType = JSON_TYPE,
    extraHeaders: Readonly<Record<string, string>> = NO_HEADERS,
  ) => {
    const headers = [
      'Content-Type',
      contentType,
      'Content-Length',
      String(Buffer.byteLength(body)),
      'X-Request-Id',
      ctx.requestId,
    ];
    for (const name in extraHeaders) headers.push(name, extraHeaders[name] as string);
    if (state.draining) headers.push('Connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  };

  const sendError = (res: ServerResponse, ctx: RequestContext, error: ApiError) => {
    const body: ErrorResponse = {
      error: error.message,
      error_code: error.code,
      timestamp: new Date().toISOString(),
      details: error.details,
    };
    send(res, ctx, error.status, JSON.stringify(body), JSON_TYPE, error.headers);
  };

  // --- the summary API ---------------------------------------------------------
  const createSummary: Handler = async (req, res, ctx) => {
    ctx.summary = true;
    if (state.inFlight >= config.maxConcurrentRequests) {
      metrics.shed.inc();
      ctx.logFields.shed = true;
      throw new ApiError(
        429,
        'OVERLOADED',
        `The service is serving its limit of ${config.maxConcurrentRequests} summaries; retry later`,
        null,
        { 'Retry-After': String(SHED_RETRY_AFTER_SECONDS) },
      );
    }
    ctx.admitted = true;
    state.inFlight += 1;
    metrics.inFlight.inc();

    if (!isJsonMediaType(req.headers['content-type'])) {
      throw new ApiError(422, 'VALIDATION_ERROR', 'Request validation failed', [
        {
          field: '',
          message: 'The body must be JSON (Content-Type: application/json)',
          code: 'invalid_type',
        },
      ]);
    }
    const parsed = requestSchema.safeParse(await readJsonBody(req, BODY_LIMIT_BYTES));
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error);
      ctx.logFields.invalid_fields = [...new Set(issues.map((issue) => issue.field || 'body'))];
      throw new ApiError(422, 'VALIDATION_ERROR', 'Request validation failed', issues);
    }
    const input = parsed.data;
    ctx.logFields.summary_type = input.summary_type;
    ctx.logFields.language = input.language;
    ctx.logFields.max_tokens = input.max_tokens;

    // Stop calling LM Studio for a client that has gone away (see finish()).
    ctx.cancellation = new Cancellation();
    const result = await summarize(input, {
      chat: llm.chat,
      model: config.defaults.model,
      chunkChars: config.chunkChars,
      mapConcurrency: config.mapConcurrency,
      cancellation: ctx.cancellation,
    });
    const originalLength = characterCount(input.text);
    const summaryLength = characterCount(result.summary);
    ctx.logFields.model = result.model;
    ctx.logFields.chunks = result.chunks;
    ctx.logFields.llm_calls = result.llmCalls;
    ctx.logFields.original_length = originalLength;
    ctx.logFields.summary_length = summaryLength;
    const body: SummaryResponse = {
      id: randomUUID(),
      original_text: input.text,
      summary_text: result.summary,
      created_at: new Date().toISOString(),
      model_name: result.model,
      summary_length: summaryLength,
      original_length: originalLength,
      compression_ratio: compressionRatio(summaryLength, originalLength),
    };
    send(res, ctx, 200, JSON.stringify(body));
  };

  const health: Handler = async (_req, res, ctx) => {
    const backend = await llm.health();
    const body: HealthResponse = {
      status: backend.healthy ? 'healthy' : 'unhealthy',
      service_name: SERVICE_NAME,
      timestamp: new Date().toISOString(),
      details: backend.healthy ? 'All systems operational' : backend.reason,
    };
    send(res, ctx, backend.healthy ? 200 : 503, JSON.stringify(body));
  };

  // --- operations ----------------------------------------------------------------
  const livez: Handler = (_req, res, ctx) => send(res, ctx, 200, '{"status":"alive"}');

  // Ready means "started and not shutting down". It deliberately ignores LM
  // Studio: an LM Studio outage must not empty the Service's endpoints (clients
  // would get connection errors instead of a 503 that says why), nor make a new
  // rollout look broken to the operator, which would roll it back for nothing.
  const readyz: Handler = (_req, res, ctx) => {
    if (state.draining)
      sendError(res, ctx, new ApiError(503, 'NOT_READY', 'The service is shutting down'));
    else send(res, ctx, 200, '{"status":"ready"}');
  };

  const metricsText: Handler = async (_req, res, ctx) =>
    send(res, ctx, 200, await metrics.registry.metrics(), metrics.registry.contentType);

  const openApi: Handler = (_req, res, ctx) => send(res, ctx, 200, openApiJson);

  const routes = new Map<string, Route>();
  const route = (paths: string[], methods: Record<string, Handler>) => {
    const entry = { methods, allow: Object.keys(methods).join(', ') };
    for (const path of paths) routes.set(path, entry);
  };
  route([SUMMARY_PATH, SUMMARY_PATH_NO_SLASH], { POST: createSummary });
  route([HEALTH_PATH], { GET: health });
  route([PROBE_PATHS.liveness], { GET: livez });
  route([PROBE_PATHS.readiness], { GET: readyz });
  route([PROBE_PATHS.metrics], { GET: metricsText });
  route([OPENAPI_PATH], { GET: openApi });

  // --- the request lifecycle -------------------------------------------------------
  const finish = (
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    started: number,
  ) => {
    if (ctx.admitted) {
      state.inFlight -= 1;
      metrics.inFlight.dec();
    }
    const durationMs = performance.now() - started;
    // Closed before the response was written: the client went away (nginx's 499).
    const status = res.writableFinished ? res.statusCode : 499;
    if (status === 499) ctx.cancellation?.abort();
    metrics.httpDuration.observe(
      { method: req.method ?? 'GET', route: ctx.route, status_code: status },
      durationMs / 1000,
    );
    if (ctx.summary) {
      logSummaryRequest(logger, {
        method: req.method ?? 'POST',
        path: ctx.path,
        status,
        durationMs,
        requestId: ctx.requestId,
        fields: ctx.logFields,
      });
    } else if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          request_id: ctx.requestId,
          method: req.method,
          path: ctx.path,
          status,
          duration_ms: Math.round(durationMs),
        },
        'request served',
      );
    }
  };

  const fail = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext, error: unknown) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) {
      ctx.logFields.error_code = apiError.code;
      ctx.logFields.reason =
        typeof apiError.details === 'string' ? apiError.details : apiError.message;
    }
    if (apiError.code === 'INTERNAL_ERROR') {
      logger.error(
        { err: error, request_id: ctx.requestId, method: req.method, path: ctx.path },
        'unexpected error',
      );
    }
    // Nobody is listening (499), or the answer was already on its way: just close.
    if (apiError.status === 499 || res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, ctx, apiError);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const incomingId = req.headers['x-request-id'];
    const path = requestPath(req.url);
    const entry = routes.get(path);
    const ctx: RequestContext = {
      requestId:
        typeof incomingId === 'string' && /^[\w.:-]{1,128}$/.test(incomingId)
          ? incomingId
          : randomUUID(),
      path,
      route:
        entry === undefined ? 'unmatched' : path === SUMMARY_PATH_NO_SLASH ? SUMMARY_PATH : path,
      summary: false,
      admitted: false,
      logFields: {},
    };
    ctx.logFields.request_id = ctx.requestId;
    // 'close' follows 'finish', and also fires alone when the client goes away.
    res.once('close', () => finish(req, res, ctx, started));

    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const handler = entry?.methods[method];
    if (handler === undefined) {
      const error =
        entry === undefined
          ? new ApiError(404, 'NOT_FOUND', `No route for ${req.method} ${path}`)
          : new ApiError(
              405,
              'METHOD_NOT_ALLOWED',
              `${req.method} is not allowed here; use ${entry.allow}`,
              null,
              {
                Allow: entry.allow,
              },
            );
      fail(req, res, ctx, error);
      return;
    }
    try {
      const pending = handler(req, res, ctx);
      if (pending !== undefined) pending.catch((error: unknown) => fail(req, res, ctx, error));
    } catch (error) {
      fail(req, res, ctx, error);
    }
  };

  return { handle, state };
}

// ---------------------------------------------------------------------------
// The service: metrics, LM Studio client, server, shutdown.

export interface ServiceHandle {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  server: Server;
  state: AppState;
  metrics: ServiceMetrics;
  llm: LlmBackend;
  /** Stops accepting, lets in-flight requests finish (up to shutdownTimeoutMs), closes LM Studio's pool. */
  shutdown(): Promise<'drained' | 'forced'>;
}

export interface StartOptions {
  logger: Logger;
  /** Replaces the LM Studio client (tests). */
  llm?: LlmBackend;
  metrics?: ServiceMetrics;
}

export async function startService(
  config: ServiceConfig,
  options: StartOptions,
): Promise<ServiceHandle> {
  const { logger } = options;
  const metrics = options.metrics ?? createMetrics();
  const llm =
    options.llm ??
    new LmStudioClient({
      ...config.lmstudio,
      model: config.defaults.model,
      logger,
      observer: metrics.observer,
    });
  const { handle, state } = createApp({ config, logger, metrics, llm });
  const server = createServer(handle);
  // Longer than the idle timeouts of the proxies in front (nginx: 60 s), so they close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  answerMalformedRequestsWithJson(server);
  const port = await listen(server, config.port, config.host);
  const host =
    config.host === '' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;

  let stopping: Promise<'drained' | 'forced'> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      state.draining = true;
      const outcome = await closeGracefully(server, config.shutdownTimeoutMs);
      if (outcome === 'forced') {
        logger.error(
          { in_flight: state.inFlight },
          'shutdown timeout reached; cut the remaining connections',
        );
      }
      await llm.close?.();
      return outcome;
    })();
    return stopping;
  };

  return { url: `http://${host}:${port}`, port, server, state, metrics, llm, shutdown };
}
