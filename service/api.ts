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

/**
 * What String.prototype.trim (and so the validator) removes from both ends: ECMAScript's
 * WhiteSpace and LineTerminator, spelled out because `\s` differs between regex engines
 * (Python's also matches U+001C–U+001F and U+0085, and not U+FEFF).
 */
export const TRIMMED_CHARACTERS =
  '\\t\\n\\u000b\\u000c\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * A JSON Schema `pattern` (code points, as JSON Schema counts them) that a string matches
 * exactly when, trimmed, it has `min` to `max` characters: its first and last characters
 * that are not trimmed, and `min - 2` to `max - 2` of anything between them.
 */
export function trimmedLengthPattern(min: number, max: number): string {
  const space = `[${TRIMMED_CHARACTERS}]`;
  const solid = `[^${TRIMMED_CHARACTERS}]`;
  return `^${space}*${solid}[\\s\\S]{${min - 2},${max - 2}}${solid}${space}*$`;
}

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
        description: `The text to summarize. Leading and trailing whitespace is trimmed first; the trimmed text must have ${min} to ${max} characters (Unicode code points), which \`pattern\` expresses. Any amount of whitespace around it is accepted within the body limit.`,
        minLength: min,
        pattern: trimmedLengthPattern(min, max),
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

export const livenessResponseSchema = z.object({ status: z.literal('alive') });
export const readinessResponseSchema = z.object({ status: z.literal('ready') });

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
  const requestId = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  const answer = (description: string, content: Record<string, unknown>, headers = {}) => ({
    description,
    headers: { ...requestId, ...headers },
    content,
  });
  const error = (description: string, headers = {}) =>
    answer(description, json('ErrorResponse'), headers);
  const retryAfter = (required: boolean) => ({
    'Retry-After': {
      description: 'Seconds to wait before retrying.',
      required,
      schema: { type: 'integer', minimum: 1 },
    },
  });
  /** What any request can be answered, whatever its path (docs/api.md#errors). */
  const anyRequest = {
    '400': error(
      'BAD_REQUEST: the HTTP request itself is malformed (Node cannot parse it, or HTTP/1.1 without Host).',
    ),
    '408': error(
      'BAD_REQUEST: the request did not arrive within HTTP_HEADERS_TIMEOUT / HTTP_REQUEST_TIMEOUT.',
    ),
    '417': error('BAD_REQUEST: an Expect header other than 100-continue.'),
    '431': error('BAD_REQUEST: the request headers are too large.'),
    '500': error('INTERNAL_ERROR: an unexpected failure.'),
  };
  const summaryOperation = {
    summary: 'Summarize a text',
    operationId: 'createSummary',
    requestBody: { required: true, content: json('SummaryRequest') },
    responses: {
      ...anyRequest,
      '200': answer('The summary.', json('SummaryResponse')),
      '400': error(
        `INVALID_JSON: the body is not JSON; JSON_TOO_DEEP: arrays and objects nested deeper than ${MAX_JSON_DEPTH} levels; BAD_REQUEST: the HTTP request itself is malformed.`,
      ),
      '413': error(`PAYLOAD_TOO_LARGE: the body is larger than ${BODY_LIMIT_BYTES} bytes.`, {
        Connection: { required: true, schema: { const: 'close' } },
      }),
      '415': error(
        'UNSUPPORTED_MEDIA_TYPE: a Content-Encoding other than identity, or a charset other than UTF-8/16/32.',
      ),
      '422': error(
        'VALIDATION_ERROR: the body breaks the request schema; LM Studio is not called.',
      ),
      '429': error(
        'OVERLOADED: the queue was full, or the wait for LM Studio reached QUEUE_TIMEOUT.',
        retryAfter(true),
      ),
      '502': error('SUMMARIZATION_ERROR: LM Studio failed after the retries or answered unusably.'),
      '503': error(
        'LLM_UNAVAILABLE: LM Studio unreachable, the circuit open (with Retry-After), or no usable model.',
        retryAfter(false),
      ),
      '504': error('LLM_TIMEOUT: the last attempt at LM Studio timed out.'),
    },
  };
  const get = (
    operationId: string,
    summary: string,
    responses: Record<string, unknown>,
  ): Record<string, unknown> => ({
    get: { summary, operationId, responses: { ...anyRequest, ...responses } },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: SERVICE_NAME,
      version,
      description: `Every error is the ErrorResponse JSON. Besides the answers listed per operation, a path not listed here is answered 404 (NOT_FOUND, components.responses.NotFound) and a method an operation does not list is answered 405 (METHOD_NOT_ALLOWED, with Allow; components.responses.MethodNotAllowed). Request bodies are limited to ${BODY_LIMIT_BYTES} bytes and ${MAX_JSON_DEPTH} levels of JSON nesting; unknown fields are ignored.`,
    },
    paths: {
      [SUMMARY_PATH]: { post: summaryOperation },
      [SUMMARY_PATH_NO_SLASH]: {
        post: { ...summaryOperation, operationId: 'createSummaryNoSlash' },
      },
      [HEALTH_PATH]: get(
        'health',
        'Health of the service and of LM Studio (cached probe of GET /v1/models)',
        {
          '200': answer('Healthy.', json('HealthResponse')),
          '503': answer('LM Studio unreachable or not serving the model.', json('HealthResponse')),
        },
      ),
      '/livez': get('liveness', 'Liveness: the process serves HTTP (never depends on LM Studio)', {
        '200': answer('Alive.', json('LivenessResponse')),
      }),
      '/readyz': get('readiness', 'Readiness: started and not shutting down', {
        '200': answer('Ready.', json('ReadinessResponse')),
        '503': error('NOT_READY: the service is shutting down.'),
      }),
      '/metrics': get('metrics', 'Prometheus metrics', {
        '200': answer('The Prometheus text exposition format.', {
          'text/plain': { schema: { type: 'string' } },
        }),
      }),
      '/openapi.json': get('openapi', 'This document', {
        '200': answer('The OpenAPI 3.1 document.', {
          'application/json': { schema: { type: 'object' } },
        }),
      }),
    },
    components: {
      schemas: {
        SummaryRequest: schema(requestSchema, 'input'),
        SummaryResponse: schema(summaryResponseSchema, 'output'),
        ErrorResponse: schema(errorResponseSchema, 'output'),
        HealthResponse: schema(healthResponseSchema, 'output'),
        LivenessResponse: schema(livenessResponseSchema, 'output'),
        ReadinessResponse: schema(readinessResponseSchema, 'output'),
      },
      headers: {
        RequestId: {
          description:
            "The request's id: the client's X-Request-Id when it is 1-128 characters of letters, digits, _ . : -; else a new UUID. Absent only on answers to requests Node could not parse.",
          schema: { type: 'string' },
        },
      },
      responses: {
        NotFound: error('NOT_FOUND: no such path.'),
        MethodNotAllowed: error('METHOD_NOT_ALLOWED: the path exists; Allow lists its methods.', {
          Allow: { required: true, schema: { type: 'string' } },
        }),
      },
    },
  };
}
