import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  coalesceValues,
  decodeRelease,
  effectiveValues,
  type HelmRelease,
  manifestObjects,
  releaseSecretName,
} from './helm-release.js';

const release: HelmRelease = {
  name: 'llmplan',
  namespace: 'prod',
  version: 2,
  info: { status: 'deployed' },
  chart: { metadata: { name: 'llmplan', version: '0.1.0' }, values: { replicaCount: 1 } },
  config: { replicaCount: 3 },
  manifest: '',
};

/** As Helm's secret driver stores it, and as the API returns a Secret's data: base64 twice. */
const stored = (raw: Buffer) => Buffer.from(raw.toString('base64')).toString('base64');

describe('decodeRelease', () => {
  it('reads what Helm writes: base64 of gzip of JSON, base64 again as Secret data', () => {
    expect(decodeRelease(stored(gzipSync(JSON.stringify(release))))).toEqual(release);
  });

  it('reads an uncompressed record too', () => {
    expect(decodeRelease(stored(Buffer.from(JSON.stringify(release))))).toEqual(release);
  });

  it('refuses something that is not a release', () => {
    expect(() => decodeRelease(stored(gzipSync('{"kind":"x"}')))).toThrow(/not a Helm release/);
    expect(() => decodeRelease(stored(Buffer.from('nope')))).toThrow();
  });

  it('names the Secrets as Helm does', () => {
    expect(releaseSecretName('llmplan', 3)).toBe('sh.helm.release.v1.llmplan.v3');
  });
});

describe('coalesceValues', () => {
  it('merges maps key by key, replaces lists and scalars, and a null removes the key', () => {
    const defaults = {
      image: { repository: 'r', tag: '' },
      ingress: { hosts: [{ host: 'a', paths: [{ path: '/' }] }] },
      resources: { limits: { cpu: '1', memory: '1Gi' } },
    };
    expect(
      coalesceValues(defaults, {
        image: { tag: 'v2' },
        ingress: { hosts: [{ host: 'b' }] },
        resources: { limits: { memory: null } },
        extra: true,
      }),
    ).toEqual({
      image: { repository: 'r', tag: 'v2' },
      ingress: { hosts: [{ host: 'b' }] },
      resources: { limits: { cpu: '1' } },
      extra: true,
    });
    expect(defaults.resources.limits.memory).toBe('1Gi');
  });

  it('takes the chart defaults alone when the user supplied nothing', () => {
    expect(effectiveValues({ ...release, config: null })).toEqual({ replicaCount: 1 });
    expect(effectiveValues(release)).toEqual({ replicaCount: 3 });
  });
});

describe('manifestObjects', () => {
  it('lists the objects of a manifest, skipping empty documents and comments', () => {
    const manifest = [
      '---\n# Source: llmplan/templates/hpa.yaml\n',
      '---\n# Source: llmplan/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: llmplan\n',
      '---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llmplan\n',
    ].join('');
    expect(
      manifestObjects(manifest).map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`),
    ).toEqual(['v1 Service llmplan', 'apps/v1 Deployment llmplan']);
  });
});
