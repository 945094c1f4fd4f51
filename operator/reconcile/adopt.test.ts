import { describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '../api/labels.js';
import type { KubeObject } from '../runtime/index.js';
import { isAdoptable } from './adopt.js';

const object = (annotations: Record<string, string>, controller?: string): KubeObject => ({
  metadata: {
    name: 'llmplan',
    annotations,
    ...(controller
      ? {
          ownerReferences: [
            { apiVersion: 'v1', kind: 'Thing', name: controller, uid: 'u1', controller: true },
          ],
        }
      : {}),
  },
});

describe('isAdoptable', () => {
  it('adopts only an object that names this SummarizerService and has no controller', () => {
    expect(isAdoptable(object({ [ANNOTATIONS.adopt]: 'llmplan' }), 'llmplan')).toBe(true);
  });

  it('refuses an object without the opt-in, even one Helm manages', () => {
    expect(isAdoptable(object({ 'meta.helm.sh/release-name': 'llmplan' }), 'llmplan')).toBe(false);
  });

  it('refuses an opt-in for another SummarizerService', () => {
    expect(isAdoptable(object({ [ANNOTATIONS.adopt]: 'other' }), 'llmplan')).toBe(false);
  });

  it('refuses an object some controller owns, opt-in or not', () => {
    expect(isAdoptable(object({ [ANNOTATIONS.adopt]: 'llmplan' }, 'argo'), 'llmplan')).toBe(false);
  });

  it('ignores owner references that are not controllers', () => {
    const shared = object({ [ANNOTATIONS.adopt]: 'llmplan' });
    shared.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Thing', name: 't', uid: 'u2' }];
    expect(isAdoptable(shared, 'llmplan')).toBe(true);
  });
});
