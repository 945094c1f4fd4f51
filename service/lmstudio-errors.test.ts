import { describe, expect, it } from 'vitest';
import { classifyError, describeCause, readErrorBody } from './lmstudio-errors.js';
import { modelProblem, readNativeModel, resolveContext } from './lmstudio-models.js';

describe("LM Studio's error answers", () => {
  it('reads the error as an object or a bare string', () => {
    expect(readErrorBody({ error: 'plain' })).toEqual({ message: 'plain' });
    expect(readErrorBody({ error: { message: 'm', code: 'model_not_found', type: 't' } })).toEqual({
      message: 'm',
      code: 'model_not_found',
      type: 't',
    });
    expect(readErrorBody({ choices: [] })).toBeUndefined();
  });

  it.each([
    [
      'llama.cpp',
      '{"error":{"code":400,"type":"exceed_context_size_error","message":"request (2092 tokens) exceeds the available context size (2048 tokens), try increasing it","n_prompt_tokens":2092,"n_ctx":2048}}',
      { kind: 'context_overflow', contextTokens: 2048, promptTokens: 2092 },
    ],
    [
      'LM Studio, bare string',
      '{"error":"The number of tokens to keep from the initial prompt is greater than the context length. Try to load the model with a larger context length, or provide a shorter input"}',
      { kind: 'context_overflow' },
    ],
    [
      'No models loaded (0.4.8, object)',
      '{"error":{"message":"No models loaded. Please load a model in the developer page or use the `lms load` command.","type":"invalid_request_error"}}',
      { kind: 'no_model_loaded' },
    ],
    [
      'No models loaded (string)',
      '{"error":"No models loaded. Please load a model."}',
      { kind: 'no_model_loaded' },
    ],
    [
      'model_not_found',
      '{"error":{"message":"Invalid model identifier \\"x\\".","code":"model_not_found"}}',
      { kind: 'model_not_found' },
    ],
    ['anything else', '{"error":"boom"}', { kind: 'other', message: 'boom' }],
    ['not JSON', 'Bad Gateway', { kind: 'other', message: 'Bad Gateway' }],
  ])('%s', (_name, text, expected) => {
    expect(classifyError(text)).toMatchObject(expected);
  });

  it('names the cause and the model', () => {
    const cause = classifyError('{"error":"No models loaded."}');
    expect(describeCause(cause, 'qwen/qwen3-4b')).toContain('load "qwen/qwen3-4b"');
  });
});

describe('the model context', () => {
  const native = (json: unknown) => readNativeModel(json, 'm');

  it('reads /api/v0/models: the entry, none, or no such list', () => {
    expect(
      native({
        data: [
          { id: 'm', state: 'loaded', max_context_length: 32768, loaded_context_length: 4096 },
        ],
      }),
    ).toEqual({ state: 'loaded', loadedContextLength: 4096, maxContextLength: 32768 });
    expect(native({ data: [{ id: 'other' }] })).toBeNull();
    expect(native({ error: 'Unexpected endpoint or method.' })).toBeUndefined();
  });

  it('LMSTUDIO_CONTEXT_LENGTH, then the loaded length, then a capped maximum, then the fallback; never above a learned one', () => {
    const loaded = { state: 'loaded' as const, loadedContextLength: 8192, maxContextLength: 32768 };
    const notLoaded = {
      state: 'not-loaded' as const,
      loadedContextLength: undefined,
      maxContextLength: 32768,
    };
    const base = { configured: undefined, learned: undefined, fallback: 4096 };
    expect(resolveContext({ ...base, native: loaded, configured: 2048 })).toMatchObject({
      contextTokens: 2048,
      source: 'configured',
    });
    expect(resolveContext({ ...base, native: loaded })).toMatchObject({
      contextTokens: 8192,
      source: 'lmstudio',
    });
    expect(resolveContext({ ...base, native: notLoaded })).toMatchObject({
      contextTokens: 4096,
      state: 'not-loaded',
    });
    expect(resolveContext({ ...base, native: undefined })).toMatchObject({
      contextTokens: 4096,
      source: 'fallback',
    });
    expect(resolveContext({ ...base, native: loaded, learned: 2048 })).toMatchObject({
      contextTokens: 2048,
      source: 'learned',
    });
  });

  it('the health verdict on the model list', () => {
    expect(modelProblem(['m'], 'm')).toBeUndefined();
    expect(modelProblem([], 'm')).toContain('no model loaded');
    expect(modelProblem(['x'], 'm')).toContain('does not serve the model "m" (it serves: x)');
  });
});
