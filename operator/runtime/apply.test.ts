import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { applyIfNeeded, canonicalJson, hashOf, withDesiredHash } from './apply.js';
import type { KubeClient } from './client.js';
import { builtin } from './resource.js';
import { needsApply } from './subset.js';

describe('canonical JSON and hashes', () => {
  it('ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } })).toBe(
      '{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}',
    );
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
    expect(hashOf({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('withDesiredHash', () => {
  const key = 'example.io/desired-hash';
  const desired = {
    metadata: { name: 'x', annotations: { keep: 'me' } as Record<string, string> },
    spec: { a: 1, b: 2 },
  };

  it('stamps a stable hash without changing the rest', () => {
    const stamped = withDesiredHash(desired, key);
    expect(stamped.metadata.annotations?.keep).toBe('me');
    expect(stamped.metadata.annotations?.[key]).toMatch(/^[0-9a-f]{16}$/);
    expect(withDesiredHash(stamped, key)).toEqual(stamped); // idempotent
    expect(desired.metadata.annotations).toEqual({ keep: 'me' }); // input untouched
  });

  it('makes a removed field visible to needsApply', () => {
    const before = withDesiredHash(desired, key);
    const live = { ...before, metadata: { ...before.metadata, resourceVersion: '5' } };
    const { b: _removed, ...spec } = desired.spec;
    const after = withDesiredHash({ ...desired, spec }, key);
    // A plain subset check would miss the removal of spec.b …
    expect(needsApply({ ...desired, spec }, live)).toBe(false);
    // … the hash annotation does not.
    expect(needsApply(after, live)).toBe(true);
    expect(needsApply(before, live)).toBe(false);
  });
});

describe('typing', () => {
  it('accepts typed client-node models as desired objects (compile-time check)', () => {
    const typed = (client: KubeClient, desired: V1Deployment) =>
      applyIfNeeded(client, builtin.deployments, withDesiredHash(desired, 'x/hash'), undefined);
    expect(typeof typed).toBe('function');
  });
});
