import { describe, expect, it } from 'vitest';
import { parseNanoQuantity, quantitiesEqual } from './quantity.js';

const nano = 1_000_000_000n;

describe('parseNanoQuantity', () => {
  it.each<[string | number, bigint]>([
    ['1', nano],
    ['0', 0n],
    ['500m', nano / 2n],
    ['0.5', nano / 2n],
    ['.5', nano / 2n],
    ['1.', nano],
    ['100n', 100n],
    ['1u', 1000n],
    ['1k', 1000n * nano],
    ['1M', 1_000_000n * nano],
    ['2G', 2_000_000_000n * nano],
    ['1T', 10n ** 12n * nano],
    ['1P', 10n ** 15n * nano],
    ['1E', 10n ** 18n * nano],
    ['1Ki', 1024n * nano],
    ['1Mi', 1024n ** 2n * nano],
    ['1Gi', 1024n ** 3n * nano],
    ['1.5Gi', 1536n * 1024n ** 2n * nano],
    ['1Ti', 1024n ** 4n * nano],
    ['1Pi', 1024n ** 5n * nano],
    ['1Ei', 1024n ** 6n * nano],
    ['1e3', 1000n * nano],
    ['1E3', 1000n * nano],
    ['1e-3', nano / 1000n],
    ['+2', 2n * nano],
    ['-2', -2n * nano],
    [3, 3n * nano],
    [0.25, nano / 4n],
    ['0.1n', 1n], // finer than a nano-unit rounds up, as the API server does
  ])('%s', (input, expected) => {
    expect(parseNanoQuantity(input)).toBe(expected);
  });

  it.each(['', 'abc', '1Gb', '1 Gi', 'Gi', '1.2.3', '--1', '1e', '1Ki5', '1e999999'])(
    'rejects %j',
    (input) => {
      expect(parseNanoQuantity(input)).toBeUndefined();
    },
  );

  it('rejects non-finite numbers', () => {
    expect(parseNanoQuantity(Number.NaN)).toBeUndefined();
    expect(parseNanoQuantity(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('quantitiesEqual', () => {
  it('compares values, not spellings', () => {
    expect(quantitiesEqual('1000m', '1')).toBe(true);
    expect(quantitiesEqual('1Gi', '1073741824')).toBe(true);
    expect(quantitiesEqual('2Gi', '2048Mi')).toBe(true);
    expect(quantitiesEqual('1G', '1Gi')).toBe(false);
    expect(quantitiesEqual('x', 'x')).toBe(false);
  });
});
