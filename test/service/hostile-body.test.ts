/**
 * Issue 21, part 1: what a request body can make the service read and keep is bounded by
 * the API, whatever the body holds (docs/api.md#limits): the body limit fits the largest
 * valid request however it is escaped, nesting deeper than MAX_JSON_DEPTH is a 400 that
 * names the limit, unknown fields of any shape are ignored (never built), charsets and
 * encodings other than JSON's are a 415. Memory under such bodies: npm run bench:hostile.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BODY_LIMIT_BYTES,
  errorResponseSchema,
  MAX_JSON_DEPTH,
  summaryResponseSchema,
} from '../../service/api.js';
import { type Stack, startStack } from '../support/service-harness.js';

/** Sends raw bytes with node:http (fetch would not send a declared length it cannot read). */
function rawPost(url: string, body: Buffer | string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${url}/api/v1/summary/`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON with every character escaped as \uXXXX, as Python's json.dumps writes it by default. */
function asciiJson(value: Record<string, unknown>): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const TEXT = 'A text that is long enough to be summarized by the fake.';

describe('hostile bodies', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.fake.resetStats());

  it('the largest valid text, every character escaped outside the BMP (12 bytes each), fits the limit → 200', async () => {
    const text = '😀'.repeat(50_000);
    const body = asciiJson({
      text,
      summary_type: 'bullet_points',
      language: 'japanese',
      max_tokens: 4000,
      temperature: 1.5,
    });
    expect(Buffer.byteLength(body)).toBeGreaterThan(600_000);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(BODY_LIMIT_BYTES);
    const response = await stack.post(body);
    expect(response.status).toBe(200);
    expect(summaryResponseSchema.parse(await response.json()).original_length).toBe(50_000);
  });

  it(`an ignored field nested deeper than ${MAX_JSON_DEPTH} levels → 400 JSON_TOO_DEEP naming the limit; LM Studio not called`, async () => {
    // 300,000 levels: just under the body limit, so it is the depth that refuses it.
    const body = `{"text": ${JSON.stringify(TEXT)}, "extra": ${nested(300_000)}}`;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(BODY_LIMIT_BYTES);
    const response = await stack.post(body);
    expect(response.status).toBe(400);
    const error = errorResponseSchema.parse(await response.json());
    expect(error.error_code).toBe('JSON_TOO_DEEP');
    expect(error.error).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
    expect(error.details).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('the measured attack — 1 MB, an ignored array nested 500,000 deep — is refused before it is read (413)', async () => {
    const prefix = `{"text": ${JSON.stringify(TEXT)}, "extra": `;
    const levels = 500_000;
    const body = `${prefix}${nested(levels)}}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(1_000_000);
    const response = await rawPost(stack.url, body, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    });
    expect(response.status).toBe(413);
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('an ignored field nested to the limit is ignored → 200, and LM Studio gets only the text', async () => {
    const body = `{"extra": ${nested(MAX_JSON_DEPTH - 1)}, "text": ${JSON.stringify(TEXT)}}`;
    const response = await stack.post(body);
    expect(response.status).toBe(200);
    expect(stack.fake.chatRequests[0]?.messages[1]?.content).toBe(TEXT);
  });

  it('an ignored flat array filling the body to the limit → 200', async () => {
    const head = `{"text": ${JSON.stringify(TEXT)}, "extra": [0`;
    const body = `${head}${',0'.repeat((BODY_LIMIT_BYTES - head.length - 2) / 2)}]}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(BODY_LIMIT_BYTES - 3);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(BODY_LIMIT_BYTES);
    const response = await stack.post(body);
    expect(response.status).toBe(200);
    expect(summaryResponseSchema.parse(await response.json()).original_text).toBe(TEXT);
  });

  it('an API field holding a nested array is a 422 on that field (its type), not a 400', async () => {
    const response = await stack.post(`{"text": ${nested(20)}}`);
    expect(response.status).toBe(422);
    const error = errorResponseSchema.parse(await response.json());
    expect(error.details).toEqual([
      expect.objectContaining({ field: 'text', code: 'invalid_type' }),
    ]);
  });

  it('broken JSON inside an ignored field is still a 400 INVALID_JSON', async () => {
    const response = await stack.post(`{"text": ${JSON.stringify(TEXT)}, "extra": [1, 2,]}`);
    expect(response.status).toBe(400);
    const error = errorResponseSchema.parse(await response.json());
    expect(error.error_code).toBe('INVALID_JSON');
    expect(error.details).toMatch(/position \d+/);
  });

  it('UTF-16 with its charset is read; a non-Unicode charset or a compressed body → 415', async () => {
    const json = JSON.stringify({ text: '서울은 대한민국의 수도이다. 한강이 흐른다.' });
    const utf16 = await rawPost(stack.url, Buffer.from(json, 'utf16le'), {
      'content-type': 'application/json; charset=utf-16le',
    });
    expect(utf16.status).toBe(200);

    const refused: Record<string, string>[] = [
      { 'content-type': 'application/json; charset=latin1' },
      { 'content-type': 'application/json; charset="ISO-8859-1"' },
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      { 'content-type': 'application/json; charset=utf-9' },
    ];
    for (const headers of refused) {
      const response = await rawPost(stack.url, json, headers);
      expect({ headers, status: response.status }).toEqual({ headers, status: 415 });
      const error = errorResponseSchema.parse(JSON.parse(response.body));
      expect(error.error_code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(stack.fake.stats.chatCalls).toBe(1);
  });
});
