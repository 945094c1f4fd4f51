/**
 * A round of work every interval until the signal aborts, never two at once: the next round
 * starts `intervalMs` after the previous one started (or at once, if it took longer — said
 * in the log). A round that throws is logged; the next one runs anyway.
 */
import { sleep } from './backoff.js';
import { errorFields, type RuntimeLogger } from './logger.js';

export async function runEvery(
  name: string,
  intervalMs: number,
  signal: AbortSignal,
  round: () => Promise<void>,
  logger: RuntimeLogger,
): Promise<void> {
  while (!signal.aborted) {
    const started = Date.now();
    try {
      await round();
    } catch (error) {
      logger.error({ ...errorFields(error), round: name }, 'periodic round failed');
    }
    const took = Date.now() - started;
    if (took > intervalMs)
      logger.warn({ round: name, tookMs: took }, 'round took longer than its interval');
    await sleep(Math.max(0, intervalMs - took), signal);
  }
}
