import { describe, expect, it } from 'vitest';
import { chunkText } from './chunking.js';
import { estimateTokens, fitPrefix } from './tokens.js';

describe('estimateTokens', () => {
  it('weighs scripts differently: Hangul and kanji far above Latin letters', () => {
    expect(estimateTokens('서울')).toBe(6);
    expect(estimateTokens('東京')).toBe(6);
    expect(estimateTokens('とうきょう')).toBe(10);
    expect(estimateTokens('seoul')).toBe(3);
    expect(estimateTokens('😀')).toBe(4);
    expect(estimateTokens('')).toBe(0);
  });

  it('never above the UTF-8 bytes of a text (the worst case of a byte-level tokenizer)', () => {
    for (const text of ['서울은 수도이다.', '東京です。', 'Hello, world! 123', 'Привет', '😀👍']) {
      expect(estimateTokens(text)).toBeLessThanOrEqual(Buffer.byteLength(text));
    }
  });
});

describe('fitPrefix', () => {
  it('stops at the token limit, the character limit, and never inside a surrogate pair', () => {
    expect(fitPrefix('서울서울', 0, 100, 7)).toBe(2);
    expect(fitPrefix('abcdef', 0, 3, 100)).toBe(3);
    expect(fitPrefix('a😀b', 0, 2, 100)).toBe(1);
    expect(fitPrefix('서울', 0, 100, 1)).toBe(1); // at least one character
  });
});

describe('chunkText with a token limit', () => {
  const korean = '서울은 대한민국의 수도이며 인구는 약 천만 명이다. '.repeat(200);

  it('keeps every chunk within the tokens, loses nothing, and balances the chunks', () => {
    const chunks = chunkText(korean, 50_000, 1000);
    expect(chunks.join('')).toBe(korean);
    for (const chunk of chunks) expect(estimateTokens(chunk)).toBeLessThanOrEqual(1000);
    const sizes = chunks.map((chunk) => estimateTokens(chunk));
    expect(Math.min(...sizes)).toBeGreaterThan(0.25 * Math.max(...sizes));
  });

  it('the same text in English needs less than half the chunks of Korean', () => {
    const english =
      'Seoul is the capital of Korea and about ten million people live there. '.repeat(200);
    expect(chunkText(english, 50_000, 1000).length).toBeLessThan(
      chunkText(korean, 50_000, 1000).length / 2,
    );
  });

  it('hard-splits one endless sentence by tokens', () => {
    const text = '가'.repeat(2000);
    const chunks = chunkText(text, 50_000, 900);
    expect(chunks.join('')).toBe(text);
    for (const chunk of chunks) expect(estimateTokens(chunk)).toBeLessThanOrEqual(900);
  });
});
