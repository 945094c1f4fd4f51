/**
 * A conservative token count, per script, without the model's tokenizer (LM
 * Studio's OpenAI API has no tokenize endpoint). Weights are tokens per
 * character, measured against a real tokenizer (SmolLM2's, through llama.cpp's
 * /tokenize: an English-centric 49k vocabulary, so a worst case for Korean and
 * Japanese; larger vocabularies such as Qwen3's need fewer tokens) and rounded
 * up. A byte-level BPE never needs more tokens than the UTF-8 bytes of a
 * character, so no weight is above its byte count.
 *
 * Measured (test/service/tokens.llm.test.ts checks the estimate stays above):
 *   Korean prose   2.06 tokens/char (2.75 per Hangul syllable)   weight 3 per syllable
 *   Japanese prose 1.85 tokens/char (kanji 2.4, kana 1.7)        weights 3 and 2
 *   English prose  0.20 tokens/char; German 0.38; code 0.31      0.45 per letter
 *   digits         1 token each                                  1
 */

/** Tokens per character, by the character's class. */
const WEIGHT = {
  hangul: 3,
  han: 3,
  kana: 2,
  /** CJK punctuation, full-width forms. */
  cjkSymbol: 3,
  letter: 0.45,
  digit: 1,
  /** Spaces mostly merge into the following word's token. */
  space: 0.1,
  newline: 1,
  asciiSymbol: 1,
  /** Accented Latin, Greek, Cyrillic, …: two UTF-8 bytes. */
  otherBmp: 1.5,
  /** Emoji and other characters outside the BMP (a surrogate pair): four bytes. */
  astralPerUnit: 2,
} as const;

/** Weight of one UTF-16 code unit. */
function weightOf(code: number): number {
  if (code < 0x80) {
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) return WEIGHT.letter;
    if (code === 0x20 || code === 0x09) return WEIGHT.space;
    if (code >= 0x30 && code <= 0x39) return WEIGHT.digit;
    if (code === 0x0a || code === 0x0d) return WEIGHT.newline;
    return WEIGHT.asciiSymbol;
  }
  if (code >= 0xac00 && code <= 0xd7a3) return WEIGHT.hangul;
  if (code >= 0x4e00 && code <= 0x9fff) return WEIGHT.han;
  if (code >= 0x3040 && code <= 0x30ff) return WEIGHT.kana;
  if (code >= 0xd800 && code <= 0xdfff) return WEIGHT.astralPerUnit;
  if (
    (code >= 0x1100 && code <= 0x11ff) ||
    (code >= 0x3130 && code <= 0x318f) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0xf900 && code <= 0xfaff)
  ) {
    return WEIGHT.hangul; // jamo and rarer ideographs: three bytes, like syllables
  }
  if ((code >= 0x3000 && code <= 0x303f) || (code >= 0xff00 && code <= 0xffef)) {
    return WEIGHT.cjkSymbol;
  }
  if (code >= 0x31f0 && code <= 0x31ff) return WEIGHT.kana;
  return code < 0x800 ? WEIGHT.otherBmp : WEIGHT.cjkSymbol;
}

/** Estimated tokens of `text`: at least the real count for the texts measured. */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (let i = 0; i < text.length; i += 1) tokens += weightOf(text.charCodeAt(i));
  return Math.ceil(tokens);
}

/** Tokens a chat template adds around each message (role markers, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 8;

/**
 * The end of the longest slice of `text` from `start` with at most `maxChars`
 * UTF-16 units and `maxTokens` estimated tokens; at least one character, and
 * never inside a surrogate pair.
 */
export function fitPrefix(
  text: string,
  start: number,
  maxChars: number,
  maxTokens: number,
): number {
  const limit = Math.min(text.length, start + maxChars);
  let tokens = 0;
  let end = start;
  while (end < limit) {
    const next = tokens + weightOf(text.charCodeAt(end));
    if (next > maxTokens) break;
    tokens = next;
    end += 1;
  }
  if (end === start) end = start + 1;
  // Do not separate a high surrogate from its low half.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff && end < text.length)
    end = end - 1 > start ? end - 1 : end + 1;
  return end;
}
