/**
 * LM Studio's error answers, as they really come (docs/lmstudio.md):
 * `{"error": {"message", "code"?, "type"?, …}}` or `{"error": "…"}` (the shape
 * depends on the version), sometimes with status 200 instead of 400. Pure:
 * tells what the answer means, so the client can name the cause.
 */

export type ErrorCause =
  /** The prompt does not fit the model's context; `contextTokens` when the server says (llama.cpp's n_ctx). */
  | { kind: 'context_overflow'; message: string; contextTokens?: number; promptTokens?: number }
  /** LM Studio has no model loaded (just-in-time loading off). */
  | { kind: 'no_model_loaded'; message: string }
  /** The configured model is unknown to LM Studio. */
  | { kind: 'model_not_found'; message: string }
  | { kind: 'other'; message: string };

const MESSAGE_LIMIT = 300;

interface ErrorBody {
  message: string;
  code?: string;
  type?: string;
  nCtx?: number;
  nPromptTokens?: number;
}

const asString = (value: unknown) => (typeof value === 'string' ? value : undefined);
const asCount = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/** The `error` of a JSON answer, in either shape; undefined when there is none. */
export function readErrorBody(json: unknown): ErrorBody | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const error: unknown = (json as { error?: unknown }).error;
  if (typeof error === 'string') return { message: error };
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as Record<string, unknown>;
  const body: ErrorBody = { message: asString(fields.message) ?? JSON.stringify(error) };
  const code =
    asString(fields.code) ?? (typeof fields.code === 'number' ? String(fields.code) : undefined);
  if (code !== undefined) body.code = code;
  const type = asString(fields.type);
  if (type !== undefined) body.type = type;
  const nCtx = asCount(fields.n_ctx);
  if (nCtx !== undefined) body.nCtx = nCtx;
  const nPromptTokens = asCount(fields.n_prompt_tokens);
  if (nPromptTokens !== undefined) body.nPromptTokens = nPromptTokens;
  return body;
}

const CONTEXT_OVERFLOW =
  /exceed_context_size|context (length|size|window)|n_ctx|tokens to keep|maximum context|too many tokens|prompt is too long/i;
const NO_MODEL_LOADED = /no models? (is |are )?loaded/i;
const MODEL_NOT_FOUND = /model_not_found|invalid model identifier|model .*not found|unknown model/i;

/** What an error answer (its raw text) means. */
export function classifyError(text: string): ErrorCause {
  let body: ErrorBody | undefined;
  try {
    body = readErrorBody(JSON.parse(text));
  } catch {
    // Not JSON: judge the raw text.
  }
  const message = shorten(body?.message ?? text);
  const haystack = `${body?.type ?? ''} ${body?.code ?? ''} ${body?.message ?? text}`;
  if (CONTEXT_OVERFLOW.test(haystack)) {
    const cause: ErrorCause = { kind: 'context_overflow', message };
    if (body?.nCtx !== undefined) cause.contextTokens = body.nCtx;
    if (body?.nPromptTokens !== undefined) cause.promptTokens = body.nPromptTokens;
    return cause;
  }
  if (NO_MODEL_LOADED.test(haystack)) return { kind: 'no_model_loaded', message };
  if (MODEL_NOT_FOUND.test(haystack)) return { kind: 'model_not_found', message };
  return { kind: 'other', message };
}

/** `: <LM Studio's own message>`, shortened; empty when it said nothing. */
export function describeErrorBody(text: string): string {
  const { message } = classifyError(text);
  return message === '' ? '' : `: ${message}`;
}

function shorten(message: string): string {
  const trimmed = message.trim();
  return trimmed.length > MESSAGE_LIMIT ? `${trimmed.slice(0, MESSAGE_LIMIT)}…` : trimmed;
}

/** The message naming the cause, for the error's details and the health check. */
export function describeCause(cause: ErrorCause, model: string): string {
  switch (cause.kind) {
    case 'no_model_loaded':
      return `LM Studio has no model loaded (${cause.message}): load "${model}" in LM Studio, or turn on just-in-time loading`;
    case 'model_not_found':
      return `LM Studio does not know the model "${model}" (${cause.message}): set DEFAULT_MODEL_NAME to a model it lists, or download that model`;
    case 'context_overflow':
      return `the text does not fit the model's context${cause.contextTokens === undefined ? '' : ` of ${cause.contextTokens} tokens`} (${cause.message})`;
    case 'other':
      return cause.message;
  }
}
