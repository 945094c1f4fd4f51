/**
 * The SummarizerService resource as a whole: identity (group/version/kind), the root
 * schema, its TypeScript types, and `parseSummarizerService`, which applies the defaults
 * and checks the API server applies, so the reconciler never works on a half-defaulted
 * object (e.g. one written before a CRD upgrade added a field).
 */
import { z } from 'zod';
import type { ResourceDescriptor } from '../runtime/resource.js';
import { type CelRule, isDns1035Label } from './schema-helpers.js';
import { SpecSchema } from './spec.js';
import { StatusSchema } from './status.js';

export const GROUP = 'llmplan.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'SummarizerService';
export const PLURAL = 'summarizerservices';
export const SINGULAR = 'summarizerservice';
export const SHORT_NAMES = ['sumsvc'] as const;
export const CATEGORIES = ['llmplan'] as const;

/** The REST descriptor every client of the API (operator, llmplanctl, tests) addresses it by. */
export const summarizerServices: ResourceDescriptor = {
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: KIND,
  namespaced: true,
};

/**
 * Rules on the whole object (the only place CEL can see metadata.name). The name becomes
 * the name of a Service and a label value, so it must be a DNS-1035 label.
 */
export const ROOT_RULES: readonly CelRule[] = [
  {
    rule: '!format.dns1035Label().validate(self.metadata.name).hasValue()',
    message:
      'metadata.name must be a DNS-1035 label (at most 63 lowercase letters, digits and -, starting with a letter): it names the Service',
  },
  {
    rule: '!has(self.spec) || !has(self.spec.lmstudio) || !has(self.spec.lmstudio.serviceName) || self.spec.lmstudio.serviceName != self.metadata.name',
    message:
      'spec.lmstudio.serviceName must differ from metadata.name: the Service <name> serves the summarizer',
    fieldPath: '.spec.lmstudio.serviceName',
  },
];

const MetadataSchema = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const SummarizerServiceSchema = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    metadata: MetadataSchema,
    spec: SpecSchema,
    status: StatusSchema.optional(),
  })
  .superRefine((obj, ctx) => {
    if (!isDns1035Label(obj.metadata.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'name'],
        message: ROOT_RULES[0]!.message!,
      });
    }
    if (obj.spec.lmstudio.serviceName === obj.metadata.name) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'lmstudio', 'serviceName'],
        message: ROOT_RULES[1]!.message!,
      });
    }
  });

/** A SummarizerService with every default applied. */
export type SummarizerService = z.output<typeof SummarizerServiceSchema>;
/** A SummarizerService as written by a user (defaults may be missing). */
export type SummarizerServiceInput = z.input<typeof SummarizerServiceSchema>;

/** Thrown by parseSummarizerService; `issues` name the fields, e.g. `spec.replicas: ...`. */
export class SummarizerServiceValidationError extends Error {
  constructor(
    readonly objectName: string,
    readonly issues: readonly string[],
  ) {
    super(`SummarizerService ${objectName} is invalid: ${issues.join('; ')}`);
    this.name = 'SummarizerServiceValidationError';
  }
}

/**
 * The API server prunes null values of non-nullable fields before defaulting
 * (`replicas: null` means "use the default"); do the same.
 */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== null) out[key] = dropNulls(inner);
    }
    return out;
  }
  return value;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${path.replace(/^\./, '') || '<root>'}: ${issue.message}`;
}

export type ParseResult =
  | { success: true; data: SummarizerService }
  | { success: false; error: SummarizerServiceValidationError };

export function safeParseSummarizerService(obj: unknown): ParseResult {
  const result = SummarizerServiceSchema.safeParse(dropNulls(obj));
  if (result.success) return { success: true, data: result.data };
  const name = nameOf(obj);
  return {
    success: false,
    error: new SummarizerServiceValidationError(name, result.error.issues.map(formatIssue)),
  };
}

/** Applies the CRD's defaults and checks; throws SummarizerServiceValidationError. */
export function parseSummarizerService(obj: unknown): SummarizerService {
  const result = safeParseSummarizerService(obj);
  if (!result.success) throw result.error;
  return result.data;
}

function nameOf(obj: unknown): string {
  if (obj !== null && typeof obj === 'object' && 'metadata' in obj) {
    const metadata = (obj as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
    if (typeof metadata?.name === 'string') {
      return typeof metadata.namespace === 'string'
        ? `${metadata.namespace}/${metadata.name}`
        : metadata.name;
    }
  }
  return '<unnamed>';
}
