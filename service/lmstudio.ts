/**
 * The LM Studio client (SPEC §1.2): an OpenAI-compatible chat-completions call
 * over a keep-alive undici Pool, with a per-attempt timeout, retries with
 * exponential backoff and jitter (network errors, timeouts, 429 and 5xx only —
 * never another 4xx), a circuit breaker that fails fast while LM Studio is down,
 * and a cached, single-flight health probe on `GET /v1/models`.
 *
 * It knows nothing of HTTP routes or Prometheus: the app maps LlmError kinds to
 * status codes, and metrics come in through the LmStudioObserver hooks.
 */
import { EventEmitter } from 'node:events';
import { Pool } from 'undici';
import { z } from 'zod';
import type { Logger } from './logging.js';

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

/**
 * Cancels LM Studio calls when the client has gone away. An EventEmitter rather
 * than an AbortController: one is made for every request, EventTarget costs
 * several times more, and undici accepts either as a request's signal.
 */
export class Cancellation extends EventEmitter {
  aborted = false;

  constructor() {
    super();
    this.setMaxListeners(0); // one listener per concurrent LLM call of the request
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }

  /** A cancellation that also fires when this one does. */
  child(): { cancellation: Cancellation; unlink: () => void } {
    const cancellation = new Cancellation();
    const forward = () => cancellation.abort();
    if (this.aborted) cancellation.abort();
    else this.once('abort', forward);
    return { cancellation, unlink: () => this.off('abort', forward) };
  }
}

/** Waits `ms`; resolves false early if cancelled. */
export function delay(ms: number, cancellation?: Cancellation): Promise<boolean> {
  return new Promise((resolve) => {
    if (cancellation?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      cancellation?.off('abort', onAbort);
      resolve(true);
    }, ms);
    cancellation?.once('abort', onAbort);
  });
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

export type CircuitState = 'closed' | 'open' | 'half_open';

export type AttemptOutcome =
  | 'ok'
  | 'timeout'
  | 'network_error'
  | 'rate_limited'
  | 'server_error'
  | 'client_error'
  | 'bad_response'
  | 'aborted';

export interface LmStudioObserver {
  onAttempt(operation: 'chat' | 'models', outcome: AttemptOutcome, seconds: number): void;
  onRetry(reason: AttemptOutcome): void;
  onCircuitChange(state: CircuitState): void;
  onProbe(healthy: boolean): void;
}

/**
 * Why a chat call failed, after retries. app.ts maps: timeout → 504,
 * unreachable and circuit_open → 503, rejected/server_error/bad_response → 502.
 */
export type LlmErrorKind =
  | 'timeout'
  | 'unreachable'
  | 'circuit_open'
  | 'rejected'
  | 'server_error'
  | 'bad_response'
  | 'aborted';

