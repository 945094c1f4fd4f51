/**
 * The LM Studio client (docs/api.md#talking-to-lm-studio): an OpenAI-compatible
 * chat-completions call over a keep-alive undici Pool, with a per-attempt timeout,
 * retries with exponential backoff and jitter (network errors, timeouts, 429 and 5xx
 * only — never another 4xx), a circuit breaker that fails fast while LM Studio is
 * down, and a cached, single-flight health probe on `GET /v1/models` that shares the
 * breaker's view: a probe that reaches LM Studio closes the circuit, one that cannot
 * reach it opens it, so health and summaries never disagree.
 *
 * LM Studio's own `GET /api/v0/models` (when served) gives the model's context
 * length and whether it is loaded: a model LM Studio must still load (JIT) gets
 * one first call alone, with LMSTUDIO_LOAD_TIMEOUT instead of LMSTUDIO_TIMEOUT.
 *
 * It knows nothing of HTTP routes or Prometheus: the app maps LlmError kinds to
 * status codes, and metrics come in through the LmStudioObserver hooks.
 */
import { Pool } from 'undici';
import { ENV_DEFAULTS } from '../contract/env.js';
import { classifyError, describeCause, type ErrorCause, readErrorBody } from './lmstudio-errors.js';
import {
  type ModelContext,
  modelProblem,
  type NativeModelInfo,
  readModelIds,
  readNativeModel,
  resolveContext,
} from './lmstudio-models.js';
import type { Logger } from './logging.js';
import {
  type AttemptOutcome,
  backoffMs,
  Cancellation,
  CircuitBreaker,
  type CircuitState,
  delay,
  isBackendFailure,
  isRetryable,
  parseRetryAfter,
} from './resilience.js';

export { type AttemptOutcome, Cancellation, type CircuitState, type ModelContext };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  max_tokens: number;
  temperature: number;
}

export interface ChatResult {
  content: string;
  /** The model LM Studio says answered. */
  model: string;
}

/** Anything that can answer a chat request; summarize.ts depends on this only. */
export type ChatFn = (request: ChatRequest, cancellation?: Cancellation) => Promise<ChatResult>;

export interface BackendHealth {
  healthy: boolean;
  reachable: boolean;
  /** Why not healthy, in words that name LM Studio; "ok" when healthy. */
  reason: string;
  models: string[];
  checkedAt: number;
}

export interface LmStudioObserver {
  onAttempt(operation: 'chat' | 'models', outcome: AttemptOutcome, seconds: number): void;
  onRetry(reason: AttemptOutcome): void;
  onCircuitChange(state: CircuitState): void;
  onProbe(healthy: boolean): void;
}

/**
 * Why a chat call failed, after retries. app.ts maps: timeout → 504,
 * unreachable, model_unavailable and circuit_open → 503, the rest → 502.
 * summarize.ts handles context_overflow itself (smaller parts).
 */
export type LlmErrorKind =
  | 'timeout'
  | 'unreachable'
  | 'circuit_open'
  | 'model_unavailable'
  | 'context_overflow'
  | 'rejected'
  | 'server_error'
  | 'bad_response'
  | 'aborted';

export interface LlmErrorInfo {
  status?: number;
  attempts?: number;
  retryAfterSeconds?: number;
  /** context_overflow: the context the server named, if it did. */
  contextTokens?: number;
  /** context_overflow: the prompt's size in tokens, if the server said. */
  promptTokens?: number;
}

export class LlmError extends Error {
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly info: LlmErrorInfo = {},
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

/**
 * Reads `{model?, choices: [{message: {content}}, …]}`; undefined if the shape is
 * wrong. Written out rather than a zod schema: it runs on every call.
 */
export function decodeChatResponse(json: unknown, requestedModel: string): ChatResult | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { model, choices } = json as { model?: unknown; choices?: unknown };
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const message: unknown = (choices[0] as { message?: unknown } | null)?.message;
  if (typeof message !== 'object' || message === null) return undefined;
  const content: unknown = (message as { content?: unknown }).content;
  if (content !== undefined && content !== null && typeof content !== 'string') return undefined;
  return {
    content: typeof content === 'string' ? content : '',
    model: typeof model === 'string' && model !== '' ? model : requestedModel,
  };
}

