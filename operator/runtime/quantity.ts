/**
 * resource.Quantity parsing, exactly: the API server canonicalizes quantities ("1000m" → "1",
 * "1073741824" → "1Gi", "0.5" → "500m"), so comparing desired to live state must compare
 * values, not strings. Values are exact BigInts in nano-units (Kubernetes' finest precision).
 */

const QUANTITY =
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]))?$/;

const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_POWER: Record<string, bigint> = {
  Ki: 10n,
  Mi: 20n,
  Gi: 30n,
  Ti: 40n,
  Pi: 50n,
  Ei: 60n,
};

/** Exponents beyond this are not real quantities and would make giant BigInts. */
const MAX_EXPONENT = 64;

/**
 * Parses a Quantity ("500m", "1.5Gi", "1e3", 2) to nano-units; undefined if it is not one.
 * Like the API server, fractions finer than a nano-unit round up.
 */
export function parseNanoQuantity(value: string | number): bigint | undefined {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, sign, number = '', exponentSuffix, binarySuffix, decimalSuffix] = match;
  const [intPart = '', fracPart = ''] = number.split('.');
  const mantissa = BigInt(`${intPart}${fracPart}` || '0');
  let exponent = 9 - fracPart.length;
  if (exponentSuffix) exponent += Number(exponentSuffix.slice(1));
  if (decimalSuffix) exponent += DECIMAL_EXPONENT[decimalSuffix] ?? 0;
  if (Math.abs(exponent) > MAX_EXPONENT + 9) return undefined;
  let nano = binarySuffix ? mantissa << (BINARY_POWER[binarySuffix] ?? 0n) : mantissa;
  if (exponent >= 0) {
    nano *= 10n ** BigInt(exponent);
  } else {
    const divisor = 10n ** BigInt(-exponent);
    nano = (nano + divisor - 1n) / divisor;
  }
  return sign === '-' ? -nano : nano;
}

/** True when both parse as quantities of the same value. */
export function quantitiesEqual(a: string | number, b: string | number): boolean {
  const left = parseNanoQuantity(a);
  return left !== undefined && left === parseNanoQuantity(b);
}
