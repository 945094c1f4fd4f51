import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fromKubeconfigFile, inCluster, loadClusterAccess } from './kubeconfig.js';

function dir(): string {
  return mkdtempSync(path.join(tmpdir(), 'rt-kubeconfig-'));
}

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const d = dir();
  writeFileSync(path.join(d, 'ca.pem'), 'CA-PEM');
  writeFileSync(path.join(d, 'client.pem'), 'CERT-PEM');
  writeFileSync(path.join(d, 'client.key'), 'KEY-PEM');
  writeFileSync(path.join(d, 'token'), 'file-token\n');
  const file = path.join(d, 'config');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'main',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: 'https://10.0.0.1:6443/',
            'certificate-authority': 'ca.pem',
            ...cluster,
          },
        },
        { name: 'other', cluster: { server: 'https://other:443' } },
      ],
      users: [{ name: 'u', user }],
      contexts: [
        { name: 'main', context: { cluster: 'c', user: 'u' } },
        { name: 'alt', context: { cluster: 'other', user: 'u' } },
      ],
    }),
  );
  return file;
}

describe('fromKubeconfigFile', () => {
  it('reads client certificates from files relative to the kubeconfig', async () => {
    const access = fromKubeconfigFile(
      kubeconfig({ 'client-certificate': 'client.pem', 'client-key': 'client.key' }),
    );
    expect(access.server).toBe('https://10.0.0.1:6443/');
    const tls = await access.tls();
    expect(String(tls.ca)).toBe('CA-PEM');
    expect(String(tls.cert)).toBe('CERT-PEM');
    expect(String(tls.key)).toBe('KEY-PEM');
    expect(await access.headers()).toEqual({});
  });

  it('reads inline base64 data, tokens, skip-verify and tls-server-name', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const access = fromKubeconfigFile(
      kubeconfig(
        { 'client-certificate-data': b64('C'), 'client-key-data': b64('K'), token: 'abc' },
        {
          'certificate-authority-data': b64('INLINE-CA'),
          'insecure-skip-tls-verify': true,
          'tls-server-name': 'api.local',
        },
      ),
    );
    const tls = await access.tls();
    expect(String(tls.ca)).toBe('INLINE-CA');
    expect(String(tls.cert)).toBe('C');
    expect(tls.rejectUnauthorized).toBe(false);
    expect(tls.servername).toBe('api.local');
    expect(await access.headers()).toEqual({ authorization: 'Bearer abc' });
  });

  it('supports token files and basic auth', async () => {
    expect(await fromKubeconfigFile(kubeconfig({ tokenFile: 'token' })).headers()).toEqual({
      authorization: 'Bearer file-token',
    });
    expect(
      await fromKubeconfigFile(kubeconfig({ username: 'me', password: 'pw' })).headers(),
    ).toEqual({
      authorization: `Basic ${Buffer.from('me:pw').toString('base64')}`,
    });
  });

  it('selects a context by name', () => {
    expect(fromKubeconfigFile(kubeconfig({}), 'alt').server).toBe('https://other:443');
  });

  it('refuses exec plugins and unknown contexts with a clear message', () => {
    expect(() => fromKubeconfigFile(kubeconfig({ exec: { command: 'aws' } }))).toThrow(
      /client-node's KubeConfig/,
    );
    expect(() => fromKubeconfigFile(kubeconfig({}), 'nope')).toThrow(/no context named "nope"/);
  });
});

describe('in-cluster and discovery', () => {
  function serviceAccount(): string {
    const d = dir();
    writeFileSync(path.join(d, 'ca.crt'), 'SA-CA');
    writeFileSync(path.join(d, 'token'), 'sa-token');
    return d;
  }

  it('uses the ServiceAccount token and CA and the service env', async () => {
    const access = inCluster(
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccount(),
    );
    expect(access.server).toBe('https://10.96.0.1:443');
    expect(String((await access.tls()).ca)).toBe('SA-CA');
    expect(await access.headers()).toEqual({ authorization: 'Bearer sa-token' });
    expect(inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1' }, serviceAccount()).server).toBe(
      'https://[fd00::1]:443',
    );
  });

  it('prefers $KUBECONFIG, then in-cluster', () => {
    const file = kubeconfig({});
    expect(
      loadClusterAccess({ env: { KUBECONFIG: `${file}${path.delimiter}/nonexistent` } }).server,
    ).toBe('https://10.0.0.1:6443/');
    const sa = serviceAccount();
    const env = {
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      HOME: dir(),
    };
    const access = loadClusterAccess({ env, serviceAccountDir: sa, kubeconfig: undefined });
    expect(access.server).toBe('https://10.96.0.1:443');
  });
});
