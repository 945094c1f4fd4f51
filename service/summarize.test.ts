import { describe, expect, it } from 'vitest';
import { LANGUAGES, SUMMARY_TYPES } from '../contract/env.js';
import { Cancellation, type ChatRequest, LlmError } from './lmstudio.js';
import {
  buildMessages,
  ContextTooSmallError,
  characterCount,
  chunkText,
  compressionRatio,
  EmptySummaryError,
  mapBounded,
  splitSentences,
  stripReasoning,
  summarize,
  systemPrompt,
} from './summarize.js';
import { estimateTokens } from './tokens.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('splitSentences', () => {
  it('splits English after . ! ? followed by space, keeping every character', () => {
    const text = 'Pi is 3.14 today. Visit example.com now! Really? Yes.';
    const sentences = splitSentences(text);
    expect(sentences).toEqual([
      'Pi is 3.14 today. ',
      'Visit example.com now! ',
      'Really? ',
      'Yes.',
    ]);
    expect(sentences.join('')).toBe(text);
  });

  it('splits Korean on its (Latin) punctuation', () => {
    const text = '서울은 수도이다. 한강이 흐른다! 정말인가? 그렇다.';
    expect(splitSentences(text)).toEqual([
      '서울은 수도이다. ',
      '한강이 흐른다! ',
      '정말인가? ',
      '그렇다.',
    ]);
  });

  it('splits Japanese after 。！？ without spaces and keeps closing brackets', () => {
    const text = '東京は首都です。「本当ですか？」と聞いた。すごい！次';
    const sentences = splitSentences(text);
    expect(sentences).toEqual([
      '東京は首都です。',
      '「本当ですか？」',
      'と聞いた。',
      'すごい！',
      '次',
    ]);
    expect(sentences.join('')).toBe(text);
  });

  it('treats line breaks as boundaries and keeps quotes with their sentence', () => {
    expect(splitSentences('He said "stop." Then left\nNext line')).toEqual([
      'He said "stop." ',
      'Then left\n',
      'Next line',
    ]);
  });
});

describe('chunkText', () => {
  const sentence = (i: number) => `Sentence number ${i} talks about topic ${i % 7}. `;
  const long = Array.from({ length: 1200 }, (_, i) => sentence(i)).join('');

  it('returns short text whole', () => {
    expect(chunkText('short text.', 100)).toEqual(['short text.']);
  });

  it('never exceeds the limit, cuts only at sentence ends, and loses nothing', () => {
    const chunks = chunkText(long, 4000);
    expect(chunks.join('')).toBe(long);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(4000);
      expect(chunk).toMatch(/\. $/);
    }
  });

  it('balances chunks instead of leaving a scrap', () => {
    const text = long.slice(0, 9000);
    const chunks = chunkText(text, 4000);
    expect(chunks.length).toBe(3);
    const lengths = chunks.map((c) => c.length);
    expect(Math.min(...lengths)).toBeGreaterThan(2500);
  });

  it('a 50,000-character text with the default 8,000-character chunks needs at most 8 calls', () => {
    const korean =
      '서울은 대한민국의 수도이며 인구는 약 천만 명이다. 한강이 도시를 가로질러 흐른다. ';
    const text = korean.repeat(Math.ceil(50_000 / korean.length)).slice(0, 50_000);
    const chunks = chunkText(text, 8000);
    expect(chunks.length).toBeLessThanOrEqual(8);
    expect(chunks.join('')).toBe(text);
  });

  it('hard-splits a sentence with no punctuation, without breaking surrogate pairs', () => {
    const text = '😀'.repeat(3000); // 6000 UTF-16 units, no boundary
    const chunks = chunkText(text, 1001);
    expect(chunks.join('')).toBe(text);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(1001);
      expect(chunk.length % 2).toBe(0);
    }
  });
});

describe('prompts', () => {
  it('every summary_type × language gives a distinct system prompt naming the output language', () => {
    const seen = new Set<string>();
    const languageMarker = { korean: 'Korean', english: 'English', japanese: 'Japanese' } as const;
    for (const type of SUMMARY_TYPES) {
      for (const language of LANGUAGES) {
        const prompt = systemPrompt(type, language, { kind: 'whole' }, 'some/model');
        expect(prompt).toContain(languageMarker[language]);
        seen.add(prompt);
      }
    }
    expect(seen.size).toBe(SUMMARY_TYPES.length * LANGUAGES.length);
  });

  it('the user message carries only the text', () => {
    const messages = buildMessages(
      { summary_type: 'bullet_points', language: 'japanese' },
      { kind: 'whole' },
      'THE TEXT',
      'm',
    );
    expect(messages).toHaveLength(2);
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain('bulleted list');
    expect(messages[1]).toEqual({ role: 'user', content: 'THE TEXT' });
  });

  it('tells Qwen3 models not to think, and no other model', () => {
    expect(systemPrompt('concise', 'english', { kind: 'whole' }, 'qwen/qwen3-4b')).toMatch(
      /\/no_think$/,
    );
    expect(systemPrompt('concise', 'english', { kind: 'whole' }, 'llama-3')).not.toContain(
      '/no_think',
    );
  });

  it('strips reasoning blocks', () => {
    expect(stripReasoning('<think>hmm\nlet me see</think>\n\nThe summary.')).toBe('The summary.');
    expect(stripReasoning('<think>never closed')).toBe('');
  });
});

