/**
 * The HTTP layer on Express 5 (docs/api.md): routes, JSON body parsing with
 * the size limit, admission in front of LM Studio, one error middleware that
 * turns everything into the error JSON, the per-request log line and metrics,
 * and the service's lifecycle (start on a port, drain on shutdown). Tests
 * start it on 127.0.0.1:0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ENV_DEFAULTS, PROBE_PATHS } from '../contract/env.js';
import { Admission } from './admission.js';
import {
  BODY_LIMIT_BYTES,
  HEALTH_PATH,
  type HealthResponse,
  MAX_JSON_DEPTH,
  openApiDocument,
  SERVICE_NAME,
  SUMMARY_PATH,
  SUMMARY_PATH_NO_SLASH,
  type SummaryRequest,
  type SummaryResponse,
  summaryRequestSchema,
} from './api.js';
import type { ServiceConfig } from './config.js';
import {
  ApiError,
  CLIENT_GONE,
  payloadTooLarge,
  toApiError,
  toFieldIssues,
  validationError,
} from './errors.js';
import {
  answerMalformedRequestsWithJson,
  charsetOf,
  closeGracefully,
  destroyAfterGrace,
  listen,
  mediaType,
  requestPath,
  serverOptions,
} from './http.js';
import { readJsonFields } from './json-body.js';
import {
  type BackendHealth,
  Cancellation,
  type ChatFn,
  LmStudioClient,
  type ModelContext,
} from './lmstudio.js';
import { type Logger, logSummaryRequest } from './logging.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { characterCount, compressionRatio, type SummaryOutput, summarize } from './summarize.js';

/** Version of the HTTP API document served at /openapi.json. */
export const API_VERSION = '1.0.0';
export const OPENAPI_PATH = '/openapi.json';
const JSON_TYPE = 'application/json; charset=utf-8';
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What the app needs from LM Studio; LmStudioClient in production, anything in tests. */
export interface LlmBackend {
  chat: ChatFn;
  health(): Promise<BackendHealth>;
  /** The model's context; without it the configured (or fallback) length is assumed. */
  modelContext?(): Promise<ModelContext>;
  close?(): Promise<void>;
}

/** An absent Content-Type is read as JSON (as the service this replaces did); any other type is refused. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === undefined || type === '' || type === 'application/json' || type.endsWith('+json');
}

export interface AppState {
  draining: boolean;
  /** Summary requests being served (validated or not). */
  inFlight: number;
}

export interface AppDeps {
  config: ServiceConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  llm: LlmBackend;
  /** Shared with the metrics; one is made from the config when absent. */
  admission?: Admission;
}

/** Per-request bookkeeping, in res.locals. */
interface RequestContext {
  requestId: string;
  path: string;
  /** Metrics label: the route's path, or "unmatched" (keeps label cardinality bounded). */
  route: string;
  /** Set for POST summary requests: they get the runbook's log line. */
  summary: boolean;
  /** Extra fields for the log line; never the user's text. */
  logFields: Record<string, unknown>;
  /** Fires when the client goes away: queued requests leave the queue, LM Studio calls stop. */
  cancellation?: Cancellation;
  /** The last request this connection may carry (HTTP_MAX_REQUESTS_PER_SOCKET): answer with `Connection: close`. */
  lastOnConnection: boolean;
}

const ctxOf = (res: Response): RequestContext => res.locals.ctx as RequestContext;

/** Paths with routes; any other is "unmatched" in the metrics. */
const KNOWN_PATHS = new Set<string>([
  SUMMARY_PATH,
  SUMMARY_PATH_NO_SLASH,
  HEALTH_PATH,
  ...Object.values(PROBE_PATHS),
  OPENAPI_PATH,
]);
const SUMMARY_PATHS = [SUMMARY_PATH, SUMMARY_PATH_NO_SLASH];

type SummaryRequestSchema = ReturnType<typeof summaryRequestSchema>;

/** How the app writes its responses. */
interface Responders {
  /** Every response goes out here: one writeHead with a flat header list (Node's fast path). */
  send(
    res: Response,
    status: number,
    body: string,
    contentType?: string,
    extraHeaders?: Readonly<Record<string, string>>,
  ): void;
  /** The error JSON. */
  sendError(res: Response, error: ApiError): void;
}