export class LlmError extends Error {
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly info: { status?: number; attempts?: number; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

// ---------------------------------------------------------------------------
// Circuit breaker: pure state machine, clock injected.

export interface BreakerOptions {
  /** Consecutive failed attempts that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  resetMs: number;
  now?: () => number;
  onChange?: (state: CircuitState) => void;
}

export type Admission = { allowed: true } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #options: BreakerOptions;
  readonly #now: () => number;

  constructor(options: BreakerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Asks to make one attempt. While open, refuses until resetMs has passed, then lets one trial through. */
  admit(): Admission {
    if (this.#state === 'closed') return { allowed: true };
    if (this.#state === 'open') {
      const waited = this.#now() - this.#openedAt;
      if (waited < this.#options.resetMs) {
        return { allowed: false, retryAfterMs: this.#options.resetMs - waited };
      }
      this.#transition('half_open');
    }
    if (this.#trialInFlight) return { allowed: false, retryAfterMs: this.#options.resetMs };
    this.#trialInFlight = true;
    return { allowed: true };
  }

  /** LM Studio answered (any answer that proves it is up, including a 4xx). */
  success(): void {
    this.#trialInFlight = false;
    this.#failures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  /** A network error, timeout or 5xx. */
  failure(): void {
    if (this.#state === 'half_open') {
      this.#trialInFlight = false;
      this.#open();
    } else if (this.#state === 'closed') {
      this.#failures += 1;
      if (this.#failures >= this.#options.failureThreshold) this.#open();
    }
  }

  /** The attempt ended without telling anything about LM Studio (the caller went away). */
  release(): void {
    this.#trialInFlight = false;
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#failures = 0;
    this.#transition('open');
  }

  #transition(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onChange?.(state);
  }
}

// ---------------------------------------------------------------------------
// Retry policy: pure.

/**
 * Delay before retry number `retry` (0-based): exponential, capped, with "equal
 * jitter" (half fixed, half random) so delays still grow while clients spread out.
 */
export function backoffMs(
  retry: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(capMs, baseMs * 2 ** retry);
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Which failed attempts are worth another try (SPEC §1.2: network errors, 429 and 5xx). */
export function isRetryable(outcome: AttemptOutcome): boolean {
  return (
    outcome === 'timeout' ||
    outcome === 'network_error' ||
    outcome === 'rate_limited' ||
    outcome === 'server_error'
  );
}

/** Whether a failed attempt counts against LM Studio's health in the breaker. */
function isBackendFailure(outcome: AttemptOutcome): boolean {
  return outcome === 'timeout' || outcome === 'network_error' || outcome === 'server_error';
}

/** `Retry-After` as milliseconds (delta-seconds or HTTP-date), or undefined. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// ---------------------------------------------------------------------------
// The client.

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

const modelsResponseSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

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
  logger: Logger;
  observer?: LmStudioObserver | undefined;
  /** Upper bound of pooled keep-alive connections to LM Studio. */
  connections?: number;
  now?: () => number;
}

type Attempt<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      outcome: Exclude<AttemptOutcome, 'ok'>;
      message: string;
      status?: number;
      retryAfterMs?: number;
    };

const NOT_RESPONDING = 'LMStudio service is not responding';
const PROBE_TIMEOUT_CAP_MS = 5000;
const ERROR_TEXT_LIMIT = 300;
/** undici's own timers (about 1 s resolution) only back ours up. */
const BACKSTOP_MS = 2000;

export class LmStudioClient {
  readonly breaker: CircuitBreaker;
  readonly #options: LmStudioClientOptions;
  readonly #pool: Pool;
  readonly #pathPrefix: string;
  readonly #headers: Record<string, string>;
  readonly #now: () => number;
  #cachedHealth: BackendHealth | undefined;
  #probeInFlight: Promise<BackendHealth> | undefined;

  constructor(options: LmStudioClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const url = new URL(options.baseUrl);
    this.#pathPrefix = url.pathname.replace(/\/+$/, '');
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
        '/chat/completions',
        body,
        cancellation,
        (json) => decodeChatResponse(json, request.model),
      );
      if (result.ok) {
        this.breaker.success();
        return result.value;
      }
      if (result.outcome === 'aborted') {
        this.breaker.release();
        throw new LlmError('aborted', 'the request was cancelled');
      }
      if (isBackendFailure(result.outcome)) this.breaker.failure();
      else this.breaker.success();

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
  };

  /** Cached (healthCacheMs), single-flight probe of `GET /v1/models`. Never a chat completion. */
  async health(): Promise<BackendHealth> {
    const cached = this.#cachedHealth;
    if (cached && this.#now() - cached.checkedAt < this.#options.healthCacheMs) return cached;
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
      '/models',
      undefined,
      undefined,
      (json) => modelsResponseSchema.safeParse(json).data?.data.map((entry) => entry.id),
      Math.min(timeoutMs, PROBE_TIMEOUT_CAP_MS),
    );
    const checkedAt = this.#now();
    let health: BackendHealth;
    if (result.ok) {
      const models = result.value;
      const healthy = models.includes(model);
      health = {
        healthy,
        reachable: true,
        models,
        checkedAt,
        reason: healthy
          ? 'ok'
          : `LMStudio service is up but does not serve the model "${model}" (it serves: ${models.join(', ') || 'nothing'})`,
      };
    } else {
      const unreachable = result.outcome === 'network_error' || result.outcome === 'timeout';
      health = {
        healthy: false,
        reachable: !unreachable,
        models: [],
        checkedAt,
        reason: unreachable ? NOT_RESPONDING : `${NOT_RESPONDING} correctly: ${result.message}`,
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
    timeoutMs: number = this.#options.timeoutMs,
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
        path: this.#pathPrefix + path,
        headers: this.#headers,
        body,
        signal: attempt,
        headersTimeout: timeoutMs + BACKSTOP_MS,
        bodyTimeout: timeoutMs + BACKSTOP_MS,
      });
      const text = await response.body.text();
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          return {
            ok: false,
            outcome: 'bad_response',
            status,
            message: 'LM Studio sent invalid JSON',
          };
        }
        const value = decode(json);
        return value === undefined
          ? {
              ok: false,
              outcome: 'bad_response',
              status,
              message: 'LM Studio sent an unexpected response',
            }
          : { ok: true, value };
      }
      const message = `LM Studio answered HTTP ${status}${describeErrorBody(text)}`;
      if (status === 429) {
        const retryAfter = parseRetryAfter(headerValue(response.headers['retry-after']));
        return retryAfter === undefined
          ? { ok: false, outcome: 'rate_limited', status, message }
          : { ok: false, outcome: 'rate_limited', status, message, retryAfterMs: retryAfter };
      }
      if (status >= 500) return { ok: false, outcome: 'server_error', status, message };
      return { ok: false, outcome: 'client_error', status, message };
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

function finalError(
  outcome: Exclude<AttemptOutcome, 'ok' | 'aborted'>,
  message: string,
  attempts: number,
  status: number | undefined,
): LlmError {
  const info = status === undefined ? { attempts } : { attempts, status };
  switch (outcome) {
    case 'timeout':
      return new LlmError('timeout', message, info);
    case 'network_error':
      return new LlmError('unreachable', message, info);
    case 'client_error':
      return new LlmError('rejected', message, info);
    case 'bad_response':
      return new LlmError('bad_response', message, info);
    case 'rate_limited':
    case 'server_error':
      return new LlmError('server_error', message, info);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** LM Studio's own error message, shortened; OpenAI-style `{error: {message}}` or `{error: "…"}`. */
function describeErrorBody(text: string): string {
  let message = text;
  try {
    const json: unknown = JSON.parse(text);
    const parsed = z
      .object({ error: z.union([z.string(), z.object({ message: z.string() })]) })
      .safeParse(json);
    if (parsed.success) {
      message =
        typeof parsed.data.error === 'string' ? parsed.data.error : parsed.data.error.message;
    }
  } catch {
    // Not JSON: keep the raw text.
  }
  message = message.trim();
  if (message === '') return '';
  return `: ${message.length > ERROR_TEXT_LIMIT ? `${message.slice(0, ERROR_TEXT_LIMIT)}…` : message}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`;
  }
  return String(error);
}
