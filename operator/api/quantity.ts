/**
 * Kubernetes resource quantities (`500m`, `1`, `512Mi`, `1.5G`, `1e3`), parsed the way
 * k8s.io/apimachinery's resource.Quantity does, to the precision the operator needs:
 * comparing requests with limits and scaling a memory limit. The API server checks the
 * same grammar with CEL's `isQuantity()`; this module mirrors it for defense in depth.
 */

/** A quantity as it appears in a spec: YAML `cpu: 1` arrives as a number. */
export type Quantity = string | number;

// <sign><number><suffix>; an exponent suffix must be tried before the decimal `E` (exa).
const QUANTITY_RE =
  /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?$/;

const MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity's value in base units (cores, bytes), or undefined if it does not parse. */
export function parseQuantity(value: Quantity): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const match = QUANTITY_RE.exec(value);
  if (!match) return undefined;
  const [, sign = '', digits = '', suffix = ''] = match;
  const magnitude = Number(digits);
  let multiplier: number;
  const isExponent = suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E');
  if (isExponent) {
    multiplier = 10 ** Number(suffix.slice(1));
  } else {
    const m = MULTIPLIERS[suffix];
    if (m === undefined) return undefined;
    multiplier = m;
  }
  const result = magnitude * multiplier;
  return sign === '-' ? -result : result;
}

export function isQuantity(value: Quantity): boolean {
  return parseQuantity(value) !== undefined;
}

/** Same contract as CEL's `quantity(a).compareTo(quantity(b))`; undefined if either does not parse. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 | undefined {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

const MEBIBYTE = 2 ** 20;

/**
 * A memory limit raised by `factor` and capped at `max`, rounded up to whole mebibytes so
 * the result reads like something a person would write (`1536Mi`, not `1610612736`).
 * Returns `max` as written when the cap applies, so status shows the user's own value.
 * Throws when an argument is not a quantity: callers pass values the CRD already validated.
 */
export function scaleMemoryLimit(current: Quantity, factor: number, max: Quantity): string {
  const currentBytes = parseQuantity(current);
  const maxBytes = parseQuantity(max);
  if (currentBytes === undefined)
    throw new Error(`memory limit ${String(current)} is not a quantity`);
  if (maxBytes === undefined) throw new Error(`maxMemory ${String(max)} is not a quantity`);
  const scaledMebibytes = Math.ceil((currentBytes * factor) / MEBIBYTE);
  if (scaledMebibytes * MEBIBYTE >= maxBytes) return String(max);
  return `${scaledMebibytes}Mi`;
}