/** What the app knows of each connection. */
interface Connections {
  /** Requests each connection has carried. */
  served: WeakMap<Socket, number>;
  /** The response being written on each connection, while there is one. */
  responding: WeakMap<Socket, Response>;
}

export function createApp(deps: AppDeps): {
  handle: express.Express;
  state: AppState;
  admission: Admission;
  /**
   * Answers `status` (408) through the response in progress on `socket`, if there is
   * one; true when it did (or when the answer had already begun: the connection is cut).
   */
  answerInFlight(socket: Socket, status: number): boolean;
} {
  const { config, logger, metrics, llm } = deps;
  const state: AppState = { draining: false, inFlight: 0 };
  const admission =
    deps.admission ?? new Admission({ ...config.admission, ...metrics.admissionHooks });
  const requestSchema = summaryRequestSchema(config.defaults);
  const openApiJson = JSON.stringify(openApiDocument(requestSchema, API_VERSION));
  const responders = respondersFor(state);
  const connections: Connections = { served: new WeakMap(), responding: new WeakMap() };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  // --- the request lifecycle: id, timing, metrics, the runbook's log line ---------
  app.use(trackRequests(state, deps, connections));
  app.use(refuseWhatNodeWouldAnswerBare);

  // --- the summary API --------------------------------------------------------------
  app.post(
    SUMMARY_PATHS,
    startSummary(state, metrics),
    jsonBody(new Set(Object.keys(requestSchema.shape))),
    createSummary(deps, admission, requestSchema, responders),
  );
  app.get(HEALTH_PATH, health(llm, responders));

  // --- operations ----------------------------------------------------------------
  addOperationRoutes(app, state, metrics, openApiJson, responders);

  // Known paths, wrong method.
  app.all(SUMMARY_PATHS, allowOnly('POST'));
  app.all([HEALTH_PATH, ...Object.values(PROBE_PATHS), OPENAPI_PATH], allowOnly('GET'));

  app.use((req: Request) => {
    throw new ApiError(404, 'NOT_FOUND', `No route for ${req.method} ${requestPath(req.url)}`);
  });

  app.use(errorHandler(logger, responders));

  const answerInFlight = (socket: Socket, status: number): boolean => {
    const res = connections.responding.get(socket);
    if (res === undefined) return false;
    if (res.headersSent) {
      res.destroy();
      return true;
    }
    const message = status === 408 ? 'The request was not received in time' : 'Bad request';
    responders.sendError(
      res,
      new ApiError(status, 'BAD_REQUEST', message, null, { Connection: 'close' }),
    );
    destroyAfterGrace(socket);
    return true;
  };

  return { handle: app, state, admission, answerInFlight };
}

