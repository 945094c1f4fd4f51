import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { applyIfNeeded, canonicalJson, hashOf, withDesiredHash } from './apply.js';
import type { KubeClient } from './client.js';
import { apiErrorFrom } from './errors.js';
import { builtin, type KubeObject } from './resource.js';
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

describe('repairInvalid', () => {
  const invalid = () =>
    apiErrorFrom(422, {
      kind: 'Status',
      reason: 'Invalid',
      message: 'Service "s" is invalid: spec.ports[1].name: Duplicate value: "http"',
    });
  const desired = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'ns' },
    spec: { ports: [{ name: 'http', port: 8000 }] },
  };
  // A hand edit renumbered the port: our apply would merge 8000 beside the foreign 8080.
  const live: KubeObject & { spec: unknown } = {
    metadata: { name: 's', namespace: 'ns', resourceVersion: '42' },
    spec: { ports: [{ name: 'http', port: 8080 }] },
  };

  /** A client whose first apply is refused; records what else is sent. */
  function client(patchAnswer: () => unknown = () => ({})) {
    const calls: { verb: string; body: unknown; options?: unknown }[] = [];
    let applies = 0;
    const stub = {
      apply: async (_r: unknown, body: unknown) => {
        calls.push({ verb: 'apply', body });
        applies += 1;
        if (applies === 1) throw invalid();
        return { ...desired, metadata: { ...desired.metadata, resourceVersion: '44' } };
      },
      patch: async (_r: unknown, _n: string, _ns: string, body: unknown, options: unknown) => {
        calls.push({ verb: 'patch', body, options });
        return patchAnswer();
      },
    };
    return { calls, stub: stub as unknown as KubeClient };
  }

  it('overwrites a refused child with a guarded merge patch, then applies again', async () => {
    const { calls, stub } = client();
    const result = await applyIfNeeded(stub, builtin.services, desired, live, {
      repairInvalid: true,
    });
    expect(calls.map((c) => c.verb)).toEqual(['apply', 'patch', 'apply']);
    expect(calls[1]?.body).toEqual({
      metadata: { name: 's', namespace: 'ns', resourceVersion: '42' },
      spec: { ports: [{ name: 'http', port: 8000 }] },
    });
    expect(calls[1]?.options).toMatchObject({ type: 'merge' });
    expect(result).toMatchObject({ applied: true, repaired: expect.stringContaining('Duplicate') });
    expect(result.object.metadata.resourceVersion).toBe('44');
  });

  it('throws the apply’s error when the patch is refused too, and never repairs by default', async () => {
    const refused = client(() => {
      throw invalid();
    });
    await expect(
      applyIfNeeded(refused.stub, builtin.services, desired, live, { repairInvalid: true }),
    ).rejects.toThrow(/Duplicate value/);
    expect(refused.calls.map((c) => c.verb)).toEqual(['apply', 'patch']);

    const plain = client();
    await expect(applyIfNeeded(plain.stub, builtin.services, desired, live)).rejects.toThrow(
      /Duplicate value/,
    );
    expect(plain.calls.map((c) => c.verb)).toEqual(['apply']);
    // Nothing to repair when the object does not exist yet: the desired object itself is bad.
    const absent = client();
    await expect(
      applyIfNeeded(absent.stub, builtin.services, desired, undefined, { repairInvalid: true }),
    ).rejects.toThrow(/Duplicate value/);
    expect(absent.calls.map((c) => c.verb)).toEqual(['apply']);
  });

  it('lets a conflict on the patch through (live was stale: the caller retries)', async () => {
    const stale = client(() => {
      throw apiErrorFrom(409, { kind: 'Status', reason: 'Conflict', message: 'modified' });
    });
    await expect(
      applyIfNeeded(stale.stub, builtin.services, desired, live, { repairInvalid: true }),
    ).rejects.toThrow(/modified/);
  });
});
