/**
 * Logs are an interface (docs/api.md#logs): the runbook greps them. One JSON object per
 * line, `level` is DEBUG/INFO/WARNING/ERROR/CRITICAL, `msg` is the last key, and
 * every summary request writes exactly one line ending in `completed in <n>ms`, so
 * `awk '{print $NF}'` yields `<n>ms"}` and awk's numeric conversion reads `<n>`.
 *
 * Rules the helpers below keep, so the three runbook pipelines stay correct:
 * - only POST summary requests log "completed in" or "POST /api/v1/summary";
 * - no line below ERROR contains the word ERROR (error codes such as
 *   VALIDATION_ERROR go to the client, not into WARNING lines);
 * - the user's text is never logged, at any level.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;
export type LogDestination = pino.DestinationStream;

/** pino's level names → the labels docs/api.md#logs fixes. */
const LEVEL_LABELS: Readonly<Record<string, string>> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LoggerOptions {
  debug: boolean;
  /** Where lines go; stdout by default (see below). */
  destination?: LogDestination;
}

/**
 * stdout, written synchronously but in batches: lines are gathered up to 4 KiB
 * and written at the latest every 100 ms, which saves a write(2) per request
 * under load. Nothing is lost on a normal exit, process.exit or a crash that
 * reaches our handlers (main.ts flushes on 'exit'); only a SIGKILL can drop the
 * last 100 ms.
 */
function batchedStdout(): LogDestination {
  return pino.destination({ dest: 1, sync: true, minLength: 4096, periodicFlush: 100 });
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? batchedStdout();
  return pino(
    {
      level: options.debug ? 'debug' : 'info',
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: LEVEL_LABELS[label] ?? label.toUpperCase() }),
      },
    },
    destination,
  );
}

export interface SummaryRequestLog {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestId: string;
  /** Extra fields (completed in place with request_id, status and duration_ms); never the user's text. */
  fields?: Record<string, unknown>;
}

/**
 * The one line per summary request. 2xx → INFO, 4xx (bad input, load shedding,
 * client gone) → WARNING, 5xx (LM Studio or summary failure) → ERROR.
 */
export function logSummaryRequest(logger: Logger, entry: SummaryRequestLog): void {
  const ms = Math.round(entry.durationMs);
  const line = entry.fields ?? {};
  line.request_id = entry.requestId;
  line.status = entry.status;
  line.duration_ms = ms;
  const msg = `${entry.method} ${entry.path} ${entry.status} completed in ${ms}ms`;
  if (entry.status >= 500) logger.error(line, msg);
  else if (entry.status >= 400) logger.warn(line, msg);
  else logger.info(line, msg);
}