export interface LmStudioClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** The model the service is configured to use; the health probe checks it is served. */
  model: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs?: number;
  breakerFailures: number;
  breakerResetMs: number;
  healthCacheMs: number;
  /** Per-attempt timeout of a call that makes LM Studio load the model first. */
  loadTimeoutMs?: number;
  /** LMSTUDIO_CONTEXT_LENGTH. */
  contextLength?: number | undefined;
  logger: Logger;
  observer?: LmStudioObserver | undefined;
  /** Upper bound of pooled keep-alive connections to LM Studio. */
  connections?: number;
  now?: () => number;
}

type Failure = {
  ok: false;
  outcome: Exclude<AttemptOutcome, 'ok'>;
  message: string;
  status?: number;
  retryAfterMs?: number;
  cause?: ErrorCause;
};
type Attempt<T> = { ok: true; value: T } | Failure;

const NOT_RESPONDING = 'LMStudio service is not responding';
const PROBE_TIMEOUT_CAP_MS = 5000;
/** While the circuit is not closed, health probes LM Studio at most this often. */
const OPEN_PROBE_INTERVAL_MS = 1000;
/** How long LM Studio's answer about the model (context, loaded or not) is reused. */
const MODEL_INFO_CACHE_MS = 10_000;
/** How long a context length learned from an overflow answer is trusted. */
const LEARNED_CONTEXT_MS = 10 * 60_000;
/** undici's own timers (about 1 s resolution) only back ours up. */
const BACKSTOP_MS = 2000;

export class LmStudioClient {
  readonly breaker: CircuitBreaker;
  readonly #options: LmStudioClientOptions;
  readonly #pool: Pool;
  readonly #pathPrefix: string;
  /** Where LM Studio's native API lives: the base URL without its trailing /v1. */
  readonly #nativePrefix: string;
  readonly #headers: Record<string, string>;
  readonly #now: () => number;
  #cachedHealth: BackendHealth | undefined;
  #probeInFlight: Promise<BackendHealth> | undefined;
  #nativeInfo: { value: NativeModelInfo | null | undefined; at: number } | undefined;
  #nativeInFlight: Promise<NativeModelInfo | null | undefined> | undefined;
  #learnedContext: { tokens: number; at: number } | undefined;
  /** Set while the one call that makes LM Studio load the model is running. */
  #loading: Promise<void> | undefined;

