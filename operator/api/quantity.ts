/**
 * Kubernetes resource quantities (`500m`, `1`, `512Mi`, `1.5G`, `1e3`), parsed the way
 * k8s.io/apimachinery's resource.Quantity does, to the precision the operator needs:
 * comparing requests with limits and scaling a memory limit. The API server checks the
 * same grammar with CEL's `isQuantity()`; this module mirrors it for defense in depth.
 * Parsing itself is the runtime's exact resource.Quantity parser.
 */
import { parseNanoQuantity } from '../runtime/quantity.js';

/** A quantity as it appears in a spec: YAML `cpu: 1` arrives as a number. */
export type Quantity = string | number;

const NANO = 1e9;

/** The quantity's value in base units (cores, bytes), or undefined if it does not parse. */
export function quantityValue(value: Quantity): number | undefined {
  const nano = parseNanoQuantity(value);
  return nano === undefined ? undefined : Number(nano) / NANO;
}

export function isQuantity(value: Quantity): boolean {
  return quantityValue(value) !== undefined;
}

/** Same contract as CEL's `quantity(a).compareTo(quantity(b))`; undefined if either does not parse. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 | undefined {
  // Exact (nano-unit integers): 1Gi and 1073741824 are equal, not merely close.
  const x = parseNanoQuantity(a);
  const y = parseNanoQuantity(b);
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
  const currentBytes = quantityValue(current);
  const maxBytes = quantityValue(max);
  if (currentBytes === undefined)
    throw new Error(`memory limit ${String(current)} is not a quantity`);
  if (maxBytes === undefined) throw new Error(`maxMemory ${String(max)} is not a quantity`);
  const scaledMebibytes = Math.ceil((currentBytes * factor) / MEBIBYTE);
  if (scaledMebibytes * MEBIBYTE >= maxBytes) return String(max);
  return `${scaledMebibytes}Mi`;
}