/** The response writers of one app: while it drains, every response closes its connection. */
function respondersFor(state: AppState): Responders {
  const send: Responders['send'] = (
    res,
    status,
    body,
    contentType = JSON_TYPE,
    extraHeaders = NO_HEADERS,
  ) => {
    const headers = [
      'Content-Type',
      contentType,
      'Content-Length',
      String(Buffer.byteLength(body)),
      'X-Request-Id',
      ctxOf(res).requestId,
    ];
    for (const name in extraHeaders) headers.push(name, extraHeaders[name] as string);
    if ((state.draining || ctxOf(res).lastOnConnection) && extraHeaders.Connection === undefined)
      headers.push('Connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  };

  const sendError = (res: Response, error: ApiError) => {
    const body = {
      error: error.message,
      error_code: error.code,
      timestamp: new Date().toISOString(),
      details: error.details,
    };
    send(res, error.status, JSON.stringify(body), JSON_TYPE, error.headers);
  };

  return { send, sendError };
}

/**
 * Gives each request its context, counts it against its connection's
 * HTTP_MAX_REQUESTS_PER_SOCKET, and accounts for it (metrics, log line) when it closes.
 */
function trackRequests(
  state: AppState,
  deps: Pick<AppDeps, 'logger' | 'metrics' | 'config'>,
  connections: Connections,
) {
  const { maxRequestsPerSocket } = deps.config.http;
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const ctx = requestContext(req);
    res.locals.ctx = ctx;
    const { socket } = req;
    const served = (connections.served.get(socket) ?? 0) + 1;
    connections.served.set(socket, served);
    ctx.lastOnConnection = maxRequestsPerSocket > 0 && served >= maxRequestsPerSocket;
    connections.responding.set(socket, res);
    // 'close' follows 'finish', and also fires alone when the client goes away.
    res.once('close', () => {
      if (connections.responding.get(socket) === res) connections.responding.delete(socket);
      finishRequest(req, res, ctx, started, state, deps);
    });
    next();
  };
}

/** Node's test for `Expect: 100-continue` (lib/_http_server.js), which it answers itself. */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * What Node itself would answer with an empty body, here answered with the error JSON: an
 * HTTP/1.1 request without Host (RFC 9112 §3.2: 400; Node's requireHostHeader is off so it
 * reaches us) and an Expect other than 100-continue (RFC 9110 §10.1.1: 417; Node hands it
 * to us through 'checkExpectation'). Both close the connection: a body may follow that
 * this request never reads.
 */
function refuseWhatNodeWouldAnswerBare(req: Request, _res: Response, next: NextFunction) {
  if (req.httpVersion === '1.1') {
    const close = { Connection: 'close' };
    if (req.headers.host === undefined) {
      throw new ApiError(
        400,
        'BAD_REQUEST',
        'An HTTP/1.1 request must have a Host header',
        null,
        close,
      );
    }
    const expect = req.headers.expect;
    if (expect !== undefined && !CONTINUE_EXPECTATION.test(expect)) {
      throw new ApiError(
        417,
        'BAD_REQUEST',
        'Expectation Failed: the only expectation supported is Expect: 100-continue',
        null,
        close,
      );
    }
  }
  next();
}

/** The request's id (the caller's X-Request-Id when it is a sane one) and its route label. */
function requestContext(req: Request): RequestContext {
  const incomingId = req.headers['x-request-id'];
  const path = requestPath(req.url);
  const ctx: RequestContext = {
    requestId:
      typeof incomingId === 'string' && /^[\w.:-]{1,128}$/.test(incomingId)
        ? incomingId
        : randomUUID(),
    path,
    route: !KNOWN_PATHS.has(path)
      ? 'unmatched'
      : path === SUMMARY_PATH_NO_SLASH
        ? SUMMARY_PATH
        : path,
    summary: false,
    logFields: {},
    lastOnConnection: false,
  };
  ctx.logFields.request_id = ctx.requestId;
  return ctx;
}

function finishRequest(
  req: Request,
  res: Response,
  ctx: RequestContext,
  started: number,
  state: AppState,
  { logger, metrics }: Pick<AppDeps, 'logger' | 'metrics'>,
) {
  const durationMs = performance.now() - started;
  // Closed before the response was written: the client went away (nginx's 499).
  const status = res.writableFinished ? res.statusCode : CLIENT_GONE;
  if (status === CLIENT_GONE) ctx.cancellation?.abort();
  metrics.httpDuration.observe(
    { method: req.method, route: ctx.route, status_code: status },
    durationMs / 1000,
  );
  if (ctx.summary) {
    state.inFlight -= 1;
    metrics.inFlight.dec();
    logSummaryRequest(logger, {
      method: req.method,
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
}

/** Counts a summary request in flight; refuses a body that is not JSON or is declared too large. */
function startSummary(state: AppState, metrics: ServiceMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const ctx = ctxOf(res);
    ctx.summary = true;
    state.inFlight += 1;
    metrics.inFlight.inc();
    if (!isJsonMediaType(req.headers['content-type'])) {
      throw validationError([
        {
          field: '',
          message: 'The body must be JSON (Content-Type: application/json)',
          code: 'invalid_type',
        },
      ]);
    }
    // A declared length over the limit is refused before a byte is read; an empty
    // body is "no body" (422 on the body itself), not the parser's `{}`.
    if (Number(req.headers['content-length']) > BODY_LIMIT_BYTES) throw payloadTooLarge();
    next();
  };
}

/**
 * The body, read as text (at most BODY_LIMIT_BYTES, in the charset it names) and then
 * read as JSON keeping only the API's fields (service/json-body.ts): nothing else in the
 * body is ever built, and arrays and objects nested deeper than MAX_JSON_DEPTH are a 400
 * before anything is. `req.body` is then the API's fields alone (the text itself is
 * dropped); no body, or an empty one, leaves it undefined ("no body": 422 on the body).
 */
function jsonBody(fields: ReadonlySet<string>) {
  const textParser = express.text({
    limit: BODY_LIMIT_BYTES,
    inflate: false,
    type: () => true,
    defaultCharset: 'utf-8',
  });
  return (req: Request, res: Response, next: NextFunction) => {
    // JSON is Unicode (RFC 8259): UTF-8, or UTF-16/32 when the client says so.
    const charset = charsetOf(req.headers['content-type']);
    if (charset !== undefined && !charset.startsWith('utf-')) {
      throw new ApiError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `unsupported charset "${charset.toUpperCase()}"`,
      );
    }
    textParser(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      const text: unknown = req.body;
      req.body = undefined;
      if (typeof text !== 'string' || text === '') {
        next();
        return;
      }
      try {
        req.body = readJsonFields(text, fields, MAX_JSON_DEPTH);
      } catch (readError) {
        next(readError);
        return;
      }
      next();
    });
  };
}

/** The summary route: validate, wait for admission, summarize within the permit, answer. */
function createSummary(
  { config, llm }: AppDeps,
  admission: Admission,
  requestSchema: SummaryRequestSchema,
  { send }: Responders,
) {
  return async (req: Request, res: Response) => {
    const ctx = ctxOf(res);
    const input = validSummaryRequest(requestSchema, req.body, ctx);
    // From here on the request holds only the validated input, queued or running.
    req.body = undefined;

    ctx.cancellation = new Cancellation();
    const queuedAt = performance.now();
    const permit = await admission.admit(ctx.cancellation);
    const waitedMs = performance.now() - queuedAt;
    if (waitedMs >= 1) ctx.logFields.queue_wait_ms = Math.round(waitedMs);
    try {
      const context = await llm.modelContext?.();
      const cancellation = ctx.cancellation;
      const result = await summarize(input, {
        chat: (request, callCancellation) =>
          permit.run(() => llm.chat(request, callCancellation), callCancellation),
        model: config.defaults.model,
        contextTokens:
          context?.contextTokens ??
          config.lmstudio.contextLength ??
          ENV_DEFAULTS.fallbackContextLength,
        chunkChars: config.chunkChars,
        mapConcurrency: config.mapConcurrency,
        cancellation,
      });
      send(res, 200, JSON.stringify(summaryResponse(input, result, ctx)));
    } finally {
      permit.close();
    }
  };
}

/** The parsed body, or a validation error naming the invalid fields (also in the log line). */
function validSummaryRequest(
  requestSchema: SummaryRequestSchema,
  body: unknown,
  ctx: RequestContext,
): SummaryRequest {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    ctx.logFields.invalid_fields = [...new Set(issues.map((issue) => issue.field || 'body'))];
    throw validationError(issues);
  }
  const input = parsed.data;
  ctx.logFields.summary_type = input.summary_type;
  ctx.logFields.language = input.language;
  ctx.logFields.max_tokens = input.max_tokens;
  return input;
}

