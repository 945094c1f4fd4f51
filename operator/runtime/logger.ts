/**
 * The logging surface the runtime needs. pino's Logger satisfies it structurally; injecting
 * the interface (not pino itself) keeps the runtime usable with any structured logger.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface RuntimeLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): RuntimeLogger;
}

const noop: LogFn = () => undefined;

/** Discards everything; the default when no logger is injected. */
export const silentLogger: RuntimeLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** An error as a log field pino serializes well (message, type, cause chain). */
export function errorFields(err: unknown): { err: Error } | { error: string } {
  return err instanceof Error ? { err } : { error: String(err) };
}