describe('mapBounded', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([50, 10, 30, 20, 40, 5, 15], 3, async (ms, index) => {
      running += 1;
      peak = Math.max(peak, running);
      await sleep(ms);
      running -= 1;
      return index * 10;
    });
    expect(results).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(peak).toBe(3);
  });

  it('rejects with the first failure, aborts the others and starts no more', async () => {
    const started: number[] = [];
    const aborted: number[] = [];
    const promise = mapBounded([0, 1, 2, 3, 4, 5], 2, async (i, _index, cancellation) => {
      started.push(i);
      if (i === 1) throw new Error('boom');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        cancellation.once('abort', () => {
          clearTimeout(timer);
          aborted.push(i);
          resolve();
        });
      });
      return i;
    });
    await expect(promise).rejects.toThrow('boom');
    expect(started).toEqual([0, 1]);
    expect(aborted).toEqual([0]);
  });

  it('a cancelled parent cancels the calls in flight', async () => {
    const parent = new Cancellation();
    const seen: boolean[] = [];
    const promise = mapBounded(
      [1, 2],
      2,
      (_item, _index, cancellation) =>
        new Promise<number>((_resolve, reject) => {
          cancellation.once('abort', () => {
            seen.push(cancellation.aborted);
            reject(new Error('cancelled'));
          });
        }),
      parent,
    );
    parent.abort();
    await expect(promise).rejects.toThrow('cancelled');
    expect(seen).toEqual([true, true]);
    expect(parent.listenerCount('abort')).toBe(0);
  });
});

describe('summarize', () => {
  const input = {
    summary_type: 'concise' as const,
    language: 'english' as const,
    max_tokens: 300,
    temperature: 0.2,
  };

  it('makes one call for a text that fits a chunk', async () => {
    const calls: ChatRequest[] = [];
    const result = await summarize(
      { ...input, text: 'A short text. Nothing more.' },
      {
        chat: async (request) => {
          calls.push(request);
          return { content: '<think>x</think> Short.', model: 'answered/model' };
        },
        model: 'configured/model',
        contextTokens: 32_768,
        chunkChars: 1000,
        mapConcurrency: 4,
      },
    );
    expect(result).toEqual({ summary: 'Short.', model: 'answered/model', chunks: 1, llmCalls: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      model: 'configured/model',
      max_tokens: 300,
      temperature: 0.2,
    });
  });

  it('maps chunks concurrently (bounded) and reduces their summaries in one call', async () => {
    const text = Array.from({ length: 100 }, (_, i) => `Fact ${i} is stated here.`).join(' ');
    const calls: ChatRequest[] = [];
    let running = 0;
    let peak = 0;
    const result = await summarize(
      { ...input, text },
      {
        chat: async (request) => {
          calls.push(request);
          running += 1;
          peak = Math.max(peak, running);
          await sleep(20);
          running -= 1;
          const user = request.messages[1]?.content ?? '';
          return { content: `S[${user.slice(0, 7)}]`, model: 'm' };
        },
        model: 'm',
        contextTokens: 32_768,
        chunkChars: 500,
        mapConcurrency: 2,
      },
    );
    const chunks = chunkText(text, 500).length;
    expect(result.chunks).toBe(chunks);
    expect(result.llmCalls).toBe(chunks + 1);
    expect(calls).toHaveLength(chunks + 1);
    expect(peak).toBe(2);
    const reduce = calls.at(-1);
    expect(reduce?.messages[0]?.content).toContain(`summaries of the ${chunks} consecutive parts`);
    // The reduce call sees every partial summary, in order.
    expect(reduce?.messages[1]?.content).toContain('[Part 1]\nS[Fact 0 ]');
    expect(reduce?.messages[1]?.content).toContain(`[Part ${chunks}]`);
    expect(result.summary).toBe('S[[Part 1]');
  });

  it('an empty answer is an error, not an empty summary', async () => {
    await expect(
      summarize(
        { ...input, text: 'Some text to summarize.' },
        {
          chat: async () => ({ content: '<think>only thinking</think>', model: 'm' }),
          model: 'm',
          contextTokens: 32_768,
          chunkChars: 1000,
          mapConcurrency: 1,
        },
      ),
    ).rejects.toBeInstanceOf(EmptySummaryError);
  });
});

