/**
 * One HTTP exchange with LM Studio, over a keep-alive undici Pool: a per-attempt
 * timeout, and the answer sorted into an Attempt (the decoded value, or how it
 * failed); it never throws. Retries, the circuit breaker and what a failure
 * means to the caller are lmstudio.ts's business.
 */
import { Pool } from 'undici';
import { classifyError, type ErrorCause, readErrorBody } from './lmstudio-errors.js';
import { type AttemptOutcome, Cancellation, parseRetryAfter } from './resilience.js';

export type Failure = {
  ok: false;
  outcome: Exclude<AttemptOutcome, 'ok'>;
  message: string;
  status?: number;
  retryAfterMs?: number;
  cause?: ErrorCause;
};
export type Attempt<T> = { ok: true; value: T } | Failure;

export type Operation = 'chat' | 'models';

export interface TransportOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** Upper bound of pooled keep-alive connections to LM Studio. */
  connections?: number | undefined;
  observer?:
    | { onAttempt(operation: Operation, outcome: AttemptOutcome, seconds: number): void }
    | undefined;
}

/** undici's own timers (about 1 s resolution) only back ours up. */
const BACKSTOP_MS = 2000;

export class LmStudioTransport {
  /** The OpenAI-compatible API's path: the base URL's, without a trailing slash. */
  readonly apiPrefix: string;
  /** Where LM Studio's native API lives: the base URL without its trailing /v1. */
  readonly nativePrefix: string;
  readonly #options: TransportOptions;
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;

  constructor(options: TransportOptions) {
    this.#options = options;
    const url = new URL(options.baseUrl);
    this.apiPrefix = url.pathname.replace(/\/+$/, '');
    this.nativePrefix = this.apiPrefix.replace(/\/v1$/, '');
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 256,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
    });
    this.#headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey) this.#headers.authorization = `Bearer ${options.apiKey}`;
  }

  /** One HTTP exchange with its own timeout; never throws. */
  async attempt<T>(
    operation: Operation,
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

  /** Waits for in-flight calls, then closes pooled connections. */
  async close(): Promise<void> {
    await this.#pool.close();
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
function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`;
  }
  return String(error);
}
