/** Issue 2, points 1, 3, 4 and 5 (body limit): the summary API over real HTTP. */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES, errorResponseSchema, summaryResponseSchema } from '../../service/api.js';
import { chunkText } from '../../service/summarize.js';
import { type Stack, sentences, startStack } from '../support/service-harness.js';

const RESPONSE_KEYS = [
  'compression_ratio',
  'created_at',
  'id',
  'model_name',
  'original_length',
  'original_text',
  'summary_length',
  'summary_text',
];

describe('POST /api/v1/summary/', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(
      { lmstudio: { apiKey: 'test-key' }, chunkChars: 8000, mapConcurrency: 4 },
      { answerModel: 'qwen/qwen3-4b@q4_k_m' },
    );
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.fake.resetStats());

  it('answers 200 with exactly the docs/api.md fields, counted on the trimmed text', async () => {
    const text = '  서울은 대한민국의 수도이다. 한강이 도시를 가로지른다. 😀  ';
    const response = await stack.post({ text });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(RESPONSE_KEYS);
    const summary = summaryResponseSchema.parse(body);
    expect(summary.original_text).toBe(text.trim());
    expect(summary.original_length).toBe([...text.trim()].length);
    // The fake answers "Summary (<n> chars): <first words>" for the text it was sent.
    expect(summary.summary_text).toBe(
      `Summary (${text.trim().length} chars): 서울은 대한민국의 수도이다. 한강이 도시를 가로지른다. 😀`,
    );
    expect(summary.summary_length).toBe([...summary.summary_text].length);
    expect(summary.compression_ratio).toBe(
      Math.round((summary.summary_length / summary.original_length) * 1000) / 1000,
    );
    expect(summary.model_name).toBe('qwen/qwen3-4b@q4_k_m');
    expect(Date.now() - Date.parse(summary.created_at)).toBeLessThan(60_000);
    expect(summary.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('also answers without the trailing slash', async () => {
    const response = await stack.post(
      { text: 'A text without a trailing slash.' },
      { path: '/api/v1/summary' },
    );
    expect(response.status).toBe(200);
    expect(stack.fake.stats.chatCalls).toBe(1);
  });

  it('sends the defaults, the configured model and the API key to LM Studio', async () => {
    await stack.post({ text: 'Defaults should apply to this request.' });
    const sent = stack.fake.chatRequests[0];
    expect(sent).toMatchObject({
      model: 'qwen/qwen3-4b',
      max_tokens: 1000,
      temperature: 0.3,
      authorization: 'Bearer test-key',
    });
    expect(sent?.messages[0]?.content).toContain('Korean');
    expect(sent?.messages[0]?.content).toContain('concise summary');
    expect(sent?.messages[1]).toEqual({
      role: 'user',
      content: 'Defaults should apply to this request.',
    });
  });

  it('passes summary_type, language, max_tokens and temperature through', async () => {
    const response = await stack.post({
      text: '東京は日本の首都です。人口は多いです。',
      summary_type: 'bullet_points',
      language: 'japanese',
      max_tokens: 200,
      temperature: 1.1,
    });
    expect(response.status).toBe(200);
    const sent = stack.fake.chatRequests[0];
    expect(sent).toMatchObject({ max_tokens: 200, temperature: 1.1 });
    expect(sent?.messages[0]?.content).toContain('Japanese');
    expect(sent?.messages[0]?.content).toContain('bulleted list');
  });

  it('splits a 50,000-character text, summarizes the parts concurrently (bounded), then combines them once', async () => {
    const text = sentences(50_000);
    const response = await stack.post({ text, language: 'english' });
    expect(response.status).toBe(200);
    const parts = chunkText(text, 8000).length;
    expect(parts).toBeGreaterThan(1);
    expect(stack.fake.stats.chatCalls).toBe(parts + 1);
    expect(stack.fake.stats.maxConcurrentChats).toBeLessThanOrEqual(4);
    const combine = stack.fake.chatRequests.at(-1);
    expect(combine?.messages[0]?.content).toContain(`summaries of the ${parts} consecutive parts`);
    for (let i = 1; i <= parts; i += 1)
      expect(combine?.messages[1]?.content).toContain(`[Part ${i}]`);
    const body = summaryResponseSchema.parse(await response.json());
    expect(body.original_length).toBe(50_000);
  });
});

describe('configured defaults', () => {
  it('DEFAULT_* settings apply when the body leaves a field out', async () => {
    const stack = await startStack({
      defaults: { language: 'english', summaryType: 'detailed', maxTokens: 321, temperature: 0.9 },
    });
    try {
      expect((await stack.post({ text: 'Configured defaults apply here.' })).status).toBe(200);
      const sent = stack.fake.chatRequests[0];
      expect(sent).toMatchObject({ max_tokens: 321, temperature: 0.9 });
      expect(sent?.messages[0]?.content).toContain('English');
      expect(sent?.messages[0]?.content).toContain('detailed summary');
    } finally {
      await stack.stop();
    }
  });
});

/** Sends raw bytes with node:http, for bodies fetch would refuse to send or for early answers. */
function rawPost(url: string, body: Buffer | string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = httpRequest(`${url}/api/v1/summary/`, { method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
        );
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}

describe('bad requests are refused without calling LM Studio', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  const ok = { text: 'This text is long enough to summarize.' };
  const cases: Array<[string, number, unknown, string | null]> = [
    ['an empty object', 422, {}, 'text'],
    ['text too short', 422, { text: 'short' }, 'text'],
    ['text short once trimmed', 422, { text: '      abc         ' }, 'text'],
    ['text over 50,000 characters', 422, { text: 'a'.repeat(50_001) }, 'text'],
    ['5 emoji: 10 UTF-16 units but 5 characters', 422, { text: '😀😀😀😀😀' }, 'text'],
    ['text not a string', 422, { text: 12_345_678_901 }, 'text'],
    ['text null', 422, { text: null }, 'text'],
    ['unknown summary_type', 422, { ...ok, summary_type: 'tldr' }, 'summary_type'],
    ['summary_type null', 422, { ...ok, summary_type: null }, 'summary_type'],
    ['unknown language', 422, { ...ok, language: 'french' }, 'language'],
    ['max_tokens below 50', 422, { ...ok, max_tokens: 49 }, 'max_tokens'],
    ['max_tokens above 4000', 422, { ...ok, max_tokens: 4001 }, 'max_tokens'],
    ['max_tokens not an integer', 422, { ...ok, max_tokens: 100.5 }, 'max_tokens'],
    ['max_tokens as a string', 422, { ...ok, max_tokens: '100' }, 'max_tokens'],
    ['temperature above 2', 422, { ...ok, temperature: 2.01 }, 'temperature'],
    ['temperature negative', 422, { ...ok, temperature: -0.1 }, 'temperature'],
    ['temperature as a string', 422, { ...ok, temperature: 'hot' }, 'temperature'],
    ['a JSON array', 422, [ok], ''],
    ['a JSON string', 422, JSON.stringify('just a string'), ''],
    ['JSON null', 422, 'null', ''],
    ['an empty body', 422, '', ''],
    ['malformed JSON', 400, '{"text": "unterminated', null],
    ['trailing garbage after JSON', 400, '{"text": "long enough text"} xyz', null],
  ];

  it.each(cases)('%s → %i', async (_name, status, body, field) => {
    const before = stack.fake.stats.chatCalls;
    const response = await stack.post(body);
    expect(response.status).toBe(status);
    const error = errorResponseSchema.parse(await response.json());
    expect(error.error_code).toBe(status === 422 ? 'VALIDATION_ERROR' : 'INVALID_JSON');
    if (field !== null) {
      expect(Array.isArray(error.details)).toBe(true);
      expect((error.details as Array<{ field: string }>).map((d) => d.field)).toContain(field);
    }
    expect(stack.fake.stats.chatCalls).toBe(before);
  });

  it('a non-JSON Content-Type → 422', async () => {
    const response = await stack.post('text=hello+world+long+enough', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(422);
    expect(errorResponseSchema.parse(await response.json()).error_code).toBe('VALIDATION_ERROR');
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it(`a body over ${BODY_LIMIT_BYTES} bytes → 413, read no further`, async () => {
    const body = JSON.stringify({ text: 'x'.repeat(BODY_LIMIT_BYTES) });
    const response = await rawPost(stack.url, body, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    });
    expect(response.status).toBe(413);
    const error = errorResponseSchema.parse(JSON.parse(response.body));
    expect(error.error_code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.error).toContain(String(BODY_LIMIT_BYTES));
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('a chunked body over the limit (no Content-Length) → 413', async () => {
    const body = Buffer.alloc(BODY_LIMIT_BYTES + 1, 'a');
    const response = await rawPost(stack.url, body, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    expect(response.status).toBe(413);
    expect(stack.fake.stats.chatCalls).toBe(0);
  });

  it('a body of exactly the limit is read (and then judged on its content)', async () => {
    const body = JSON.stringify({ text: 'y'.repeat(BODY_LIMIT_BYTES - 11) });
    expect(Buffer.byteLength(body)).toBe(BODY_LIMIT_BYTES);
    const response = await stack.post(body);
    expect(response.status).toBe(422); // too long a text, but not too large a body
    expect(stack.fake.stats.chatCalls).toBe(0);
  });
});
