/**
 * What LM Studio says about its models, read purely: the OpenAI-style list
 * (`GET /v1/models`, the health probe) and LM Studio's own `GET /api/v0/models`
 * (since 0.3.6: each model's `state` and context length), and what follows from
 * them: the health verdict and the context the chunker must fit.
 */

export type ModelState = 'loaded' | 'not-loaded';

/** The model's context as the service uses it. */
export interface ModelContext {
  contextTokens: number;
  /** Where the number comes from: LMSTUDIO_CONTEXT_LENGTH, LM Studio, an overflow answer, or the fallback. */
  source: 'configured' | 'lmstudio' | 'learned' | 'fallback';
  /** LM Studio's word on the model; undefined where /api/v0/models is not served (llama.cpp, older LM Studio). */
  state: ModelState | undefined;
}

export interface NativeModelInfo {
  state: ModelState | undefined;
  /** `loaded_context_length`: the context the loaded instance really has. */
  loadedContextLength: number | undefined;
  /** `max_context_length`: what the model supports (a JIT load may use less). */
  maxContextLength: number | undefined;
}

const count = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/** The ids of `GET /v1/models`; undefined if the answer is not such a list. */
export function readModelIds(json: unknown): string[] | undefined {
  const data: unknown = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const ids: string[] = [];
  for (const entry of data) {
    const id: unknown = (entry as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return undefined;
    ids.push(id);
  }
  return ids;
}

/**
 * The entry of `model` in `GET /api/v0/models`: null when the answer is a list
 * without it, undefined when the answer is not such a list (not served).
 */
export function readNativeModel(json: unknown, model: string): NativeModelInfo | null | undefined {
  const data: unknown = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const entry = data.find((item: { id?: unknown } | null) => item?.id === model) as
    | Record<string, unknown>
    | undefined;
  if (entry === undefined) return null;
  const state = entry.state === 'loaded' || entry.state === 'not-loaded' ? entry.state : undefined;
  return {
    state,
    loadedContextLength: count(entry.loaded_context_length),
    maxContextLength: count(entry.max_context_length),
  };
}

export interface ContextInputs {
  /** LMSTUDIO_CONTEXT_LENGTH. */
  configured: number | undefined;
  native: NativeModelInfo | null | undefined;
  /** The context an overflow answer named (llama.cpp's n_ctx), still fresh. */
  learned: number | undefined;
  fallback: number;
}

/**
 * The context to fit: LMSTUDIO_CONTEXT_LENGTH if set, else what LM Studio says
 * (the loaded instance's length; for a model it has yet to load, its maximum but
 * no more than the fallback, since a just-in-time load often uses a default far
 * below the maximum), else the fallback; never more than an overflow answer said.
 */
export function resolveContext(inputs: ContextInputs): ModelContext {
  const { configured, native, learned, fallback } = inputs;
  const state = native?.state;
  let context: ModelContext;
  if (configured !== undefined) {
    context = { contextTokens: configured, source: 'configured', state };
  } else if (native?.loadedContextLength !== undefined) {
    context = { contextTokens: native.loadedContextLength, source: 'lmstudio', state };
  } else if (native?.maxContextLength !== undefined) {
    const tokens =
      state === 'loaded' ? native.maxContextLength : Math.min(native.maxContextLength, fallback);
    context = { contextTokens: tokens, source: 'lmstudio', state };
  } else {
    context = { contextTokens: fallback, source: 'fallback', state };
  }
  if (learned !== undefined && learned < context.contextTokens) {
    return { contextTokens: learned, source: 'learned', state };
  }
  return context;
}

/** The health probe's verdict on a `/v1/models` answer; undefined when healthy. */
export function modelProblem(models: readonly string[], model: string): string | undefined {
  if (models.includes(model)) return undefined;
  if (models.length === 0) {
    return `LMStudio service is up but has no model loaded: load "${model}" in LM Studio, or turn on just-in-time loading`;
  }
  return `LMStudio service is up but does not serve the model "${model}" (it serves: ${models.join(', ')})`;
}
