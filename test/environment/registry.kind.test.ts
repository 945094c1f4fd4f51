/**
 * The kind node pulls the project's images the way containerd does in every test and in
 * `make up`: `ghcr.io/...` through the mirror `http://llmplan-registry:5000`
 * (hack/kind/images/kind-node/hosts.toml). On a fresh machine podman's network has no DNS,
 * so that name resolves only because `kind.sh up` wrote the registry's address into the
 * node's /etc/hosts; without it every pull failed with "no such host" (hack/kind/README.md,
 * The registry's name). These checks run inside the node, by that name.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';

const run = promisify(execFile);
const kindName = process.env.LLMPLAN_KIND_NAME ?? 'llmplan';
// hack/kind/images/lib.sh names it.
const registryContainer =
  kindName === 'llmplan' ? 'llmplan-registry' : `llmplan-registry-${kindName}`;
const inNode = (...args: string[]) => run('podman', ['exec', inject('kindNode'), ...args]);

describe('the kind node and its registry', () => {
  it('containerd is told to pull ghcr.io through llmplan-registry, by name', async () => {
    const { stdout } = await inNode('cat', '/etc/containerd/certs.d/ghcr.io/hosts.toml');
    expect(stdout).toMatch(/\[host\."http:\/\/llmplan-registry:5000"\]/);
  });

  it('the node resolves llmplan-registry to the registry container on the cluster network', async () => {
    const { stdout } = await inNode('getent', 'hosts', 'llmplan-registry');
    const address = stdout.trim().split(/\s+/)[0];
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const { stdout: registryAddress } = await run('podman', [
      'inspect',
      '-f',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
      registryContainer,
    ]);
    expect(registryAddress.trim().split(/\s+/)).toContain(address);
  });

  it('containerd pulls a project image by its ghcr.io name (the manifest is resolved at the registry, by name)', async () => {
    const image = inject('kindImages').tools;
    const { stdout } = await inNode('crictl', 'pull', image);
    expect(stdout).toMatch(/Image is up to date for sha256:[0-9a-f]{64}/);
  });

  it('a tag the registry does not hold fails to pull, as in production', async () => {
    const missing = 'ghcr.io/llmplan/summarizer:never-pushed-by-anyone';
    await expect(inNode('crictl', 'pull', missing)).rejects.toThrow(/not found|failed to resolve/i);
  });
});
