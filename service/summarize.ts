/**
 * What a summary is: one call for a text that fits the model's context, else a
 * map-reduce — the text split into parts that fit (in tokens: prompt +
 * max_tokens + margin), the parts summarized concurrently (bounded), then the
 * summaries combined, in more levels while they do not fit one call. When LM
 * Studio still answers that the context is exceeded, that part is split smaller
 * and retried (the context it named, if any, is used from then on). Pure but for
 * the ChatFn it is given.
 */

import type { Language, SummaryType } from '../contract/env.js';
import { chunkText } from './chunking.js';
import { Cancellation, type ChatFn, LlmError } from './lmstudio.js';
import { buildMessages, type PromptKind, stripReasoning, systemPrompt } from './prompts.js';
import { estimateTokens, MESSAGE_OVERHEAD_TOKENS } from './tokens.js';

export { chunkText, splitSentences } from './chunking.js';
export { buildMessages, stripReasoning, systemPrompt } from './prompts.js';

export interface SummaryInput {
  text: string;
  summary_type: SummaryType;
  language: Language;
  max_tokens: number;
  temperature: number;
}

export interface SummaryOutput {
  summary: string;
  /** The model that wrote the final summary, as LM Studio reported it. */
  model: string;
  /** Parts the text was summarized in (1: in one call). */
  chunks: number;
  /** Calls made to LM Studio, refused ones included. */
  llmCalls: number;
}

/** The model answered, but with nothing usable (e.g. only a reasoning block). */
export class EmptySummaryError extends Error {
  constructor() {
    super('LM Studio returned an empty summary');
    this.name = 'EmptySummaryError';
  }
}

/** The model's context is too small for the prompt and max_tokens, whatever the split. */
export class ContextTooSmallError extends Error {
  constructor(contextTokens: number, maxTokens: number) {
    super(
      `the model's context of ${contextTokens} tokens leaves no room for the text next to the instructions and max_tokens ${maxTokens}: lower max_tokens, or load the model with a larger context (LMSTUDIO_CONTEXT_LENGTH)`,
    );
    this.name = 'ContextTooSmallError';
  }
}

// ---------------------------------------------------------------------------
// Map-reduce.

/**
 * Runs `fn` over `items` with at most `limit` calls at once, results in input
 * order. The first failure cancels the other calls, stops starting new ones,
 * and is what the returned promise rejects with.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number, cancellation: Cancellation) => Promise<R>,
  parent?: Cancellation,
): Promise<R[]> {
  const { cancellation, unlink } = parent?.child() ?? {
    cancellation: new Cancellation(),
    unlink: () => {},
  };
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index] as T, index, cancellation);
      } catch (error) {
        failure ??= { error };
        cancellation.abort();
      }
    }
  };
  try {
    const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker);
    await Promise.all(workers);
  } finally {
    unlink();
  }
  if (failure !== undefined) throw failure.error;
  return results;
}

export interface SummarizeOptions {
  chat: ChatFn;
  model: string;
  /** The model's context in tokens (LM Studio's, configured, or the fallback). */
  contextTokens: number;
  /** Longest text sent in one call, in characters, whatever the context. */
  chunkChars: number;
  /** Calls of one request in flight at once. */
  mapConcurrency: number;
  /** Fires when the client has gone away. */
  cancellation?: Cancellation;
}

/** Levels of combining (and overflow retries) before giving up: 4^8 parts is far beyond 50,000 characters. */
const MAX_DEPTH = 8;
/** The smallest text budget worth a call. */
const MIN_TEXT_TOKENS = 32;

/** Tokens kept free besides prompt and output: estimates are estimates. */
export function contextMargin(contextTokens: number): number {
  return 32 + Math.ceil(contextTokens * 0.05);
}

interface Summary {
  text: string;
  model: string;
}

/** One request's map-reduce, with what it learns about the context on the way. */
class Summarization {
  readonly #input: SummaryInput;
  readonly #options: SummarizeOptions;
  #contextTokens: number;
  /** Multiplies estimates once LM Studio has shown they run low (>= 1). */
  #estimateFactor = 1;
  /** Bumped whenever the above change: an overflow of a call sent before teaches nothing new. */
  #version = 0;
  calls = 0;
  /** Part calls that succeeded: the chunks of the log line. */
  partCount = 0;

  constructor(input: SummaryInput, options: SummarizeOptions) {
    this.#input = input;
    this.#options = options;
    this.#contextTokens = options.contextTokens;
  }

