import { describe, expect, it } from 'vitest';
import { retryOnConflict } from './conflict.js';
import { apiErrorFrom, ConflictError, NotFoundError } from './errors.js';

const conflict = () =>
  apiErrorFrom(409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'modified' });
const retry = { steps: 3, backoff: { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 } };

describe('retryOnConflict', () => {
  it('runs the attempt again after a 409, with its number', async () => {
    const seen: number[] = [];
    const result = await retryOnConflict(async (n) => {
      seen.push(n);
      if (n < 2) throw conflict();
      return 'written';
    }, retry);
    expect(result).toBe('written');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('gives the last 409 to the caller after the last step', async () => {
    let attempts = 0;
    const err = await retryOnConflict(async () => {
      attempts++;
      throw conflict();
    }, retry).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(attempts).toBe(3);
  });

  it('never retries anything else', async () => {
    let attempts = 0;
    const err = await retryOnConflict(async () => {
      attempts++;
      throw apiErrorFrom(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    }, retry).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(attempts).toBe(1);
  });
});
