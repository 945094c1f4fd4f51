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
 *
 * One HTTP exchange is lmstudio-transport.ts's; what the client remembers about
 * the model between calls, lmstudio-model-cache.ts's.
 */
import { ENV_DEFAULTS } from '../contract/env.js';
import { describeCause } from './lmstudio-errors.js';
import { LearnedContext, NativeModelCache } from './lmstudio-model-cache.js';
import {
  type ModelContext,
  modelProblem,
  type NativeModelInfo,
  readModelIds,
  readNativeModel,
  resolveContext,
} from './lmstudio-models.js';
import { type Attempt, type Failure, LmStudioTransport } from './lmstudio-transport.js';
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

const NOT_RESPONDING = 'LMStudio service is not responding';
const PROBE_TIMEOUT_CAP_MS = 5000;
/** While the circuit is not closed, health probes LM Studio at most this often. */
const OPEN_PROBE_INTERVAL_MS = 1000;

export class LmStudioClient {
  readonly breaker: CircuitBreaker;
  readonly #options: LmStudioClientOptions;
  readonly #transport: LmStudioTransport;
  readonly #now: () => number;
  readonly #native: NativeModelCache;
  readonly #learnedContext: LearnedContext;
  #cachedHealth: BackendHealth | undefined;
  #probeInFlight: Promise<BackendHealth> | undefined;
  /** Set while the one call that makes LM Studio load the model is running. */
  #loading: Promise<void> | undefined;

  constructor(options: LmStudioClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#transport = new LmStudioTransport(options);
    this.#native = new NativeModelCache(() => this.#fetchNative(), this.#now);
    this.#learnedContext = new LearnedContext(this.#now);
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breakerFailures,
      resetMs: options.breakerResetMs,
      now: this.#now,
      onChange: (state) => this.#onCircuitChange(state),
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
  ): Promise<ChatResult> {
    const body = chatRequestBody(request);
    const path = `${this.#transport.apiPrefix}/chat/completions`;
    const decode = (json: unknown) => decodeChatResponse(json, request.model);
    const attempts = this.#options.maxRetries + 1;
    for (let attempt = 1; ; attempt += 1) {
      const admission = this.breaker.admit();
      if (!admission.allowed) {
        throw new LlmError('circuit_open', 'LM Studio is failing; the circuit breaker is open', {
          attempts: attempt - 1,
          retryAfterSeconds: Math.max(1, Math.ceil(admission.retryAfterMs / 1000)),
        });
      }
      const result = await this.#transport.attempt(
        'chat',
        'POST',
        path,
        body,
        cancellation,
        decode,
        timeoutMs,
      );
      if (result.ok) {
        this.breaker.success();
        return result.value;
      }
      this.#countFailure(result.outcome);
      const error = this.#giveUpAfter(result, attempt, attempts, request.model);
      if (error) throw error;
      await this.#waitToRetry(result, attempt, attempts, cancellation);
    }
  }

  /** Tells the breaker how a chat attempt failed; a cancelled one counts neither way. */
  #countFailure(outcome: Failure['outcome']): void {
    if (outcome === 'aborted') {
      this.breaker.release();
    } else if (isBackendFailure(outcome)) {
      this.breaker.failure();
      if (this.#cachedHealth?.healthy) this.#cachedHealth = undefined;
    } else {
      this.breaker.success();
    }
  }

  /** The error a failed chat attempt ends the call with; undefined when it is worth retrying. */
  #giveUpAfter(
    result: Failure,
    attempt: number,
    attempts: number,
    model: string,
  ): LlmError | undefined {
    const { logger } = this.#options;
    if (result.outcome === 'aborted') return new LlmError('aborted', 'the request was cancelled');
    if (result.outcome === 'context_overflow') return this.#overflowError(result);
    if (result.outcome === 'model_unavailable') {
      const message = describeCause(
        result.cause ?? { kind: 'other', message: result.message },
        model,
      );
      logger.error({ reason: result.outcome, status: result.status }, message);
      return new LlmError('model_unavailable', message, statusInfo(attempt, result.status));
    }
    if (isRetryable(result.outcome) && attempt < attempts) return undefined;
    logger.error(
      attemptFields(result, attempt, attempts),
      `LM Studio call failed after ${attempt} attempt(s): ${result.message}`,
    );
    return finalError(result.outcome, result.message, attempt, result.status);
  }

  /** Waits out the backoff (or a 429's Retry-After, up to retryMaxMs) before the next attempt. */
  async #waitToRetry(
    result: Failure,
    attempt: number,
    attempts: number,
    cancellation: Cancellation | undefined,
  ): Promise<void> {
    const { retryBaseMs, logger, observer } = this.#options;
    const retryMaxMs = this.#options.retryMaxMs ?? 8000;
    const delayMs = Math.max(
      backoffMs(attempt - 1, retryBaseMs, retryMaxMs),
      Math.min(result.retryAfterMs ?? 0, retryMaxMs),
    );
    observer?.onRetry(result.outcome);
    logger.warn(
      { ...attemptFields(result, attempt, attempts), delay_ms: delayMs },
      `LM Studio call failed (${result.outcome}), retrying in ${delayMs}ms`,
    );
    if (!(await delay(delayMs, cancellation)))
      throw new LlmError('aborted', 'the request was cancelled');
  }

  /** Remembers the context an overflow answer named, for every request after this one. */
  #overflowError(result: Failure): LlmError {
    const cause = result.cause?.kind === 'context_overflow' ? result.cause : undefined;
    const info: LlmErrorInfo = statusInfo(1, result.status);
    if (cause?.contextTokens !== undefined) {
      info.contextTokens = cause.contextTokens;
      this.#learnedContext.remember(cause.contextTokens);
    }
    if (cause?.promptTokens !== undefined) info.promptTokens = cause.promptTokens;
    const message = describeCause(
      cause ?? { kind: 'context_overflow', message: result.message },
      this.#options.model,
    );
    return new LlmError('context_overflow', `LM Studio refused the prompt: ${message}`, info);
  }

  /** The context the chunker must fit (LMSTUDIO_CONTEXT_LENGTH, LM Studio's answer, the fallback). */
  async modelContext(): Promise<ModelContext> {
    const native = await this.#native.get();
    return resolveContext({
      configured: this.#options.contextLength,
      native,
      learned: this.#learnedContext.tokens,
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
      if ((await this.#native.get())?.state !== 'not-loaded') return { timeoutMs };
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
            if (ok) this.#native.markLoaded();
            this.#loading = undefined;
            finished();
          },
        };
      }
      if (!(await loaded(this.#loading, cancellation))) {
        throw new LlmError('aborted', 'the request was cancelled');
      }
    }
  }

  /** LM Studio's `/api/v0/models` entry of the model (see NativeModelCache). */
  async #fetchNative(): Promise<NativeModelInfo | null | undefined> {
    const result = await this.#transport.attempt(
      'models',
      'GET',
      `${this.#transport.nativePrefix}/api/v0/models`,
      undefined,
      undefined,
      (json) => ({ entry: readNativeModel(json, this.#options.model) }),
      Math.min(this.#options.timeoutMs, PROBE_TIMEOUT_CAP_MS),
    );
    return result.ok ? result.value.entry : undefined;
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
    await this.#transport.close();
  }

  async #probe(): Promise<BackendHealth> {
    const { model, timeoutMs, logger, observer } = this.#options;
    const result = await this.#transport.attempt(
      'models',
      'GET',
      `${this.#transport.apiPrefix}/models`,
      undefined,
      undefined,
      readModelIds,
      Math.min(timeoutMs, PROBE_TIMEOUT_CAP_MS),
    );
    const checkedAt = this.#now();
    this.#countProbe(result);
    const health = probedHealth(result, model, this.breaker.state, checkedAt);
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

  /** A probe that reaches LM Studio closes the circuit; one that cannot reach it opens it. */
  #countProbe(result: Attempt<string[]>): void {
    // LM Studio answered: summaries may call it again at once.
    if (result.ok) this.breaker.success();
    else if (result.outcome === 'network_error') this.breaker.trip();
    else if (isBackendFailure(result.outcome)) this.breaker.failure();
    else this.breaker.success();
  }

  #onCircuitChange(state: CircuitState): void {
    const { logger, observer, breakerResetMs } = this.#options;
    // A cached health verdict from before the change would contradict it.
    this.#cachedHealth = undefined;
    observer?.onCircuitChange(state);
    if (state === 'open') {
      logger.error(
        { circuit: state, reset_ms: breakerResetMs },
        `LM Studio circuit opened: calls fail fast for ${breakerResetMs}ms`,
      );
    } else {
      logger.info({ circuit: state }, `LM Studio circuit ${state.replace('_', '-')}`);
    }
  }
}

