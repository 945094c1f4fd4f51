/**
 * Routes and error mapping (SPEC §1.1), admission control (429 instead of a
 * queue), the per-request log line and metrics, and the HTTP server's lifecycle
 * (start on a port, drain on shutdown). Tests start it on 127.0.0.1:0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
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
import { type BackendHealth, type ChatFn, LlmError, LmStudioClient } from './lmstudio.js';
import { type Logger, logSummaryRequest } from './logging.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { characterCount, compressionRatio, EmptySummaryError, summarize } from './summarize.js';

/** Version of the HTTP API document served at /openapi.json. */
export const API_VERSION = '1.0.0';
export const BODY_LIMIT_BYTES = 1024 * 1024;
const OPENAPI_PATH = '/openapi.json';
/** Seconds a shed client is told to wait; summaries take seconds, so one is a fair first retry. */
const SHED_RETRY_AFTER_SECONDS = 1;

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

/** Per-request bookkeeping kept in res.locals.ctx. */
interface RequestContext {
  requestId: string;
  route: string;
  /** Set for POST summary requests: they get the runbook's log line. */
  summary: boolean;
  logFields: Record<string, unknown>;
}

const ctxOf = (res: Response): RequestContext => res.locals.ctx as RequestContext;

/** Express parses every summary body as JSON; the media type is checked first. */
function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json') || type === '';
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

