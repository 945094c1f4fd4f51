/**
 * Building blocks for the SummarizerService zod schemas. Each CEL rule the API server runs
 * (carried as `x-kubernetes-validations` metadata) is paired with a TypeScript predicate
 * that zod runs in `parseSummarizerService`, so both layers refuse the same values.
 */
import { z } from 'zod';
import { compareQuantities, isQuantity, type Quantity, quantityValue } from './quantity.js';

/** One entry of `x-kubernetes-validations` (apiextensions.k8s.io/v1 ValidationRule). */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Relative JSON path (`.minReplicas`) the error is reported at. */
  fieldPath?: string;
  reason?:
    | 'FieldValueInvalid'
    | 'FieldValueForbidden'
    | 'FieldValueRequired'
    | 'FieldValueDuplicate';
}

/** A CEL rule and its TypeScript twin; `check` returns true when the value is acceptable. */
export interface PairedRule<T> {
  cel: CelRule;
  check: (value: T) => boolean;
  /** zod issue path, relative to the checked value; mirrors `cel.fieldPath`. */
  path?: (string | number)[];
}

/**
 * Attaches rules to a schema: the CEL side as metadata for the CRD generator, the
 * TypeScript side as a zod refinement for `parseSummarizerService`.
 */
export function withRules<S extends z.ZodType>(
  schema: S,
  description: string,
  rules: PairedRule<z.output<S>>[],
): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (!rule.check(value)) {
        ctx.addIssue({
          code: 'custom',
          path: rule.path ?? [],
          message: rule.cel.message ?? rule.cel.rule,
        });
      }
    }
  });
  return refined.meta({ description, 'x-kubernetes-validations': rules.map((r) => r.cel) }) as S;
}

/** RFC 1123 subdomain (Secret, ConfigMap and host names), without a trailing dot. */
export const DNS1123_SUBDOMAIN_RE =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** RFC 1035 label (Service names): starts with a letter, at most 63 characters. */
export const DNS1035_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN_RE.test(value);
}
export function isDns1035Label(value: string): boolean {
  return value.length <= 63 && DNS1035_LABEL_RE.test(value);
}

/** The longest quantity string accepted; bounds CEL cost and is far beyond any real value. */
export const QUANTITY_MAX_LENGTH = 64;

/**
 * A non-negative resource quantity: int-or-string, so `cpu: 1` and `cpu: 500m` both work,
 * as in corev1 ResourceRequirements.
 */
export function quantity(field: string, description: string) {
  const base = z
    .union([z.int().min(0), z.string().min(1).max(QUANTITY_MAX_LENGTH)])
    .meta({ 'x-kubernetes-int-or-string': true });
  return withRules(base, description, [
    {
      cel: {
        // Not `quantity(self).sign()`: kube-apiserver declares sign as a global function,
        // unlike its documentation; isLessThan works on every version with the library.
        rule: "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
        message: `${field} must be a non-negative quantity such as 500m, 1, 512Mi or 2Gi`,
      },
      check: (v: Quantity) => (quantityValue(v) ?? -1) >= 0,
    },
  ]);
}

/**
 * `requests.<resource> <= limits.<resource>` where both are set; a value that is not a
 * quantity is reported by its own rule, so this one stays silent about it.
 */
export function requestWithinLimit(resource: 'cpu' | 'memory'): PairedRule<{
  requests?: Record<string, Quantity | undefined>;
  limits?: Record<string, Quantity | undefined>;
}> {
  const req = `string(self.requests.${resource})`;
  const lim = `string(self.limits.${resource})`;
  return {
    cel: {
      rule:
        `!has(self.requests) || !has(self.limits) || !has(self.requests.${resource}) || ` +
        `!has(self.limits.${resource}) || !isQuantity(${req}) || !isQuantity(${lim}) || ` +
        `quantity(${req}).compareTo(quantity(${lim})) <= 0`,
      message: `requests.${resource} must be less than or equal to limits.${resource}`,
      fieldPath: `.requests.${resource}`,
    },
    check: (r) => {
      const request = r.requests?.[resource];
      const limit = r.limits?.[resource];
      if (request === undefined || limit === undefined) return true;
      if (!isQuantity(request) || !isQuantity(limit)) return true;
      return (compareQuantities(request, limit) ?? 0) <= 0;
    },
    path: ['requests', resource],
  };
}

/** A Kubernetes object name reference (Secret): RFC 1123 subdomain. */
export function objectName(field: string, description: string) {
  return withRules(z.string().min(1).max(253), description, [
    {
      cel: {
        rule: '!format.dns1123Subdomain().validate(self).hasValue()',
        message: `${field} must be a valid object name (RFC 1123 subdomain)`,
      },
      check: isDns1123Subdomain,
    },
  ]);
}

export const MAX_MAP_ENTRIES = 64;

/** A port number with a default. */
export function port(description: string, fallback: number) {
  return z.int().min(1).max(65535).default(fallback).meta({ description });
}

/** Label values: at most 63 characters, alphanumeric at both ends, as upstream. */
export const labelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);

/** An optional string→string map, bounded (CEL cost, and the API server's object size). */
export function stringMap(description: string, value: z.ZodString = z.string().max(4096)) {
  return z
    .record(z.string(), value)
    .refine(
      (m) => Object.keys(m).length <= MAX_MAP_ENTRIES,
      `must have at most ${MAX_MAP_ENTRIES} entries`,
    )
    .optional()
    .meta({ description, maxProperties: MAX_MAP_ENTRIES } as Record<string, unknown>);
}
