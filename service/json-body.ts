/**
 * Reads a JSON request body without building what the API does not define
 * (docs/api.md#limits). One pass over the text checks the whole body is JSON
 * (RFC 8259, as JSON.parse reads it) and that arrays and objects nest at most
 * `maxDepth` levels, stopping at the first level too deep; only the values of the
 * wanted top-level fields are then parsed, and only when they are strings, numbers,
 * booleans or null. Everything else — unknown fields, a root that is not an object, a
 * wanted field holding an array or an object — is never materialized: what it would
 * have been is replaced by an empty value of the same JSON type, so the validator
 * still reports the same type error. Memory is the result's few primitives, whatever
 * the body holds.
 */

/** The body is not JSON; `message` says where, in JSON.parse's words. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** The body nests arrays and objects deeper than the limit. */
export class JsonDepthError extends Error {
  constructor(
    readonly limit: number,
    readonly position: number,
  ) {
    super(`JSON nested deeper than ${limit} levels of arrays and objects at position ${position}`);
    this.name = 'JsonDepthError';
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

type Kind = 'object' | 'array' | 'string' | 'number' | 'literal';

const isDigit = (c: number) => c >= DIGIT_0 && c <= DIGIT_9;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** The characters `\` may escape in a JSON string. */
const SIMPLE_ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

class Scanner {
  pos = 0;
  constructor(
    readonly src: string,
    readonly maxDepth: number,
    /** Keys longer than this (in the source, quotes included) are never decoded. */
    readonly keyLimit: number,
  ) {}

  fail(what: string): never {
    if (this.pos >= this.src.length) throw new JsonSyntaxError('Unexpected end of JSON input');
    throw new JsonSyntaxError(`${what} at position ${this.pos}`);
  }

  unexpected(): never {
    const c = this.src.codePointAt(this.pos);
    const shown = c === undefined ? '' : JSON.stringify(String.fromCodePoint(c)).slice(1, -1);
    this.fail(`Unexpected token '${shown}'`);
  }

  skipWhitespace(): void {
    const { src } = this;
    let { pos } = this;
    while (pos < src.length) {
      const c = src.charCodeAt(pos);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      pos += 1;
    }
    this.pos = pos;
  }

  /** Skips one value starting at `pos` (no whitespace before it); returns its kind. */
  value(depth: number): Kind {
    const c = this.src.charCodeAt(this.pos);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth >= this.maxDepth) throw new JsonDepthError(this.maxDepth, this.pos);
      if (c === OPEN_BRACE) this.object(depth + 1, undefined);
      else this.array(depth + 1);
      return c === OPEN_BRACE ? 'object' : 'array';
    }
    if (c === QUOTE) {
      this.string();
      return 'string';
    }
    if (c === MINUS || isDigit(c)) {
      this.number();
      return 'number';
    }
    for (const word of ['true', 'false', 'null']) {
      if (this.src.startsWith(word, this.pos)) {
        this.pos += word.length;
        return 'literal';
      }
    }
    return this.unexpected();
  }

  /**
   * An object at `pos`. With `visit`, each member's key (decoded, when short enough
   * to matter) and the span of its value are reported.
   */
  object(
    depth: number,
    visit: ((key: string | undefined, start: number, kind: Kind) => void) | undefined,
  ) {
    const { src } = this;
    this.pos += 1; // {
    this.skipWhitespace();
    if (src.charCodeAt(this.pos) === CLOSE_BRACE) {
      this.pos += 1;
      return;
    }
    for (;;) {
      if (src.charCodeAt(this.pos) !== QUOTE) this.fail("Expected property name or '}'");
      const keyStart = this.pos;
      this.string();
      const key = visit === undefined ? undefined : this.shortKey(keyStart, this.pos);
      this.skipWhitespace();
      if (src.charCodeAt(this.pos) !== COLON) this.fail("Expected ':' after property name");
      this.pos += 1;
      this.skipWhitespace();
      const valueStart = this.pos;
      const kind = this.value(depth);
      visit?.(key, valueStart, kind);
      this.skipWhitespace();
      const next = src.charCodeAt(this.pos);
      this.pos += 1;
      if (next === CLOSE_BRACE) return;
      if (next !== COMMA) {
        this.pos -= 1;
        this.fail("Expected ',' or '}' after property value");
      }
      this.skipWhitespace();
    }
  }

  array(depth: number): void {
    const { src } = this;
    this.pos += 1; // [
    this.skipWhitespace();
    if (src.charCodeAt(this.pos) === CLOSE_BRACKET) {
      this.pos += 1;
      return;
    }
    for (;;) {
      this.value(depth);
      this.skipWhitespace();
      const next = src.charCodeAt(this.pos);
      this.pos += 1;
      if (next === CLOSE_BRACKET) return;
      if (next !== COMMA) {
        this.pos -= 1;
        this.fail("Expected ',' or ']' after array element");
      }
      this.skipWhitespace();
    }
  }

  /** A string at `pos` (its opening quote), escapes checked; `pos` ends after the closing quote. */
  string(): void {
    const { src } = this;
    let pos = this.pos + 1;
    for (;;) {
      if (pos >= src.length) {
        this.pos = pos;
        throw new JsonSyntaxError(`Unterminated string in JSON at position ${pos}`);
      }
      const c = src.charCodeAt(pos);
      if (c === QUOTE) break;
      if (c < SPACE) {
        this.pos = pos;
        this.fail('Bad control character in string literal');
      }
      if (c === BACKSLASH) {
        const escaped = src.charCodeAt(pos + 1);
        if (escaped === 0x75) {
          // \uXXXX
          for (let i = 2; i < 6; i += 1) {
            if (!isHex(src.charCodeAt(pos + i))) {
              this.pos = pos + i;
              this.fail('Bad Unicode escape');
            }
          }
          pos += 6;
          continue;
        }
        if (!SIMPLE_ESCAPES.has(escaped)) {
          this.pos = pos + 1;
          this.fail('Bad escaped character');
        }
        pos += 2;
        continue;
      }
      pos += 1;
    }
    this.pos = pos + 1;
  }

  number(): void {
    const { src } = this;
    if (src.charCodeAt(this.pos) === MINUS) {
      this.pos += 1;
      if (!isDigit(src.charCodeAt(this.pos))) this.fail('No number after minus sign');
    }
    // 0, or a digit 1-9 followed by digits: a leading zero stands alone.
    if (src.charCodeAt(this.pos) === DIGIT_0) this.pos += 1;
    else this.digits();
    if (src.charCodeAt(this.pos) === DOT) {
      this.pos += 1;
      if (!isDigit(src.charCodeAt(this.pos))) this.fail('Unterminated fractional number');
      this.digits();
    }
    const e = src.charCodeAt(this.pos);
    if (e === LOWER_E || e === UPPER_E) {
      this.pos += 1;
      const sign = src.charCodeAt(this.pos);
      if (sign === PLUS || sign === MINUS) this.pos += 1;
      if (!isDigit(src.charCodeAt(this.pos))) this.fail('Exponent part is missing a number');
      this.digits();
    }
  }

  digits(): void {
    while (isDigit(this.src.charCodeAt(this.pos))) this.pos += 1;
  }

  /** A key's decoded text, or undefined when it is too long to be one the caller wants. */
  shortKey(start: number, end: number): string | undefined {
    return end - start > this.keyLimit ? undefined : (parseSpan(this.src, start, end) as string);
  }
}

/** JSON.parse of a span the scanner has read; it cannot fail, but if it did it would be the body's fault. */
function parseSpan(text: string, start: number, end: number): unknown {
  try {
    return JSON.parse(text.slice(start, end));
  } catch (error) {
    throw new JsonSyntaxError(error instanceof Error ? error.message : String(error));
  }
}

/** An empty value of the kind a container was, so a type error still names its type. */
const emptyOf = (kind: 'object' | 'array'): unknown => (kind === 'object' ? {} : []);

/**
 * The body `text` as the validator should see it: for an object, a new object with
 * only the `wanted` keys that occur (the last occurrence wins, as with JSON.parse);
 * otherwise a value of the root's JSON type. Throws JsonSyntaxError when `text` is not
 * JSON, JsonDepthError when it nests deeper than `maxDepth` (the root counts as 1).
 */
export function readJsonFields(
  text: string,
  wanted: ReadonlySet<string>,
  maxDepth: number,
): unknown {
  // A key escaped in full (\uXXXX per character) is at most 6 times as long, plus quotes.
  const keyLimit = Math.max(0, ...[...wanted].map((key) => key.length)) * 6 + 2;
  const scanner = new Scanner(text, maxDepth, keyLimit);
  scanner.skipWhitespace();
  const rootStart = scanner.pos;
  let result: unknown;
  if (text.charCodeAt(rootStart) === OPEN_BRACE && maxDepth >= 1) {
    const fields: Record<string, unknown> = {};
    scanner.object(1, (key, start, kind) => {
      if (key === undefined || !wanted.has(key)) return;
      fields[key] =
        kind === 'object' || kind === 'array' ? emptyOf(kind) : parseSpan(text, start, scanner.pos);
    });
    result = fields;
  } else {
    const kind = scanner.value(0);
    result =
      kind === 'object' || kind === 'array'
        ? emptyOf(kind)
        : parseSpan(text, rootStart, scanner.pos);
  }
  scanner.skipWhitespace();
  if (scanner.pos < text.length) scanner.fail('Unexpected non-whitespace character after JSON');
  return result;
}