describe('summarize: token budgets, overflow retries, recursive reduce', () => {
  const input = {
    summary_type: 'concise' as const,
    language: 'korean' as const,
    max_tokens: 100,
    temperature: 0.3,
  };
  const korean = '서울은 대한민국의 수도이며 인구는 약 천만 명이다. '.repeat(300);
  const promptTokens = (request: ChatRequest) =>
    request.messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);

  /** A model whose real context is `limit` tokens (by our estimate), answering like llama.cpp or LM Studio. */
  function model(
    limit: number,
    tellsContext: boolean,
    reply = (r: ChatRequest) => `요약 ${r.messages[1]?.content.length}`,
  ) {
    const calls: Array<{ request: ChatRequest; refused: boolean }> = [];
    const chat = async (request: ChatRequest) => {
      const tokens = promptTokens(request);
      const refused = tokens > limit;
      calls.push({ request, refused });
      if (refused) {
        throw new LlmError(
          'context_overflow',
          'too long',
          tellsContext ? { contextTokens: limit + 200 } : {},
        );
      }
      return { content: reply(request), model: 'm' };
    };
    return { chat, calls };
  }

  it('fits every part to the context it is given: prompt + max_tokens + margin', async () => {
    const { chat, calls } = model(100_000, false);
    const result = await summarize(
      { ...input, text: korean },
      { chat, model: 'm', contextTokens: 4096, chunkChars: 50_000, mapConcurrency: 4 },
    );
    expect(result.chunks).toBeGreaterThan(1);
    for (const { request } of calls)
      expect(promptTokens(request) + request.max_tokens).toBeLessThanOrEqual(4096);
  });

  it.each([true, false])(
    'context overflow (context named: %s): the refused parts are split and retried',
    async (tellsContext) => {
      // The service believes 8,192 tokens; the model has about 1,800.
      const { chat, calls } = model(1800, tellsContext);
      const result = await summarize(
        { ...input, text: korean },
        { chat, model: 'm', contextTokens: 8192, chunkChars: 50_000, mapConcurrency: 4 },
      );
      expect(result.summary).toMatch(/^요약/);
      const refused = calls.filter((c) => c.refused).length;
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(result.llmCalls).toBe(calls.length);
      // Each refusal teaches: far fewer refusals than answered parts.
      expect(refused).toBeLessThan(result.chunks);
    },
  );

  it('summaries that do not fit one call are merged in levels, then combined once in the requested style', async () => {
    const { chat, calls } = model(100_000, false, (r) =>
      r.messages[0]?.content.includes('one part of a longer document')
        ? '부분 요약 '.repeat(60)
        : '최종 요약',
    );
    const result = await summarize(
      { ...input, text: korean },
      { chat, model: 'm', contextTokens: 2048, chunkChars: 50_000, mapConcurrency: 4 },
    );
    expect(result.summary).toBe('최종 요약');
    const kinds = calls.map(({ request }) => request.messages[0]?.content ?? '');
    expect(
      kinds.filter((k) => k.includes('Merge them into one detailed summary')).length,
    ).toBeGreaterThan(0);
    expect(kinds.filter((k) => k.includes('Combine them into a single summary'))).toHaveLength(1);
    expect(kinds.at(-1)).toContain('Combine them into a single summary');
    for (const { request } of calls)
      expect(promptTokens(request) + request.max_tokens).toBeLessThanOrEqual(2048);
  });

  it('a context too small for the prompt itself (a model loaded with 300 tokens) is an error that says what to change', async () => {
    const { chat } = model(100_000, false);
    await expect(
      summarize(
        { ...input, max_tokens: 4000, text: korean },
        { chat, model: 'm', contextTokens: 300, chunkChars: 50_000, mapConcurrency: 1 },
      ),
    ).rejects.toBeInstanceOf(ContextTooSmallError);
  });
});

describe('lengths', () => {
  it('counts characters as code points', () => {
    expect(characterCount('한국어')).toBe(3);
    expect(characterCount('a😀b')).toBe(3);
    expect(characterCount('')).toBe(0);
  });

  it('rounds the compression ratio to 3 decimals', () => {
    expect(compressionRatio(1, 3)).toBe(0.333);
    expect(compressionRatio(2, 3)).toBe(0.667);
    expect(compressionRatio(5, 0)).toBe(0);
  });
});
