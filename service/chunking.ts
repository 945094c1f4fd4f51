/**
 * Sentence-aware chunking of long texts, in characters and in (estimated)
 * tokens: splitting on sentence boundaries of English, Korean and Japanese, and
 * packing the sentences into balanced chunks. Pure.
 */
import { estimateTokens, fitPrefix } from './tokens.js';

/** Sentence terminators that need no following space (CJK full-width forms). */
const CJK_TERMINATORS = new Set(['。', '！', '？', '．', '｡', '…', '‼', '⁇', '⁈', '⁉']);
/** Sentence terminators that end a sentence only before whitespace or the end (Latin, Korean). */
const LATIN_TERMINATORS = new Set(['.', '!', '?']);
/** Closing quotes and brackets that belong to the sentence they follow. */
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']', '」', '』', '）', '】', '》', '〉']);

function isSpace(char: string | undefined): boolean {
  return char !== undefined && /\s/.test(char);
}

/**
 * Splits text into sentences without losing a character: joining the result
 * gives the input back. A sentence ends after `.`/`!`/`?` followed by
 * whitespace, after a CJK terminator (`。！？…`), or at a line break; closing
 * quotes and brackets and the following whitespace stay with the sentence.
 * Decimals ("3.14") and unspaced dots ("example.com") do not end a sentence.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    let end = -1;
    if (char === '\n') {
      end = i + 1;
    } else if (CJK_TERMINATORS.has(char) || LATIN_TERMINATORS.has(char)) {
      let j = i + 1;
      while (
        j < text.length &&
        (CJK_TERMINATORS.has(text[j] as string) || LATIN_TERMINATORS.has(text[j] as string))
      )
        j += 1;
      while (j < text.length && CLOSERS.has(text[j] as string)) j += 1;
      if (CJK_TERMINATORS.has(char) || j === text.length || isSpace(text[j])) end = j;
      else i = j - 1;
    }
    if (end !== -1) {
      while (end < text.length && isSpace(text[end])) end += 1;
      sentences.push(text.slice(start, end));
      start = end;
      i = end;
    } else {
      i += 1;
    }
  }
  if (start < text.length) sentences.push(text.slice(start));
  return sentences;
}

/** Cuts an over-long sentence into pieces within both limits, at whitespace where possible. */
function hardSplit(sentence: string, maxChars: number, maxTokens: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < sentence.length) {
    let end = fitPrefix(sentence, start, maxChars, maxTokens);
    if (end < sentence.length) {
      const space = sentence.lastIndexOf(' ', end - 1);
      if (space > start + (end - start) / 2) end = space + 1;
    }
    pieces.push(sentence.slice(start, end));
    start = end;
  }
  return pieces;
}

/**
 * Packs sentences into chunks of at most `maxChars` characters and `maxTokens`
 * estimated tokens, balanced along the limit that binds: a text of 2.2 × the
 * limit gives three chunks of ~0.73 × the limit, not two full ones and a scrap,
 * so the parallel calls finish together. Joining the chunks gives the text back.
 */
export function chunkText(
  text: string,
  maxChars: number,
  maxTokens: number = Number.POSITIVE_INFINITY,
): string[] {
  const countTokens = Number.isFinite(maxTokens);
  const totalTokens = countTokens ? estimateTokens(text) : 0;
  if (text.length <= maxChars && totalTokens <= maxTokens) return [text];
  const byChars = text.length / maxChars;
  const byTokens = totalTokens / maxTokens;
  const count = Math.ceil(Math.max(byChars, byTokens));
  const charsBind = byChars >= byTokens;
  const targetChars = charsBind ? Math.ceil(text.length / count) : Number.POSITIVE_INFINITY;
  const targetTokens = charsBind ? Number.POSITIVE_INFINITY : totalTokens / count;
  const tokensOf = (piece: string) => (countTokens ? estimateTokens(piece) : 0);
  const pieces = splitSentences(text).flatMap((sentence) =>
    sentence.length > maxChars || tokensOf(sentence) > maxTokens
      ? hardSplit(sentence, maxChars, maxTokens)
      : [sentence],
  );
  const chunks: string[] = [];
  let current = '';
  let currentTokens = 0;
  for (const piece of pieces) {
    const pieceTokens = tokensOf(piece);
    if (
      current !== '' &&
      (current.length + piece.length > maxChars || currentTokens + pieceTokens > maxTokens)
    ) {
      chunks.push(current);
      current = '';
      currentTokens = 0;
    }
    current += piece;
    currentTokens += pieceTokens;
    if (current.length >= targetChars || currentTokens >= targetTokens) {
      chunks.push(current);
      current = '';
      currentTokens = 0;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}