  constructor(options: LmStudioClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const url = new URL(options.baseUrl);
    this.#pathPrefix = url.pathname.replace(/\/+$/, '');
    this.#nativePrefix = this.#pathPrefix.replace(/\/v1$/, '');
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 256,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
    });
    this.#headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey) this.#headers.authorization = `Bearer ${options.apiKey}`;
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breakerFailures,
      resetMs: options.breakerResetMs,
      now: this.#now,
      onChange: (state) => {
        // A cached health verdict from before the change would contradict it.
        this.#cachedHealth = undefined;
        options.observer?.onCircuitChange(state);
        if (state === 'open') {
          options.logger.error(
            { circuit: state, reset_ms: options.breakerResetMs },
            `LM Studio circuit opened: calls fail fast for ${options.breakerResetMs}ms`,
          );
        } else {
          options.logger.info({ circuit: state }, `LM Studio circuit ${state.replace('_', '-')}`);
        }
      },
    });
  }

  /** One chat completion, with retries and the breaker. Throws LlmError. */
  readonly chat: ChatFn = async (request, cancellation) => {
    const load = await this.#loadTurn(request.model, cancellation);
    let ok = false;
    try {
      const result = await this.#chatWithRetries(request, cancellation, load.timeoutMs);
      ok = true;
      return result;
    } finally {
      load.done?.(ok);
    }
  };

  async #chatWithRetries(
    request: ChatRequest,
    cancellation: Cancellation | undefined,
    timeoutMs: number,
  ) {
    const body = JSON.stringify({
      model: request.model,
      messages: request.messages,
      max_tokens: request.max_tokens,
      temperature: request.temperature,
      stream: false,
    });
    const { maxRetries, retryBaseMs, logger, observer } = this.#options;
    const retryMaxMs = this.#options.retryMaxMs ?? 8000;
    const attempts = maxRetries + 1;
    for (let attempt = 1; ; attempt += 1) {
      const admission = this.breaker.admit();
      if (!admission.allowed) {
        throw new LlmError('circuit_open', 'LM Studio is failing; the circuit breaker is open', {
          attempts: attempt - 1,
          retryAfterSeconds: Math.max(1, Math.ceil(admission.retryAfterMs / 1000)),
        });
      }
      const result = await this.#attempt(
        'chat',
        'POST',
        `${this.#pathPrefix}/chat/completions`,
        body,
        cancellation,
        (json) => decodeChatResponse(json, request.model),
        timeoutMs,
      );
      if (result.ok) {
        this.breaker.success();
        return result.value;
      }
      if (result.outcome === 'aborted') {
        this.breaker.release();
        throw new LlmError('aborted', 'the request was cancelled');
      }
      if (isBackendFailure(result.outcome)) {
        this.breaker.failure();
        if (this.#cachedHealth?.healthy) this.#cachedHealth = undefined;
      } else {
        this.breaker.success();
      }
      if (result.outcome === 'context_overflow') throw this.#overflowError(result);
      if (result.outcome === 'model_unavailable') {
        const message = describeCause(
          result.cause ?? { kind: 'other', message: result.message },
          request.model,
        );
        logger.error({ reason: result.outcome, status: result.status }, message);
        throw new LlmError('model_unavailable', message, statusInfo(attempt, result.status));
      }

      const fields = {
        attempt,
        max_attempts: attempts,
        reason: result.outcome,
        status: result.status,
      };
      if (!isRetryable(result.outcome) || attempt >= attempts) {
        logger.error(
          fields,
          `LM Studio call failed after ${attempt} attempt(s): ${result.message}`,
        );
        throw finalError(result.outcome, result.message, attempt, result.status);
      }
      const delayMs = Math.max(
        backoffMs(attempt - 1, retryBaseMs, retryMaxMs),
        Math.min(result.retryAfterMs ?? 0, retryMaxMs),
      );
      observer?.onRetry(result.outcome);
      logger.warn(
        { ...fields, delay_ms: delayMs },
        `LM Studio call failed (${result.outcome}), retrying in ${delayMs}ms`,
      );
      if (!(await delay(delayMs, cancellation)))
        throw new LlmError('aborted', 'the request was cancelled');
    }
  }

  /** Remembers the context an overflow answer named, for every request after this one. */
  #overflowError(result: Failure): LlmError {
    const cause = result.cause?.kind === 'context_overflow' ? result.cause : undefined;
    const info: LlmErrorInfo = statusInfo(1, result.status);
    if (cause?.contextTokens !== undefined) {
      info.contextTokens = cause.contextTokens;
      const known = this.#learnedContext;
      if (known === undefined || cause.contextTokens < known.tokens || this.#learnedExpired()) {
        this.#learnedContext = { tokens: cause.contextTokens, at: this.#now() };
      }
    }
    if (cause?.promptTokens !== undefined) info.promptTokens = cause.promptTokens;
    const message = describeCause(
      cause ?? { kind: 'context_overflow', message: result.message },
      this.#options.model,
    );
    return new LlmError('context_overflow', `LM Studio refused the prompt: ${message}`, info);
  }

  #learnedExpired(): boolean {
    const learned = this.#learnedContext;
    return learned === undefined || this.#now() - learned.at > LEARNED_CONTEXT_MS;
  }

  /** The context the chunker must fit (LMSTUDIO_CONTEXT_LENGTH, LM Studio's answer, the fallback). */
  async modelContext(): Promise<ModelContext> {
    const native = await this.#native();
    return resolveContext({
      configured: this.#options.contextLength,
      native,
      learned: this.#learnedExpired() ? undefined : this.#learnedContext?.tokens,
      fallback: ENV_DEFAULTS.fallbackContextLength,
    });
  }

  /**
   * Just-in-time loading: when LM Studio says the model is not loaded, the first
   * call gets the load timeout and goes alone (several first calls at once can
   * make LM Studio load several instances); the others wait for it, then call
   * with the usual timeout.
   */
  async #loadTurn(
    model: string,
    cancellation: Cancellation | undefined,
  ): Promise<{ timeoutMs: number; done?: (ok: boolean) => void }> {
    const { timeoutMs, loadTimeoutMs } = this.#options;
    if (loadTimeoutMs === undefined || model !== this.#options.model) return { timeoutMs };
    for (;;) {
      if ((await this.#native())?.state !== 'not-loaded') return { timeoutMs };
      if (this.#loading === undefined) {
        let finished: () => void = () => {};
        this.#loading = new Promise<void>((resolve) => {
          finished = resolve;
        });
        this.#options.logger.info(
          { model, load_timeout_ms: loadTimeoutMs },
          `LM Studio has not loaded "${model}" yet: the first call may take up to ${loadTimeoutMs}ms`,
        );
        return {
          timeoutMs: Math.max(timeoutMs, loadTimeoutMs),
          done: (ok) => {
            const native = this.#nativeInfo?.value;
            if (ok && native)
              this.#nativeInfo = { value: { ...native, state: 'loaded' }, at: this.#now() };
            this.#loading = undefined;
            finished();
          },
        };
      }
      const loading = this.#loading;
      const waited = await new Promise<boolean>((resolve) => {
        const onAbort = () => resolve(false);
        cancellation?.once('abort', onAbort);
        loading.then(() => {
          cancellation?.off('abort', onAbort);
          resolve(true);
        });
      });
      if (!waited) throw new LlmError('aborted', 'the request was cancelled');
    }
  }

  /** LM Studio's `/api/v0/models` entry of the model, cached and single-flight. */
  async #native(): Promise<NativeModelInfo | null | undefined> {
    const cached = this.#nativeInfo;
    if (cached && this.#now() - cached.at < MODEL_INFO_CACHE_MS) return cached.value;
    this.#nativeInFlight ??= (async () => {
      const result = await this.#attempt(
        'models',
        'GET',
        `${this.#nativePrefix}/api/v0/models`,
        undefined,
        undefined,
        (json) => ({ entry: readNativeModel(json, this.#options.model) }),
        Math.min(this.#options.timeoutMs, PROBE_TIMEOUT_CAP_MS),
      );
      const value = result.ok ? result.value.entry : undefined;
      this.#nativeInfo = { value, at: this.#now() };
      return value;
    })().finally(() => {
      this.#nativeInFlight = undefined;
    });
    return this.#nativeInFlight;
  }

  /**
   * Cached (healthCacheMs; while the circuit is not closed, at most a second),
   * single-flight probe of `GET /v1/models`. Never a chat completion.
   */
  async health(): Promise<BackendHealth> {
    const cached = this.#cachedHealth;
    const maxAge =
      this.breaker.state === 'closed'
        ? this.#options.healthCacheMs
        : Math.min(this.#options.healthCacheMs, OPEN_PROBE_INTERVAL_MS);
    if (cached && this.#now() - cached.checkedAt < maxAge) return cached;
    this.#probeInFlight ??= this.#probe().finally(() => {
      this.#probeInFlight = undefined;
    });
    return this.#probeInFlight;
  }

  /** Waits for in-flight calls, then closes pooled connections. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #probe(): Promise<BackendHealth> {
    const { model, timeoutMs, logger, observer } = this.#options;
    const result = await this.#attempt(
      'models',
      'GET',
      `${this.#pathPrefix}/models`,
      undefined,
      undefined,
      readModelIds,
      Math.min(timeoutMs, PROBE_TIMEOUT_CAP_MS),
    );
    const checkedAt = this.#now();
    let health: BackendHealth;
    if (result.ok) {
      const models = result.value;
      const problem = modelProblem(models, model);
      health = {
        healthy: problem === undefined,
        reachable: true,
        models,
        checkedAt,
        reason: problem ?? 'ok',
      };
      // LM Studio answered: summaries may call it again at once.
      this.breaker.success();
    } else {
      const unreachable = result.outcome === 'network_error';
      if (unreachable) this.breaker.trip();
      else if (isBackendFailure(result.outcome)) this.breaker.failure();
      else this.breaker.success();
      const circuit =
        this.breaker.state === 'closed' ? '' : '; the circuit breaker is open: summaries fail fast';
      health = {
        healthy: false,
        reachable: !unreachable && result.outcome !== 'timeout',
        models: [],
        checkedAt,
        reason:
          unreachable || result.outcome === 'timeout'
            ? NOT_RESPONDING
            : `${NOT_RESPONDING} correctly: ${result.message}${circuit}`,
      };
    }
    observer?.onProbe(health.healthy);
    if (!health.healthy) {
      logger.error(
        { probe: 'GET /v1/models', reason: health.reason },
        'LM Studio health probe failed',
      );
    }
    this.#cachedHealth = health;
    return health;
  }

  /** One HTTP exchange with its own timeout; never throws. */
  async #attempt<T>(
    operation: 'chat' | 'models',
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    cancellation: Cancellation | undefined,
    decode: (json: unknown) => T | undefined,
    timeoutMs: number,
  ): Promise<Attempt<T>> {
    const started = performance.now();
    const result = await this.#exchange(method, path, body, cancellation, decode, timeoutMs);
    const outcome = result.ok ? 'ok' : result.outcome;
    this.#options.observer?.onAttempt(operation, outcome, (performance.now() - started) / 1000);
    return result;
  }

  /**
   * One attempt. Its timeout is a plain timer that cancels the attempt's own
   * Cancellation (linked to the caller's): precise, unlike undici's ~1 s
   * headers/body timers, which stay as a backstop.
   */
  async #exchange<T>(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    cancellation: Cancellation | undefined,
    decode: (json: unknown) => T | undefined,
    timeoutMs: number,
  ): Promise<Attempt<T>> {
    if (cancellation?.aborted) return { ok: false, outcome: 'aborted', message: 'cancelled' };
    const { cancellation: attempt, unlink } = cancellation?.child() ?? {
      cancellation: new Cancellation(),
      unlink: undefined,
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort();
    }, timeoutMs);
    try {
      const response = await this.#pool.request({
        method,
        path,
        headers: this.#headers,
        body,
        signal: attempt,
        headersTimeout: timeoutMs + BACKSTOP_MS,
        bodyTimeout: timeoutMs + BACKSTOP_MS,
      });
      const text = await response.body.text();
      const status = response.statusCode;
      if (status >= 200 && status < 300) return decodeAnswer(text, status, decode);
      return failedAnswer(text, status, response.headers['retry-after']);
    } catch (error) {
      if (cancellation?.aborted) return { ok: false, outcome: 'aborted', message: 'cancelled' };
      const code = (error as { code?: unknown }).code;
      if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        return {
          ok: false,
          outcome: 'timeout',
          message: `LM Studio did not answer within ${timeoutMs}ms`,
        };
      }
      return {
        ok: false,
        outcome: 'network_error',
        message: `cannot reach LM Studio: ${describe(error)}`,
      };
    } finally {
      clearTimeout(timer);
      unlink?.();
    }
  }
}