function summaryResponse(
  input: SummaryRequest,
  result: SummaryOutput,
  ctx: RequestContext,
): SummaryResponse {
  const originalLength = characterCount(input.text);
  const summaryLength = characterCount(result.summary);
  ctx.logFields.model = result.model;
  ctx.logFields.chunks = result.chunks;
  ctx.logFields.llm_calls = result.llmCalls;
  ctx.logFields.original_length = originalLength;
  ctx.logFields.summary_length = summaryLength;
  return {
    id: randomUUID(),
    original_text: input.text,
    summary_text: result.summary,
    created_at: new Date().toISOString(),
    model_name: result.model,
    summary_length: summaryLength,
    original_length: originalLength,
    compression_ratio: compressionRatio(summaryLength, originalLength),
  };
}

function health(llm: LlmBackend, { send }: Responders) {
  return async (_req: Request, res: Response) => {
    const backend = await llm.health();
    const body: HealthResponse = {
      status: backend.healthy ? 'healthy' : 'unhealthy',
      service_name: SERVICE_NAME,
      timestamp: new Date().toISOString(),
      details: backend.healthy ? 'All systems operational' : backend.reason,
    };
    send(res, backend.healthy ? 200 : 503, JSON.stringify(body));
  };
}

/** Liveness, readiness, metrics and the API document. */
function addOperationRoutes(
  app: express.Express,
  state: AppState,
  metrics: ServiceMetrics,
  openApiJson: string,
  { send, sendError }: Responders,
) {
  app.get(PROBE_PATHS.liveness, (_req: Request, res: Response) =>
    send(res, 200, '{"status":"alive"}'),
  );

  // Ready means "started and not shutting down". It deliberately ignores LM
  // Studio: an LM Studio outage must not empty the Service's endpoints (clients
  // would get connection errors instead of a 503 that says why), nor make a new
  // rollout look broken to the operator, which would roll it back for nothing.
  app.get(PROBE_PATHS.readiness, (_req: Request, res: Response) => {
    if (state.draining)
      sendError(res, new ApiError(503, 'NOT_READY', 'The service is shutting down'));
    else send(res, 200, '{"status":"ready"}');
  });

  app.get(PROBE_PATHS.metrics, async (_req: Request, res: Response) =>
    send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
  );

  app.get(OPENAPI_PATH, (_req: Request, res: Response) => send(res, 200, openApiJson));
}