/** The body of a chat-completions call: the request's fields, no streaming. */
function chatRequestBody(request: ChatRequest): string {
  return JSON.stringify({
    model: request.model,
    messages: request.messages,
    max_tokens: request.max_tokens,
    temperature: request.temperature,
    stream: false,
  });
}

/** Whether the load under way finished (true) or the caller went away first (false). */
function loaded(loading: Promise<void>, cancellation: Cancellation | undefined): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const onAbort = () => resolve(false);
    cancellation?.once('abort', onAbort);
    loading.then(() => {
      cancellation?.off('abort', onAbort);
      resolve(true);
    });
  });
}

/** The health verdict of a `/v1/models` probe, given the circuit as the probe left it. */
function probedHealth(
  result: Attempt<string[]>,
  model: string,
  circuit: CircuitState,
  checkedAt: number,
): BackendHealth {
  if (result.ok) {
    const models = result.value;
    const problem = modelProblem(models, model);
    return {
      healthy: problem === undefined,
      reachable: true,
      models,
      checkedAt,
      reason: problem ?? 'ok',
    };
  }
  const unreachable = result.outcome === 'network_error';
  const open = circuit === 'closed' ? '' : '; the circuit breaker is open: summaries fail fast';
  return {
    healthy: false,
    reachable: !unreachable && result.outcome !== 'timeout',
    models: [],
    checkedAt,
    reason:
      unreachable || result.outcome === 'timeout'
        ? NOT_RESPONDING
        : `${NOT_RESPONDING} correctly: ${result.message}${open}`,
  };
}

/** The log fields of a failed chat attempt. */
function attemptFields(result: Failure, attempt: number, attempts: number) {
  return { attempt, max_attempts: attempts, reason: result.outcome, status: result.status };
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