/** A 2xx answer: the decoded value, or — LM Studio sometimes answers an error with 200 — what went wrong. */
function decodeAnswer<T>(
  text: string,
  status: number,
  decode: (json: unknown) => T | undefined,
): Attempt<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, outcome: 'bad_response', status, message: 'LM Studio sent invalid JSON' };
  }
  const value = decode(json);
  if (value !== undefined) return { ok: true, value };
  if (readErrorBody(json) !== undefined) {
    const failure = failedAnswer(text, status, undefined);
    // An error we cannot place is a bad answer, not a refused request.
    return failure.outcome === 'client_error' ? { ...failure, outcome: 'bad_response' } : failure;
  }
  return {
    ok: false,
    outcome: 'bad_response',
    status,
    message: 'LM Studio sent an unexpected response',
  };
}

function failedAnswer(
  text: string,
  status: number,
  retryAfterHeader: string | string[] | undefined,
): Failure {
  const cause = classifyError(text);
  const message = `LM Studio answered HTTP ${status}${cause.message === '' ? '' : `: ${cause.message}`}`;
  if (status === 429) {
    const retryAfter = parseRetryAfter(
      Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader,
    );
    const failure: Failure = { ok: false, outcome: 'rate_limited', status, message };
    if (retryAfter !== undefined) failure.retryAfterMs = retryAfter;
    return failure;
  }
  if (status >= 500) return { ok: false, outcome: 'server_error', status, message };
  switch (cause.kind) {
    case 'context_overflow':
      return { ok: false, outcome: 'context_overflow', status, message, cause };
    case 'no_model_loaded':
    case 'model_not_found':
      return { ok: false, outcome: 'model_unavailable', status, message, cause };
    case 'other':
      return { ok: false, outcome: 'client_error', status, message };
  }
}

function statusInfo(attempts: number, status: number | undefined): LlmErrorInfo {
  return status === undefined ? { attempts } : { attempts, status };
}

function finalError(
  outcome: Exclude<AttemptOutcome, 'ok' | 'aborted'>,
  message: string,
  attempts: number,
  status: number | undefined,
): LlmError {
  const info = statusInfo(attempts, status);
  switch (outcome) {
    case 'timeout':
      return new LlmError('timeout', message, info);
    case 'network_error':
      return new LlmError('unreachable', message, info);
    case 'client_error':
      return new LlmError('rejected', message, info);
    case 'bad_response':
      return new LlmError('bad_response', message, info);
    case 'context_overflow':
      return new LlmError('context_overflow', message, info);
    case 'model_unavailable':
      return new LlmError('model_unavailable', message, info);
    case 'rate_limited':
    case 'server_error':
      return new LlmError('server_error', message, info);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`;
  }
  return String(error);
}