/** Maps anything thrown while serving a request to the error the client gets. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
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
  // body-parser's errors carry a `type` and an HTTP status.
  const bodyError = error as { type?: unknown; status?: unknown; message?: unknown };
  if (typeof bodyError.type === 'string' && typeof bodyError.status === 'number') {
    switch (bodyError.type) {
      case 'entity.too.large':
        return new ApiError(
          413,
          'PAYLOAD_TOO_LARGE',
          `The request body exceeds the ${BODY_LIMIT_BYTES / 1024 / 1024} MB limit`,
          null,
          { Connection: 'close' },
        );
      case 'entity.parse.failed':
        return new ApiError(
          400,
          'INVALID_JSON',
          'The request body is not valid JSON',
          String(bodyError.message),
        );
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', String(bodyError.message));
    }
  }
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, 'BAD_REQUEST', STATUS_CODES[status] ?? 'Bad request');
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'An unexpected error occurred');
}

export function createApp(deps: AppDeps): { app: express.Express; state: AppState } {
  const { config, logger, metrics, llm } = deps;
  const state: AppState = { draining: false, inFlight: 0 };
  const requestSchema = summaryRequestSchema(config.defaults);
  const openApiJson = JSON.stringify(openApiDocument(requestSchema, API_VERSION));
  const jsonBody = express.json({ limit: BODY_LIMIT_BYTES, strict: false, type: () => true });

  const send = (
    res: Response,
    status: number,
    body: string,
    contentType = 'application/json; charset=utf-8',
  ) => {
    if (state.draining) res.setHeader('Connection', 'close');
    res.statusCode = status;
    res.setHeader('Content-Type', contentType);
    res.end(body);
  };

  const sendError = (res: Response, error: ApiError) => {
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    const body: ErrorResponse = {
      error: error.message,
      error_code: error.code,
      timestamp: new Date().toISOString(),
      details: error.details,
    };
    send(res, error.status, JSON.stringify(body));
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  // Request lifecycle: id, timing, metrics, and the runbook's log line.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const incomingId = req.headers['x-request-id'];
    const requestId =
      typeof incomingId === 'string' && /^[\w.:-]{1,128}$/.test(incomingId)
        ? incomingId
        : randomUUID();
    const ctx: RequestContext = { requestId, route: 'unmatched', summary: false, logFields: {} };
    res.locals.ctx = ctx;
    res.setHeader('X-Request-Id', requestId);
    let done = false;
    const onDone = () => {
      if (done) return;
      done = true;
      const durationMs = performance.now() - started;
      // Closed before the response was written: the client went away (nginx's 499).
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.httpDuration.observe(
        { method: req.method, route: ctx.route, status_code: String(status) },
        durationMs / 1000,
      );
      if (ctx.summary) {
        logSummaryRequest(logger, {
          method: req.method,
          path: req.path,
          status,
          durationMs,
          requestId,
          fields: ctx.logFields,
        });
      } else if (logger.isLevelEnabled('debug')) {
        logger.debug(
          {
            request_id: requestId,
            method: req.method,
            path: req.path,
            status,
            duration_ms: Math.round(durationMs),
          },
          'request served',
        );
      }
    };
    res.once('finish', onDone);
    res.once('close', onDone);
    next();
  });

  // --- the summary API -------------------------------------------------------
  const summaryPaths = [SUMMARY_PATH, SUMMARY_PATH_NO_SLASH];

  const admit = (_req: Request, res: Response, next: NextFunction) => {
    const ctx = ctxOf(res);
    ctx.route = SUMMARY_PATH;
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
    state.inFlight += 1;
    metrics.inFlight.inc();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      state.inFlight -= 1;
      metrics.inFlight.dec();
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };

  const requireJsonMediaType = (req: Request, _res: Response, next: NextFunction) => {
    if (!isJsonMediaType(req.headers['content-type'])) {
      throw new ApiError(422, 'VALIDATION_ERROR', 'Request validation failed', [
        {
          field: '',
          message: 'The body must be JSON (Content-Type: application/json)',
          code: 'invalid_type',
        },
      ]);
    }
    next();
  };

  app.post(
    summaryPaths,
    admit,
    requireJsonMediaType,
    jsonBody,
    async (req: Request, res: Response) => {
      const ctx = ctxOf(res);
      const parsed = requestSchema.safeParse(req.body);
      if (!parsed.success) {
        const issues = toFieldIssues(parsed.error);
        ctx.logFields.invalid_fields = [...new Set(issues.map((issue) => issue.field || 'body'))];
        throw new ApiError(422, 'VALIDATION_ERROR', 'Request validation failed', issues);
      }
      const input = parsed.data;
      Object.assign(ctx.logFields, {
        summary_type: input.summary_type,
        language: input.language,
        max_tokens: input.max_tokens,
      });
      // Stop calling LM Studio for a client that has gone away.
      const cancel = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) cancel.abort();
      });
      const result = await summarize(input, {
        chat: llm.chat,
        model: config.defaults.model,
        chunkChars: config.chunkChars,
        mapConcurrency: config.mapConcurrency,
        signal: cancel.signal,
      });
      const originalLength = characterCount(input.text);
      const summaryLength = characterCount(result.summary);
      Object.assign(ctx.logFields, {
        model: result.model,
        chunks: result.chunks,
        llm_calls: result.llmCalls,
        original_length: originalLength,
        summary_length: summaryLength,
      });
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
      send(res, 200, JSON.stringify(body));
    },
  );

  app.get(HEALTH_PATH, async (_req: Request, res: Response) => {
    ctxOf(res).route = HEALTH_PATH;
    const health = await llm.health();
    const body: HealthResponse = {
      status: health.healthy ? 'healthy' : 'unhealthy',
      service_name: SERVICE_NAME,
      timestamp: new Date().toISOString(),
      details: health.healthy ? 'All systems operational' : health.reason,
    };
    send(res, health.healthy ? 200 : 503, JSON.stringify(body));
  });

  // --- operations --------------------------------------------------------------
  app.get(PROBE_PATHS.liveness, (_req: Request, res: Response) => {
    ctxOf(res).route = PROBE_PATHS.liveness;
    send(res, 200, '{"status":"alive"}');
  });

  // Ready means "started and not shutting down". It deliberately ignores LM
  // Studio: an LM Studio outage must not empty the Service's endpoints (clients
  // would get connection errors instead of a 503 that says why), nor make a new
  // rollout look broken to the operator, which would roll it back for nothing.
  app.get(PROBE_PATHS.readiness, (_req: Request, res: Response) => {
    ctxOf(res).route = PROBE_PATHS.readiness;
    if (state.draining) {
      sendError(res, new ApiError(503, 'NOT_READY', 'The service is shutting down'));
    } else {
      send(res, 200, '{"status":"ready"}');
    }
  });

  app.get(PROBE_PATHS.metrics, async (_req: Request, res: Response) => {
    ctxOf(res).route = PROBE_PATHS.metrics;
    send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
  });

  app.get(OPENAPI_PATH, (_req: Request, res: Response) => {
    ctxOf(res).route = OPENAPI_PATH;
    send(res, 200, openApiJson);
  });

  // Known paths, wrong method.
  const allowOnly = (allowed: string) => (req: Request, res: Response) => {
    res.setHeader('Allow', allowed);
    throw new ApiError(
      405,
      'METHOD_NOT_ALLOWED',
      `${req.method} is not allowed here; use ${allowed}`,
    );
  };
  app.all(summaryPaths, allowOnly('POST'));
  for (const path of [HEALTH_PATH, ...Object.values(PROBE_PATHS), OPENAPI_PATH])
    app.all(path, allowOnly('GET'));

  app.use((req: Request) => {
    throw new ApiError(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}`);
  });

  // Express needs the four-argument signature to treat this as the error handler.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = toApiError(error);
    const ctx = ctxOf(res);
    if (apiError.status >= 500) {
      ctx.logFields.error_code = apiError.code;
      ctx.logFields.reason =
        typeof apiError.details === 'string' ? apiError.details : apiError.message;
    }
    if (apiError.code === 'INTERNAL_ERROR') {
      logger.error(
        { err: error, request_id: ctx.requestId, method: req.method, path: req.path },
        'unexpected error',
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (apiError.status === 499) {
      res.destroy(); // nobody is listening; the log line records 499
      return;
    }
    sendError(res, apiError);
  });

  return { app, state };
}

// ---------------------------------------------------------------------------
// The server.

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
  const { app, state } = createApp({ config, logger, metrics, llm });
  const server = createServer(app);
  // Longer than the idle timeouts of the proxies in front (nginx 60 s), so they close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
    const body = JSON.stringify({
      error: STATUS_CODES[status] ?? 'Bad request',
      error_code: 'BAD_REQUEST',
      timestamp: new Date().toISOString(),
      details: null,
    } satisfies ErrorResponse);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host === '' ? undefined : config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host =
    config.host === '' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;

  let stopping: Promise<'drained' | 'forced'> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      state.draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'forced'>((resolve) => {
        timer = setTimeout(() => resolve('forced'), config.shutdownTimeoutMs);
      });
      const outcome = await Promise.race([closed.then(() => 'drained' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'forced') {
        logger.error(
          { in_flight: state.inFlight },
          'shutdown timeout reached; closing remaining connections',
        );
        server.closeAllConnections();
      }
      await llm.close?.();
      return outcome;
    })();
    return stopping;
  };

  return { url: `http://${host}:${port}`, port, server, state, metrics, llm, shutdown };
}
