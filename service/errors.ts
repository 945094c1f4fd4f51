/**
 * The error JSON of docs/api.md#errors: ApiError, and the one mapping from anything
 * thrown while serving a request (body parser, admission, LM Studio client,
 * summarizer, a bug) to the status and error code the client gets.
 */
import { STATUS_CODES } from 'node:http';
import type { z } from 'zod';
import { AbandonedError, ShedError } from './admission.js';
import { BODY_LIMIT_BYTES, type ErrorCode, type ErrorResponse, type FieldIssue } from './api.js';
import { JsonDepthError, JsonSyntaxError } from './json-body.js';
import { LlmError } from './lmstudio.js';
import { ContextTooSmallError, EmptySummaryError } from './summarize.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorResponse['details'] = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Status 499 (nginx's "client closed request"): nobody is listening, the log line records it. */
export const CLIENT_GONE = 499;

export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join('.'),
    message:
      issue.path.length === 0 && issue.code === 'invalid_type'
        ? 'The body must be a JSON object'
        : issue.message,
    code: issue.code,
  }));
}

export function validationError(issues: FieldIssue[]): ApiError {
  return new ApiError(422, 'VALIDATION_ERROR', 'Request validation failed', issues);
}

function fromLlmError(error: LlmError): ApiError {
  switch (error.kind) {
    case 'timeout':
      return new ApiError(504, 'LLM_TIMEOUT', 'LM Studio did not answer in time', error.message);
    case 'unreachable':
      return new ApiError(503, 'LLM_UNAVAILABLE', 'LM Studio is unreachable', error.message);
    case 'model_unavailable':
      return new ApiError(
        503,
        'LLM_UNAVAILABLE',
        'LM Studio cannot serve the configured model',
        error.message,
      );
    case 'circuit_open':
      return new ApiError(
        503,
        'LLM_UNAVAILABLE',
        'LM Studio is failing; requests fail fast until it recovers',
        error.message,
        { 'Retry-After': String(error.info.retryAfterSeconds ?? 1) },
      );
    case 'aborted':
      return new ApiError(CLIENT_GONE, 'BAD_REQUEST', 'The client closed the request');
    case 'rejected':
    case 'server_error':
    case 'bad_response':
    case 'context_overflow':
      return new ApiError(502, 'SUMMARIZATION_ERROR', 'Summarization failed', error.message);
  }
}

/** body-parser's errors carry a `type` and an HTTP status. */
function fromBodyParserError(error: { type: string; message?: unknown }): ApiError | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return payloadTooLarge();
    case 'entity.parse.failed':
      return new ApiError(
        400,
        'INVALID_JSON',
        'The request body is not valid JSON',
        String(error.message),
      );
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', String(error.message));
  }
  return undefined;
}

export function payloadTooLarge(): ApiError {
  return new ApiError(
    413,
    'PAYLOAD_TOO_LARGE',
    `The request body exceeds the limit of ${BODY_LIMIT_BYTES} bytes (${BODY_LIMIT_BYTES / 1024} KiB)`,
    null,
    { Connection: 'close' },
  );
}

/** Maps anything thrown while serving a request to the error the client gets. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof LlmError) return fromLlmError(error);
  if (error instanceof JsonSyntaxError) {
    return new ApiError(400, 'INVALID_JSON', 'The request body is not valid JSON', error.message);
  }
  if (error instanceof JsonDepthError) {
    return new ApiError(
      400,
      'JSON_TOO_DEEP',
      `The request body nests arrays and objects deeper than ${error.limit} levels`,
      error.message,
    );
  }
  if (error instanceof ShedError) {
    return new ApiError(429, 'OVERLOADED', error.message, error.reason, {
      'Retry-After': String(error.retryAfterSeconds),
    });
  }
  if (error instanceof AbandonedError) {
    return new ApiError(CLIENT_GONE, 'BAD_REQUEST', 'The client closed the request');
  }
  if (error instanceof EmptySummaryError || error instanceof ContextTooSmallError) {
    return new ApiError(502, 'SUMMARIZATION_ERROR', 'Summarization failed', error.message);
  }
  const candidate = error as { type?: unknown; status?: unknown; message?: unknown } | null;
  if (typeof candidate?.type === 'string' && typeof candidate.status === 'number') {
    const mapped = fromBodyParserError({ type: candidate.type, message: candidate.message });
    if (mapped !== undefined) return mapped;
    if (candidate.status >= 400 && candidate.status < 500) {
      return new ApiError(
        candidate.status,
        'BAD_REQUEST',
        STATUS_CODES[candidate.status] ?? 'Bad request',
      );
    }
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'An unexpected error occurred');
}