  /** max_tokens of the last call (the answer), and of the calls before it (partial summaries). */
  #reserve(final: boolean): number {
    const share = final ? 2 : 8;
    return Math.max(1, Math.min(this.#input.max_tokens, Math.floor(this.#contextTokens / share)));
  }

  #tokens(text: string): number {
    return Math.ceil(estimateTokens(text) * this.#estimateFactor);
  }

  /** Estimated tokens of each system prompt, by kind (and count). */
  readonly #systemTokens = new Map<string, number>();

  #systemPromptTokens(prompt: PromptKind): number {
    const key = `${prompt.kind}|${'count' in prompt ? prompt.count : 0}`;
    let tokens = this.#systemTokens.get(key);
    if (tokens === undefined) {
      const { summary_type, language } = this.#input;
      tokens = estimateTokens(systemPrompt(summary_type, language, prompt, this.#options.model));
      this.#systemTokens.set(key, tokens);
    }
    return tokens;
  }

  /** Tokens left for the user text of a call of this kind. */
  budget(prompt: PromptKind, final: boolean): number {
    return (
      this.#contextTokens -
      Math.ceil(this.#systemPromptTokens(prompt) * this.#estimateFactor) -
      this.#reserve(final) -
      contextMargin(this.#contextTokens) -
      2 * MESSAGE_OVERHEAD_TOKENS
    );
  }

  fits(text: string, prompt: PromptKind, final: boolean): boolean {
    return this.#tokens(text) <= this.budget(prompt, final);
  }

  /** A token limit for chunkText, in its (unscaled) estimate units. */
  #chunkLimit(tokens: number): number {
    const limit = Math.floor(tokens / this.#estimateFactor);
    if (limit < MIN_TEXT_TOKENS) {
      throw new ContextTooSmallError(this.#contextTokens, this.#input.max_tokens);
    }
    return limit;
  }

  split(text: string, tokens: number): string[] {
    const chunks = chunkText(text, this.#options.chunkChars, this.#chunkLimit(tokens))
      .map((chunk) => chunk.trim())
      .filter((chunk) => chunk !== '');
    if (chunks.length > 1) return chunks;
    // It fits a part but not a whole call: two halves, so there is something to combine.
    return chunkText(text, this.#options.chunkChars, this.#chunkLimit(this.#tokens(text) / 2 + 1))
      .map((chunk) => chunk.trim())
      .filter((chunk) => chunk !== '');
  }

  /** One call; a context overflow is learned from and rethrown. */
  async call(prompt: PromptKind, text: string, final: boolean, cancellation?: Cancellation) {
    this.calls += 1;
    const { chat, model } = this.#options;
    const version = this.#version;
    try {
      const result = await chat(
        {
          model,
          messages: buildMessages(this.#input, prompt, text, model),
          max_tokens: this.#reserve(final),
          temperature: this.#input.temperature,
        },
        cancellation,
      );
      return { text: stripReasoning(result.content), model: result.model };
    } catch (error) {
      if (isOverflow(error) && version === this.#version)
        this.#learn(error as LlmError, prompt, text);
      throw error;
    }
  }

  /** After an overflow the same text must not be tried at the same size again. */
  #learn(error: LlmError, prompt: PromptKind, text: string): void {
    const { contextTokens, promptTokens } = error.info;
    const before = this.#contextTokens;
    if (contextTokens !== undefined && contextTokens < this.#contextTokens) {
      this.#contextTokens = contextTokens;
    }
    const sent = this.#systemPromptTokens(prompt) + estimateTokens(text);
    if (promptTokens !== undefined && promptTokens > sent * this.#estimateFactor) {
      // The estimate ran low: from now on it is scaled to what the server counted.
      this.#estimateFactor = (promptTokens / sent) * 1.05;
    } else if (this.#contextTokens === before) {
      // Nothing learned: halve what is sent at once.
      this.#estimateFactor *= 2;
    }
    this.#version += 1;
  }

  #tooSmall(): ContextTooSmallError {
    return new ContextTooSmallError(this.#contextTokens, this.#input.max_tokens);
  }

  /** Summarizes one part; a part LM Studio finds too long becomes several. */
  async part(text: string, depth: number, cancellation: Cancellation): Promise<Summary[]> {
    if (depth > MAX_DEPTH) throw this.#tooSmall();
    const budget = this.budget({ kind: 'part' }, false);
    // Learned meanwhile (another part overflowed) that it is too long: split before calling.
    if (this.#tokens(text) > budget)
      return this.parts(this.split(text, budget), depth + 1, cancellation);
    try {
      const summary = await this.call({ kind: 'part' }, text, false, cancellation);
      this.partCount += 1;
      return [summary];
    } catch (error) {
      if (!isOverflow(error)) throw error;
      const smaller = Math.min(this.budget({ kind: 'part' }, false), this.#tokens(text) * 0.7);
      return this.parts(this.split(text, smaller), depth + 1, cancellation);
    }
  }

  /** Summarizes parts concurrently (bounded), in order. */
  async parts(pieces: string[], depth: number, cancellation: Cancellation): Promise<Summary[]> {
    const nested = await mapBounded(
      pieces,
      this.#options.mapConcurrency,
      (piece, _index, pieceCancellation) => this.part(piece, depth, pieceCancellation),
      cancellation,
    );
    return nested.flat();
  }

  /** Combines summaries into the final one, in more levels while they do not fit one call. */
  async reduce(summaries: Summary[], depth: number, cancellation: Cancellation): Promise<Summary> {
    if (depth > MAX_DEPTH) throw this.#tooSmall();
    const last: PromptKind = { kind: 'combine', count: summaries.length };
    const combined = formatParts(summaries);
    if (summaries.length === 1 || this.fits(combined, last, true)) {
      try {
        return await this.call(last, combined, true, cancellation);
      } catch (error) {
        if (!isOverflow(error) || summaries.length === 1) throw error;
        // Learned how much fits: merge in groups first.
      }
    }
    const merged = await mapBounded(
      this.#group(summaries),
      this.#options.mapConcurrency,
      (group, _index, groupCancellation) => this.merge(group, depth + 1, groupCancellation),
      cancellation,
    );
    return this.reduce(merged, depth + 1, cancellation);
  }

  /** One level of the reduce for consecutive summaries; halves a group LM Studio finds too long. */
  async merge(group: Summary[], depth: number, cancellation: Cancellation): Promise<Summary> {
    if (group.length === 1) return group[0] as Summary;
    if (depth > MAX_DEPTH) throw this.#tooSmall();
    try {
      const prompt: PromptKind = { kind: 'merge', count: group.length };
      return await this.call(prompt, formatParts(group), false, cancellation);
    } catch (error) {
      if (!isOverflow(error)) throw error;
      const half = Math.ceil(group.length / 2);
      const halves = await mapBounded(
        [group.slice(0, half), group.slice(half)],
        this.#options.mapConcurrency,
        (part, _index, partCancellation) => this.merge(part, depth + 1, partCancellation),
        cancellation,
      );
      return this.merge(halves, depth + 1, cancellation);
    }
  }

  /** Consecutive summaries packed into groups that fit a merge call, two at least where possible. */
  #group(summaries: Summary[]): Summary[][] {
    const groups: Summary[][] = [];
    let current: Summary[] = [];
    for (const summary of summaries) {
      const candidate = [...current, summary];
      if (
        current.length >= 2 &&
        !this.fits(formatParts(candidate), { kind: 'merge', count: candidate.length }, false)
      ) {
        groups.push(current);
        current = [summary];
      } else {
        current = candidate;
      }
    }
    if (current.length > 0) groups.push(current);
    return groups;
  }
}

const isOverflow = (error: unknown) =>
  error instanceof LlmError && error.kind === 'context_overflow';

function formatParts(summaries: readonly Summary[]): string {
  return summaries.map((summary, i) => `[Part ${i + 1}]\n${summary.text}`).join('\n\n');
}

/**
 * One call for a text that fits the context; otherwise summarize the parts
 * concurrently (bounded) and combine their summaries.
 */
export async function summarize(
  input: SummaryInput,
  options: SummarizeOptions,
): Promise<SummaryOutput> {
  const run = new Summarization(input, options);
  const cancellation = options.cancellation ?? new Cancellation();
  const done = (summary: Summary, chunks: number): SummaryOutput => {
    if (summary.text === '') throw new EmptySummaryError();
    return { summary: summary.text, model: summary.model, chunks, llmCalls: run.calls };
  };

  const whole: PromptKind = { kind: 'whole' };
  if (input.text.length <= options.chunkChars && run.fits(input.text, whole, true)) {
    try {
      return done(await run.call(whole, input.text, true, cancellation), 1);
    } catch (error) {
      if (!isOverflow(error)) throw error;
      // Learned how much fits: split below.
    }
  }
  const chunks = run.split(input.text, run.budget({ kind: 'part' }, false));
  const summaries = (await run.parts(chunks, 0, cancellation)).filter((s) => s.text !== '');
  if (summaries.length === 0) throw new EmptySummaryError();
  return done(await run.reduce(summaries, 0, cancellation), run.partCount);
}

/** Length in characters (Unicode code points), as the API reports and validates lengths. */
export function characterCount(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count -= 1;
        i += 1;
      }
    }
  }
  return count;
}

/** summary_length / original_length rounded to 3 decimals (docs/api.md#summarize). */
export function compressionRatio(summaryLength: number, originalLength: number): number {
  if (originalLength === 0) return 0;
  return Math.round((summaryLength / originalLength) * 1000) / 1000;
}
