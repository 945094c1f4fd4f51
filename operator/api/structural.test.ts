import { describe, expect, it } from 'vitest';
import { NonStructuralSchemaError, toStructuralSchema } from './structural.js';

describe('toStructuralSchema', () => {
  it('drops JSON-Schema-only keys and closed-object markers', () => {
    const out = toStructuralSchema({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      additionalProperties: false,
      properties: { a: { type: 'string', title: 'A' } },
    });
    expect(out).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
  });

  it('refuses $ref and unions other than int-or-string', () => {
    expect(() => toStructuralSchema({ $ref: '#/definitions/x' })).toThrow(NonStructuralSchemaError);
    expect(() =>
      toStructuralSchema({
        type: 'object',
        properties: { u: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } },
      }),
    ).toThrow(/\.u: unions other than int-or-string/);
  });

  it('turns free-form maps and values into preserve-unknown-fields', () => {
    const out = toStructuralSchema({
      type: 'object',
      properties: {
        map: { type: 'object', additionalProperties: {} },
        loose: { type: 'object', properties: {}, additionalProperties: {} },
        anything: { description: 'any value' },
        typed: { type: 'object', additionalProperties: { type: 'string' } },
      },
    });
    expect(out.properties).toEqual({
      map: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      loose: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      anything: { description: 'any value', 'x-kubernetes-preserve-unknown-fields': true },
      typed: { type: 'object', additionalProperties: { type: 'string' } },
    });
  });

  it('normalizes int-or-string and hoists branch constraints', () => {
    const out = toStructuralSchema({
      description: 'cpu',
      'x-kubernetes-int-or-string': true,
      anyOf: [
        { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        { type: 'string', maxLength: 64 },
      ],
      default: '500m',
    });
    expect(out).toEqual({
      description: 'cpu',
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      default: '500m',
      minimum: 0,
      maxLength: 64,
    });
    expect(Object.keys(out).slice(0, 3)).toEqual([
      'description',
      'x-kubernetes-int-or-string',
      'anyOf',
    ]);
  });

  it("drops zod's safe-integer bounds, date-time regex, and rewrites const", () => {
    const out = toStructuralSchema({
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        t: { type: 'string', format: 'date-time', pattern: '^\\d{4}-.*$' },
        k: { type: 'string', const: 'X' },
      },
    });
    expect(out.properties).toEqual({
      n: { type: 'integer' },
      t: { type: 'string', format: 'date-time' },
      k: { type: 'string', enum: ['X'] },
    });
  });

  it('recurses into items and additionalProperties, and refuses untyped constrained nodes', () => {
    const out = toStructuralSchema({
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: { type: 'object', additionalProperties: false },
      },
    });
    expect(out).toEqual({
      type: 'array',
      items: { type: 'object', additionalProperties: { type: 'object' } },
    });
    expect(() => toStructuralSchema({ type: 'array', items: [{ type: 'string' }] })).toThrow(
      /items/,
    );
    expect(() =>
      toStructuralSchema({ type: 'object', properties: { x: { minLength: 1 } } }),
    ).toThrow(/\.x: a node needs a type/);
  });

  it('does not modify its input', () => {
    const input = {
      type: 'object',
      additionalProperties: false,
      properties: { a: { type: 'string' } },
    };
    const copy = structuredClone(input);
    toStructuralSchema(input);
    expect(input).toEqual(copy);
  });
});
