/**
 * The resilience primitives of the LM Studio client, pure or nearly: cancellation of a
 * request's LLM calls, the circuit breaker (a state machine with an injected clock), and
 * the retry policy (exponential backoff with jitter; which outcomes are retried; Retry-After).
 */
import { EventEmitter } from 'node:events';

export type CircuitState = 'closed' | 'open' | 'half_open';

export type AttemptOutcome =
  | 'ok'
  | 'timeout'
  | 'network_error'
  | 'rate_limited'
  | 'server_error'
  | 'client_error'
  | 'bad_response'
  /** The prompt did not fit the model's context (a 400, or an error body with 200). */
  | 'context_overflow'
  /** No model loaded, or the model is unknown: LM Studio is up but cannot serve it. */
  | 'model_unavailable'
  | 'aborted';

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

  /** LM Studio cannot be reached at all (a health probe found it so): fail fast from now on. */
  trip(): void {
    this.#trialInFlight = false;
    if (this.#state === 'open') return;
    this.#open();
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

/** Which failed attempts are worth another try (docs/api.md: network errors, 429 and 5xx). */
export function isRetryable(outcome: AttemptOutcome): boolean {
  return (
    outcome === 'timeout' ||
    outcome === 'network_error' ||
    outcome === 'rate_limited' ||
    outcome === 'server_error'
  );
}

/** Whether a failed attempt counts against LM Studio's health in the breaker. */
export function isBackendFailure(outcome: AttemptOutcome): boolean {
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
