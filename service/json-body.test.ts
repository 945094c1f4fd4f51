import { describe, expect, it } from 'vitest';
import { JsonDepthError, JsonSyntaxError, readJsonFields } from './json-body.js';

const WANTED = new Set(['text', 'max_tokens', 'language']);
const read = (text: string, maxDepth = 64) => readJsonFields(text, WANTED, maxDepth);

describe('readJsonFields: only the fields the API defines', () => {
  it('keeps the wanted fields with their JSON.parse values and drops every other one', () => {
    const body = JSON.stringify({
      text: 'Some text with "quotes", \\ and \u00e9 and 😀 and \n',
      extra: { deep: [[1, 2, { x: 'y' }]] },
      max_tokens: -12.5e3,
      language: null,
      other: 'x'.repeat(1000),
    });
    expect(read(body)).toEqual({
      text: 'Some text with "quotes", \\ and \u00e9 and 😀 and \n',
      max_tokens: -12.5e3,
      language: null,
    });
  });

  it('an absent field stays absent; an empty object is an empty object', () => {
    expect(read('{"language": true}')).toEqual({ language: true });
    expect(read(' {\n} ')).toEqual({});
  });

  it('the last occurrence of a key wins, as with JSON.parse', () => {
    expect(read('{"text": "first", "text": 42}')).toEqual(JSON.parse('{"text": 42}'));
  });

  it('a key spelled with escapes is the same key', () => {
    expect(read('{"t\\u0065xt": "escaped key"}')).toEqual({ text: 'escaped key' });
    expect(read('{"\\u0074\\u0065\\u0078\\u0074": 1}')).toEqual({ text: 1 });
  });

  it('a wanted field holding an array or an object becomes an empty one (the type error stays)', () => {
    const body = `{"text": [${'[1,'.repeat(10)}2${']'.repeat(10)}], "max_tokens": {"a": {"b": 1}}}`;
    const fields = read(body) as Record<string, unknown>;
    expect(fields).toEqual({ text: [], max_tokens: {} });
  });

  it('a root that is not an object is a value of its type, containers empty', () => {
    expect(read('[{"text": "inside an array"}]')).toEqual([]);
    expect(read('"just a string"')).toBe('just a string');
    expect(read('null')).toBeNull();
    expect(read(' 12 ')).toBe(12);
  });

  it('does not treat __proto__ or constructor as anything but unknown keys', () => {
    const fields = read('{"__proto__": {"text": "polluted"}, "constructor": 1}') as object;
    expect(fields).toEqual({});
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
  });
});

describe('readJsonFields: nesting depth', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('accepts exactly the limit (the root counts as one level) and refuses one more', () => {
    // The root object is level 1, so the extra field may nest limit - 1 levels.
    expect(read(`{"extra": ${nested(63)}, "text": "ok"}`)).toEqual({ text: 'ok' });
    expect(() => read(`{"extra": ${nested(64)}, "text": "ok"}`)).toThrow(JsonDepthError);
    expect(read(nested(64))).toEqual([]);
    expect(() => read(nested(65))).toThrow(JsonDepthError);
    expect(() => read(`{"a": ${'{"b": '.repeat(64)}1${'}'.repeat(64)}}`)).toThrow(JsonDepthError);
  });

  it('refuses a body nested 500,000 deep at the first level too deep, naming the limit', () => {
    const body = `{"text": "long enough text", "extra": ${nested(500_000)}}`;
    let thrown: unknown;
    try {
      read(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(JsonDepthError);
    const error = thrown as JsonDepthError;
    expect(error.limit).toBe(64);
    expect(error.message).toContain('deeper than 64 levels');
    // It stopped where the 65th level opens, not at the end of the body.
    expect(error.position).toBe(body.indexOf('[') + 63);
  });

  it('a depth error is reported even when the body is also broken further on', () => {
    expect(() => read(`${nested(65)}garbage`)).toThrow(JsonDepthError);
  });

  it('a smaller limit is honoured', () => {
    expect(read('{"text": [[1]]}', 3)).toEqual({ text: [] });
    expect(() => read('{"text": [[1]]}', 2)).toThrow(/deeper than 2 levels/);
  });
});

describe('readJsonFields: syntax, as JSON.parse judges it', () => {
  const invalid = [
    '',
    '   ',
    '{',
    '{"text": "unterminated',
    '{"text": "ok"} xyz',
    '{"text": "ok",}',
    '[1,]',
    '[1 2]',
    '{"a" 1}',
    '{a: 1}',
    "{'a': 1}",
    '{"a": 01}',
    '{"a": 1.}',
    '{"a": .5}',
    '{"a": 1e}',
    '{"a": -}',
    '{"a": +1}',
    '{"a": NaN}',
    '{"a": tru}',
    '{"a": nul}',
    '{"a": "\\x41"}',
    '{"a": "\\u12G4"}',
    '{"a": "tab\there"}',
    '{"a": "new\nline"}',
    '\ufeff{"a": 1}',
    '{"a": 1}\u00a0',
  ];

  it.each(invalid)('%j is refused like JSON.parse refuses it', (body) => {
    expect(() => JSON.parse(body)).toThrow(SyntaxError);
    expect(() => read(body)).toThrow(JsonSyntaxError);
  });

  it('agrees with JSON.parse on thousands of mutated documents (accept/refuse and the values kept)', () => {
    const seeds = [
      '{"text": "héllo \\"wörld\\" \\u00e9\\ud83d\\ude00", "max_tokens": 100, "language": "english"}',
      '{"extra": [1, -2.5e-3, true, false, null, {"k": ["v", {}]}], "text": "x"}',
      '[{"text": 1}, [], {}, "s", 0, -0, 1E+2]',
      '{"max_tokens": 0.5e10, "language": null, "text": "\\/\\b\\f\\n\\r\\t"}',
    ];
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      ' ',
      '0',
      '-',
      '.',
      'e',
      'u',
      'a',
      'n',
    ];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 5000; i += 1) {
      let body = seeds[random(seeds.length)] as string;
      for (let edits = 1 + random(3); edits > 0; edits -= 1) {
        const at = random(body.length + 1);
        const op = random(3);
        const piece = pieces[random(pieces.length)] as string;
        body =
          op === 0
            ? body.slice(0, at) + body.slice(at + 1)
            : op === 1
              ? body.slice(0, at) + piece + body.slice(at)
              : body.slice(0, at) + piece + body.slice(at + 1);
      }
      let expected: unknown;
      let valid = true;
      try {
        expected = JSON.parse(body);
      } catch {
        valid = false;
      }
      if (!valid) {
        expect(() => read(body), body).toThrow(JsonSyntaxError);
        continue;
      }
      accepted += 1;
      const fields = read(body);
      if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
        const kept: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(expected)) {
          if (!WANTED.has(key)) continue;
          kept[key] =
            typeof value === 'object' && value !== null ? (Array.isArray(value) ? [] : {}) : value;
        }
        expect(fields, body).toEqual(kept);
      } else if (Array.isArray(expected)) {
        expect(fields, body).toEqual([]);
      } else {
        expect(fields, body).toEqual(expected);
      }
    }
    // Both outcomes were exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(4900);
  });
});
