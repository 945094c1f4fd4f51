import { describe, expect, it } from 'vitest';
import { LIMITS } from '../contract/env.js';
import {
  BODY_LIMIT_BYTES,
  MAX_JSON_DEPTH,
  openApiDocument,
  summaryRequestSchema,
  TRIMMED_CHARACTERS,
  trimmedLengthPattern,
} from './api.js';
import { loadConfig } from './config.js';

const requestSchema = summaryRequestSchema(loadConfig({}).defaults);
const textIsValid = (text: string) => requestSchema.safeParse({ text }).success;

describe('the text pattern of /openapi.json says what the validator does', () => {
  it('TRIMMED_CHARACTERS are exactly what String.prototype.trim removes (every BMP code point)', () => {
    const trimmed = new RegExp(`^[${TRIMMED_CHARACTERS}]$`, 'u');
    const differ: string[] = [];
    for (let code = 0; code <= 0xffff; code += 1) {
      const c = String.fromCharCode(code);
      if (trimmed.test(c) !== (`${c}x`.trim() === 'x')) differ.push(code.toString(16));
    }
    expect(differ).toEqual([]);
  });

  it('matches exactly the texts the validator accepts, in code points, at and around both bounds', () => {
    const { min, max } = LIMITS.textLength;
    const pattern = new RegExp(trimmedLengthPattern(min, max), 'u');
    const spaces = [' ', '\t\n', '\u3000\ufeff', '\u00a0\u2028', '\u0085', '\u001c', ''];
    const bodies = [
      'x'.repeat(min),
      'x'.repeat(min - 1),
      'x'.repeat(max),
      'x'.repeat(max + 1),
      `😀${'y'.repeat(min - 2)}😀`,
      '😀'.repeat(min - 1),
      '😀'.repeat(max),
      '😀'.repeat(max + 1),
      `a${' '.repeat(min - 2)}b`,
      `a${' '.repeat(min - 3)}b`,
      '\ud800'.repeat(min),
      `\u0085${'x'.repeat(min - 2)}\u0085`,
      `\u001c${'x'.repeat(min - 2)}\u001c`,
      ' '.repeat(min + 5),
      '',
    ];
    let accepted = 0;
    for (const body of bodies) {
      for (const before of spaces) {
        for (const after of spaces) {
          const text = before + body + after;
          const valid = textIsValid(text);
          if (valid) accepted += 1;
          expect({ text: text.slice(0, 40), valid: pattern.test(text) }).toEqual({
            text: text.slice(0, 40),
            valid,
          });
        }
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it('is the pattern /openapi.json publishes, with minLength and no maxLength on the raw text', () => {
    const doc = openApiDocument(requestSchema, 'test') as {
      components: {
        schemas: { SummaryRequest: { properties: { text: Record<string, unknown> } } };
      };
    };
    const text = doc.components.schemas.SummaryRequest.properties.text;
    expect(text.pattern).toBe(trimmedLengthPattern(LIMITS.textLength.min, LIMITS.textLength.max));
    expect(text.minLength).toBe(LIMITS.textLength.min);
    expect(text.maxLength).toBeUndefined();
  });

  it('states the body limits the service enforces', () => {
    const doc = openApiDocument(requestSchema, 'test') as {
      info: { description: string };
      paths: Record<string, { post?: { responses: Record<string, { description: string }> } }>;
    };
    expect(doc.info.description).toContain(`${BODY_LIMIT_BYTES} bytes`);
    expect(doc.info.description).toContain(`${MAX_JSON_DEPTH} levels`);
    const responses = doc.paths['/api/v1/summary/']?.post?.responses ?? {};
    expect(responses['413']?.description).toContain(String(BODY_LIMIT_BYTES));
    expect(responses['400']?.description).toContain(`${MAX_JSON_DEPTH} levels`);
  });
});
