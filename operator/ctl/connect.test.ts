import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseKubeconfig, connect, readContext } from './connect.js';
import { CtlError } from './errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'llmplanctl-'));

function file(name: string, text: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, text);
  return target;
}

const kubeconfig = file(
  'config',
  `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster: {server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: abc}
- name: sso
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}
contexts:
- name: dev
  context: {cluster: c1, user: admin, namespace: llmplan-dev}
- name: bare
  context: {cluster: c1, user: admin}
- name: cloud
  context: {cluster: c1, user: sso}
`,
);

function message(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof CtlError) return err.message;
    throw err;
  }
  throw new Error('no CtlError');
}

describe('chooseKubeconfig', () => {
  const exists = (f: string) => f === '/a' || f === '/home/u/.kube/config';

  it('takes --kubeconfig, else the first existing KUBECONFIG entry, else ~/.kube/config', () => {
    expect(chooseKubeconfig('/a', {}, exists)).toEqual({ file: '/a', origin: '--kubeconfig' });
    expect(chooseKubeconfig(undefined, { KUBECONFIG: '/missing:/a' }, exists)).toEqual({
      file: '/a',
      origin: 'KUBECONFIG',
    });
    expect(chooseKubeconfig(undefined, { HOME: '/home/u' }, exists)).toEqual({
      file: '/home/u/.kube/config',
      origin: '~/.kube/config',
    });
    expect(chooseKubeconfig(undefined, { HOME: '/nowhere' }, exists)).toBeUndefined();
  });

  it('names the path that does not exist', () => {
    expect(message(() => chooseKubeconfig('/nope/config', {}, exists))).toBe(
      'kubeconfig /nope/config (from --kubeconfig): no such file',
    );
    expect(message(() => chooseKubeconfig(undefined, { KUBECONFIG: '/x:/y' }, exists))).toBe(
      'kubeconfig: no file of KUBECONFIG=/x:/y exists',
    );
  });
});

describe('readContext', () => {
  it("reads the context's namespace, server and kind of authentication", () => {
    expect(readContext(kubeconfig)).toEqual({
      context: 'dev',
      namespace: 'llmplan-dev',
      server: 'https://127.0.0.1:6443',
      pluginAuth: false,
    });
    expect(readContext(kubeconfig, 'bare')).toEqual({
      context: 'bare',
      server: 'https://127.0.0.1:6443',
      pluginAuth: false,
    });
    expect(readContext(kubeconfig, 'cloud').pluginAuth).toBe(true);
  });

  it('says what is wrong with the file, naming it', () => {
    expect(message(() => readContext(kubeconfig, 'prod'))).toBe(
      `kubeconfig ${kubeconfig}: no context named "prod" (known: dev, bare, cloud)`,
    );
    const notYaml = file('bad', 'clusters: [\n');
    expect(message(() => readContext(notYaml))).toMatch(
      new RegExp(`^kubeconfig ${notYaml}: cannot be read as YAML`),
    );
    const scalar = file('scalar', 'hello');
    expect(message(() => readContext(scalar))).toBe(
      `kubeconfig ${scalar}: is not a kubeconfig (expected a YAML mapping with clusters, users and contexts)`,
    );
    const noCurrent = file('nocurrent', 'contexts: []\n');
    expect(message(() => readContext(noCurrent))).toBe(
      `kubeconfig ${noCurrent}: has no current-context; pass --context`,
    );
    const noServer = file(
      'noserver',
      'current-context: a\ncontexts: [{name: a, context: {cluster: x}}]\nclusters: []\n',
    );
    expect(message(() => readContext(noServer))).toBe(
      `kubeconfig ${noServer}: context "a" has no cluster with a server`,
    );
  });
});

describe('connect', () => {
  it("uses --namespace, else the context's namespace, else default", async () => {
    const env = { KUBECONFIG: kubeconfig };
    for (const [options, namespace] of [
      [{ namespace: 'other' }, 'other'],
      [{}, 'llmplan-dev'],
      [{ context: 'bare' }, 'default'],
    ] as const) {
      const session = await connect(options, env);
      expect(session.namespace).toBe(namespace);
      expect(session.server).toBe('https://127.0.0.1:6443');
      expect(session.source).toBe(`${kubeconfig} (from KUBECONFIG)`);
      await session.close();
    }
  });

  it('refuses to run without any kubeconfig outside a cluster', async () => {
    await expect(connect({}, { HOME: dir })).rejects.toThrow(
      'no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config',
    );
  });
});
