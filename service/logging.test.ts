import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logSummaryRequest } from './logging.js';

function capture(debug = false) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger({ debug, destination }), lines };
}

describe('logging', () => {
  it('labels levels DEBUG/INFO/WARNING/ERROR/CRITICAL and puts msg last', () => {
    const { logger, lines } = capture(true);
    logger.debug({ a: 1 }, 'd');
    logger.info({ b: 2 }, 'i');
    logger.warn({ c: 3 }, 'w');
    logger.error({ err: new Error('x') }, 'e');
    logger.fatal({ variable: 'PORT' }, 'f');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((p) => p.level)).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']);
    for (const entry of parsed) expect(Object.keys(entry).at(-1)).toBe('msg');
  });

  it('hides DEBUG unless debug is on', () => {
    const { logger, lines } = capture(false);
    logger.debug('hidden');
    logger.info('shown');
    expect(lines).toHaveLength(1);
  });

  it('the summary line ends with the duration, and its level follows the status', () => {
    const { logger, lines } = capture();
    const base = { method: 'POST', path: '/api/v1/summary/', requestId: 'r' };
    logSummaryRequest(logger, { ...base, status: 200, durationMs: 123.4 });
    logSummaryRequest(logger, {
      ...base,
      status: 422,
      durationMs: 2.6,
      fields: { invalid_fields: ['text'] },
    });
    logSummaryRequest(logger, { ...base, status: 502, durationMs: 40 });
    expect(lines[0]).toMatch(/"msg":"POST \/api\/v1\/summary\/ 200 completed in 123ms"}$/);
    expect(lines.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual([
      'INFO',
      'WARNING',
      'ERROR',
    ]);
    expect(lines[1]).toMatch(/ 422 completed in 3ms"}$/);
  });
});
