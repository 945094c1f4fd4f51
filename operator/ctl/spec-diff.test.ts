import { describe, expect, it } from 'vitest';
import { applyMergePatch, jsonEqual, mergePatch, specChanges } from './spec-diff.js';

const v2 = {
  image: { repository: 'ghcr.io/acme/s', tag: 'v2', pullPolicy: 'IfNotPresent' },
  replicas: 3,
  env: [{ name: 'A', value: '1' }],
  podAnnotations: { team: 'ml', extra: 'x' },
  debug: true,
  paused: false,
};
const v1 = {
  image: { repository: 'ghcr.io/acme/s', tag: 'v1', pullPolicy: 'IfNotPresent' },
  replicas: 3,
  env: [],
  podAnnotations: { team: 'ml' },
  paused: false,
};

describe('jsonEqual', () => {
  it('ignores key order, not list order', () => {
    expect(jsonEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({}, [])).toBe(false);
  });
});

describe('specChanges', () => {
  it('lists changed, added and removed fields by path, lists whole', () => {
    expect(specChanges(v2, v1)).toEqual([
      { path: 'spec.debug', from: true },
      { path: 'spec.env', from: [{ name: 'A', value: '1' }], to: [] },
      { path: 'spec.image.tag', from: 'v2', to: 'v1' },
      { path: 'spec.podAnnotations.extra', from: 'x' },
    ]);
  });

  it('is empty for equal specs', () => {
    expect(specChanges(v1, structuredClone(v1))).toEqual([]);
  });
});

describe('mergePatch', () => {
  it('holds only the differences, null for removed fields', () => {
    expect(mergePatch(v2, v1)).toEqual({
      image: { tag: 'v1' },
      env: [],
      podAnnotations: { extra: null },
      debug: null,
    });
  });

  it('turns from into to when applied (RFC 7386)', () => {
    const patch = mergePatch(v2, v1);
    expect(applyMergePatch(v2, patch)).toEqual(v1);
    expect(applyMergePatch(v1, mergePatch(v1, v2))).toEqual(v2);
  });

  it('is undefined when nothing changes', () => {
    expect(mergePatch(v1, structuredClone(v1))).toBeUndefined();
  });

  it('replaces an object by a scalar and back', () => {
    const patch = mergePatch({ a: { b: 1 } }, { a: 2 });
    expect(patch).toEqual({ a: 2 });
    expect(applyMergePatch({ a: 2 }, mergePatch({ a: 2 }, { a: { b: 1 } }))).toEqual({
      a: { b: 1 },
    });
  });
});
