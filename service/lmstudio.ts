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
import { Pool } from 'undici';
import { z } from 'zod';
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

export { type AttemptOutcome, Cancellation, type CircuitState };

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