/** A 405 that names the methods allowed. */
function allowOnly(allowed: string) {
  return (req: Request) => {
    throw new ApiError(
      405,
      'METHOD_NOT_ALLOWED',
      `${req.method} is not allowed here; use ${allowed}`,
      null,
      { Allow: allowed },
    );
  };
}

/** The one error middleware (Express knows it by its four parameters): the error JSON. */
function errorHandler(logger: Logger, { sendError }: Responders) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = toApiError(error);
    const ctx = ctxOf(res);
    if (apiError.status >= 500) {
      ctx.logFields.error_code = apiError.code;
      ctx.logFields.reason =
        typeof apiError.details === 'string' ? apiError.details : apiError.message;
    }
    if (apiError.code === 'OVERLOADED') ctx.logFields.shed = apiError.details;
    if (apiError.code === 'INTERNAL_ERROR') {
      logger.error(
        { err: error, request_id: ctx.requestId, method: req.method, path: ctx.path },
        'unexpected error',
      );
    }
    // Nobody is listening (499), or the answer was already on its way: just close.
    if (apiError.status === CLIENT_GONE || res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, apiError);
  };
}

// ---------------------------------------------------------------------------
// The service: metrics, LM Studio client, server, shutdown.

export interface ServiceHandle {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  server: Server;
  state: AppState;
  admission: Admission;
  metrics: ServiceMetrics;
  llm: LlmBackend;
  /** Stops accepting, lets in-flight and queued requests finish (up to shutdownTimeoutMs), closes LM Studio's pool. */
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
  const { handle, state, admission, answerInFlight } = createApp({
    config,
    logger,
    metrics,
    llm,
  });
  metrics.attachAdmission(admission);
  // Timeouts for receiving a request (never for answering it), idle keep-alive, and a cap
  // on connections: a connection over it is closed as it arrives (docs/api.md#limits).
  const server = createServer(serverOptions(config.http), handle);
  server.maxConnections = config.http.maxConnections;
  server.on('drop', () => metrics.connectionsDropped.inc());
  // An Expect Node does not know: the app answers 417 with the error JSON.
  server.on('checkExpectation', handle);
  answerMalformedRequestsWithJson(server, answerInFlight);
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
          { in_flight: state.inFlight, queued: admission.queued },
          'shutdown timeout reached; cut the remaining connections',
        );
      }
      await llm.close?.();
      return outcome;
    })();
    return stopping;
  };

  return { url: `http://${host}:${port}`, port, server, state, admission, metrics, llm, shutdown };
}
