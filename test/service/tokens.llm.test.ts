/**
 * The per-script token estimate (service/tokens.ts) against the real tokenizer
 * (llama.cpp's /tokenize with SmolLM2's vocabulary): never below it, and for the
 * API's languages not wastefully above it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateTokens } from '../../service/tokens.js';
import { SAMPLE_TEXTS } from '../support/llm-samples.js';
import { type InferenceServer, startInferenceServer } from '../support/llm-server.js';

let llm: InferenceServer;
beforeAll(async () => {
  llm = await startInferenceServer({ ctx: 2048 });
});
afterAll(() => llm?.stop());

describe('estimateTokens', () => {
  it.each(Object.entries(SAMPLE_TEXTS))('%s: at least the real count', async (_name, text) => {
    const real = await llm.tokenCount(text);
    expect(estimateTokens(text)).toBeGreaterThanOrEqual(real);
  });

  it.each([
    ['korean', 1.2],
    ['japanese', 1.5],
  ] as const)(
    '%s: within %f× of the real count (chunks are not needlessly small)',
    async (name, factor) => {
      const text = SAMPLE_TEXTS[name];
      const real = await llm.tokenCount(text);
      expect(estimateTokens(text)).toBeLessThanOrEqual(real * factor);
    },
  );
});
