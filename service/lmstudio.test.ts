import { describe, expect, it } from 'vitest';
import { decodeChatResponse } from './lmstudio.js';

describe('decodeChatResponse', () => {
  it('reads the first choice and the answering model', () => {
    expect(
      decodeChatResponse(
        {
          model: 'm@q4',
          choices: [{ message: { content: 'hi' } }, { message: { content: 'no' } }],
        },
        'req',
      ),
    ).toEqual({ content: 'hi', model: 'm@q4' });
  });

  it('falls back to the requested model and treats null content as empty', () => {
    expect(decodeChatResponse({ choices: [{ message: { content: null } }] }, 'req')).toEqual({
      content: '',
      model: 'req',
    });
  });

  it.each([
    null,
    'text',
    {},
    { choices: [] },
    { choices: [null] },
    { choices: [{}] },
    { choices: [{ message: { content: 5 } }] },
  ])('refuses %j', (json) => {
    expect(decodeChatResponse(json, 'req')).toBeUndefined();
  });
});
