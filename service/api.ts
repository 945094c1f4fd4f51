/**
 * The HTTP contract (docs/api.md) as zod schemas. The same schema objects validate
 * requests in app.ts and generate /openapi.json below, so they cannot drift.
 */
import { z } from 'zod';
import { LANGUAGES, LIMITS, SUMMARY_TYPES } from '../contract/env.js';
import { SUMMARY_ROUTE } from '../contract/metric-names.js';
import type { SummaryDefaults } from './config.js';
import { characterCount } from './summarize.js';

export const SUMMARY_PATH = SUMMARY_ROUTE;
export const SUMMARY_PATH_NO_SLASH = '/api/v1/summary';
export const HEALTH_PATH = '/api/v1/summary/health';
export const SERVICE_NAME = 'Text Summarization Service';

/**
 * The largest request body, in bytes (docs/api.md#limits). A text of 50,000 characters is
 * at most 200,000 bytes of UTF-8, but a client may escape every character as JSON allows
 * (Python's json.dumps does by default): 6 bytes per character, 12 for one outside the
 * BMP, 600,000 bytes at most; 640 KiB holds that and the other fields. The limit bounds
 * what a request can make the service read and decode before it is refused.
 */
export const BODY_LIMIT_BYTES = 640 * 1024;

/**
 * How deep arrays and objects may nest in a request body (the body's object is level 1).
 * The API's own fields need 1; unknown fields are ignored, but are checked this far.
 */
export const MAX_JSON_DEPTH = 64;

/** The request body; defaults come from the configuration (DEFAULT_* variables). */
export function summaryRequestSchema(defaults: SummaryDefaults) {
  const { min, max } = LIMITS.textLength;
  return z.object({
    text: z
      .string()
      .trim()
      .superRefine((text, ctx) => {
        // One pass over the text for both bounds; lengths are in characters (code points).
        const length = characterCount(text);
        if (length < min) {
          ctx.addIssue({
            code: 'custom',
            message: `Text must be at least ${min} characters long after trimming`,
          });
        } else if (length > max) {
          ctx.addIssue({
            code: 'custom',
            message: `Text must be at most ${max} characters long after trimming`,
          });
        }
      })
      .meta({
        description: 'The text to summarize; leading and trailing whitespace is trimmed first.',
        minLength: min,
        maxLength: max,
      }),
    summary_type: z.enum(SUMMARY_TYPES).default(defaults.summaryType),
    language: z
      .enum(LANGUAGES)
      .default(defaults.language)
      .meta({ description: 'Language the summary is written in.' }),
    max_tokens: z
      .int()
      .min(LIMITS.maxTokens.min)
      .max(LIMITS.maxTokens.max)
      .default(defaults.maxTokens)
      .meta({ description: 'Upper bound of tokens LM Studio may generate per call.' }),
    temperature: z
      .number()
      .min(LIMITS.temperature.min)
      .max(LIMITS.temperature.max)
      .default(defaults.temperature),
  });
}

export type SummaryRequest = z.output<ReturnType<typeof summaryRequestSchema>>;

export const summaryResponseSchema = z.object({
  id: z.string(),
  original_text: z.string().meta({ description: 'The input text, trimmed.' }),
  summary_text: z.string(),
  created_at: z.iso.datetime(),
  model_name: z.string().meta({ description: 'The model that wrote the summary.' }),
  summary_length: z.int().min(0).meta({ description: 'Characters in summary_text.' }),
  original_length: z.int().min(0).meta({ description: 'Characters in original_text.' }),
  compression_ratio: z
    .number()
    .min(0)
    .meta({ description: 'summary_length / original_length, rounded to 3 decimals.' }),
});

export type SummaryResponse = z.infer<typeof summaryResponseSchema>;

export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'INVALID_JSON',
  'JSON_TOO_DEEP',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'OVERLOADED',
  'SUMMARIZATION_ERROR',
  'LLM_UNAVAILABLE',
  'LLM_TIMEOUT',
  'NOT_READY',
  'BAD_REQUEST',
  'INTERNAL_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const fieldIssueSchema = z.object({
  field: z.string().meta({ description: 'Dotted path of the field; empty for the body itself.' }),
  message: z.string(),
  code: z.string(),
});
export type FieldIssue = z.infer<typeof fieldIssueSchema>;

export const errorResponseSchema = z.object({
  error: z.string().meta({ description: 'What went wrong, for a human.' }),
  error_code: z.enum(ERROR_CODES),
  timestamp: z.iso.datetime(),
  details: z
    .union([z.array(fieldIssueSchema), z.string(), z.null()])
    .meta({ description: 'Field issues for VALIDATION_ERROR, otherwise a reason or null.' }),
});

export type ErrorResponse = z.infer<typeof errorResponseSchema>;

export const healthResponseSchema = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  service_name: z.literal(SERVICE_NAME),
  timestamp: z.iso.datetime(),
  details: z.string(),
});

export type HealthResponse = z.infer<typeof healthResponseSchema>;

/** OpenAPI 3.1 document built from the schemas above (JSON Schema 2020-12 dialect). */
export function openApiDocument(
  requestSchema: ReturnType<typeof summaryRequestSchema>,
  version: string,
): Record<string, unknown> {
  const schema = (s: z.ZodType, io: 'input' | 'output') => {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(s, { io }) as Record<string, unknown>;
    return rest;
  };
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
  const error = (description: string) => ({ description, content: json('ErrorResponse') });
  const summaryOperation = {
    summary: 'Summarize a text',
    operationId: 'createSummary',
    requestBody: { required: true, content: json('SummaryRequest') },
    responses: {
      '200': { description: 'The summary.', content: json('SummaryResponse') },
      '400': error('Malformed JSON.'),
      '413': error('Body larger than 1 MB.'),
      '422': error('Invalid body (VALIDATION_ERROR); LM Studio is not called.'),
      '429': {
        ...error('Overloaded (OVERLOADED); retry after the Retry-After header.'),
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
      },
      '500': error('Unexpected failure (INTERNAL_ERROR).'),
      '502': error('LM Studio failed after retries (SUMMARIZATION_ERROR).'),
      '503': error('LM Studio unreachable or circuit open (LLM_UNAVAILABLE).'),
      '504': error('LM Studio timed out (LLM_TIMEOUT).'),
    },
  };
  const probe = (description: string) => ({
    get: {
      summary: description,
      responses: { '200': { description: 'OK' }, '503': error('Not ready.') },
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: SERVICE_NAME, version },
    paths: {
      [SUMMARY_PATH]: { post: summaryOperation },
      [SUMMARY_PATH_NO_SLASH]: {
        post: { ...summaryOperation, operationId: 'createSummaryNoSlash' },
      },
      [HEALTH_PATH]: {
        get: {
          summary: 'Health of the service and of LM Studio (cached probe of GET /v1/models)',
          operationId: 'health',
          responses: {
            '200': { description: 'Healthy.', content: json('HealthResponse') },
            '503': {
              description: 'LM Studio unreachable or not serving the model.',
              content: json('HealthResponse'),
            },
          },
        },
      },
      '/livez': probe('Liveness: the process is alive (never depends on LM Studio)'),
      '/readyz': probe('Readiness: started and not shutting down'),
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain' } } },
      },
    },
    components: {
      schemas: {
        SummaryRequest: schema(requestSchema, 'input'),
        SummaryResponse: schema(summaryResponseSchema, 'output'),
        ErrorResponse: schema(errorResponseSchema, 'output'),
        HealthResponse: schema(healthResponseSchema, 'output'),
      },
    },
  };
}
