import { describe, expect, it } from 'vitest';
import { imageSummary, rollbackSpec } from './rollback.js';

describe('rollbackSpec', () => {
  it("is the revision's spec with the live spec.paused", () => {
    expect(rollbackSpec({ replicas: 2, paused: false }, { replicas: 5, paused: true })).toEqual({
      replicas: 2,
      paused: true,
    });
    expect(rollbackSpec({ replicas: 2, paused: false }, { replicas: 5 })).toEqual({ replicas: 2 });
  });
});

describe('imageSummary', () => {
  it('names the tag and repository changes', () => {
    expect(imageSummary({ image: { tag: 'v3' } }, { image: { tag: 'v1' } })).toEqual([
      'image tag: v3 → v1',
    ]);
    expect(
      imageSummary({ image: { repository: 'a/s', tag: 'v1' } }, { image: { repository: 'b/s' } }),
    ).toEqual(['image repository: a/s → b/s', "image tag: v1 → <operator's default>"]);
  });

  it('is empty when the image does not change', () => {
    expect(imageSummary({ image: { tag: 'v1' }, replicas: 3 }, { image: { tag: 'v1' } })).toEqual(
      [],
    );
    expect(imageSummary({}, { image: {} })).toEqual([]);
  });
});
