import { describe, expect, it } from 'vitest';
import { compareQuantities, isQuantity, quantityValue, scaleMemoryLimit } from './quantity.js';

describe('quantityValue', () => {
  it.each([
    ['500m', 0.5],
    ['1', 1],
    [2, 2],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['1E', 1e18],
    ['+1k', 1000],
    ['-1', -1],
    ['100n', 100e-9],
  ])('%s → %d', (input, expected) => {
    expect(quantityValue(input)).toBeCloseTo(expected);
  });

  it.each(['', 'Mi', 'Three', '1,5G', '200K', '1 Gi', '1gi', '1.2.3', 'e3'])(
    'refuses %j',
    (input) => {
      expect(isQuantity(input)).toBe(false);
    },
  );
});

describe('compareQuantities', () => {
  it('compares across units', () => {
    expect(compareQuantities('500m', 1)).toBe(-1);
    expect(compareQuantities('1024Mi', '1Gi')).toBe(0);
    expect(compareQuantities('2Gi', '2G')).toBe(1);
    expect(compareQuantities('x', '1')).toBeUndefined();
  });
});

describe('scaleMemoryLimit', () => {
  it('multiplies and rounds up to whole mebibytes', () => {
    expect(scaleMemoryLimit('1Gi', 1.5, '4Gi')).toBe('1536Mi');
    expect(scaleMemoryLimit('1000M', 1.5, '4Gi')).toBe('1431Mi');
  });
  it('stops at maxMemory, returned as written', () => {
    expect(scaleMemoryLimit('1Gi', 1.5, '1500Mi')).toBe('1500Mi');
    expect(scaleMemoryLimit('1536Mi', 1.5, '2Gi')).toBe('2Gi');
  });
  it('refuses values that are not quantities', () => {
    expect(() => scaleMemoryLimit('lots', 2, '4Gi')).toThrow(/not a quantity/);
  });
});
