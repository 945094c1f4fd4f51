/**
 * `llmplanctl migrate helm` marks the release's objects for adoption with a patch guarded by
 * the resourceVersion it judged them on — while their controllers keep writing them. The
 * Deployment controller answers a pause with a status write a few milliseconds later: a mark
 * read before that write and sent after it gets 409 from the real API server. That race once
 * failed a migration in CI; here it is provoked twenty times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '../../operator/api/labels.js';
import { connect, type Session } from '../../operator/ctl/connect.js';
import { markForAdoption } from '../../operator/ctl/migrate/steps.js';
import { builtin, type KubeObject } from '../../operator/runtime/index.js';
import { createTestNamespace, kubeConfig, kubeconfigPath } from '../support/kube.js';

let ns: { name: string; dispose: () => Promise<void> };
let session: Session;

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns.name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'summarizer', image: 'example.com/summarizer:1' }] },
    },
  },
});
const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });
const options = () => ({ marker: 'llmplan' });

beforeAll(async () => {
  ns = await createTestNamespace(kubeConfig(), 'helm-mark');
  session = await connect({ kubeconfig: kubeconfigPath(), namespace: ns.name });
});

afterAll(async () => {
  await session?.close();
  await ns?.dispose();
});

describe('markForAdoption', () => {
  it('marks a Deployment the Deployment controller writes in between (pause, then mark at once)', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `paused-${i}`);
    for (const name of names) await session.client.create(builtin.deployments, deployment(name));
    // Let the controller settle on each first, so the only write in between is the pause's.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const name of names) {
      await session.client.apply(
        builtin.deployments,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name, namespace: ns.name },
          spec: { paused: true },
        },
        { fieldManager: 'llmplanctl-migrate', force: true },
      );
      expect(await markForAdoption(session, builtin.deployments, ref(name), options())).toBe(true);
    }
    for (const name of names) {
      const live = await session.client.get(builtin.deployments, name, ns.name);
      expect(live.metadata.annotations?.[ANNOTATIONS.adopt]).toBe('llmplan');
    }
  });

  it('leaves one marked or adopted alone, and refuses one that changed hands', async () => {
    await session.client.create(builtin.deployments, deployment('marked'));
    expect(await markForAdoption(session, builtin.deployments, ref('marked'), options())).toBe(
      true,
    );
    expect(await markForAdoption(session, builtin.deployments, ref('marked'), options())).toBe(
      false,
    );

    const owner = await session.client.create<KubeObject>(builtin.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owner', namespace: ns.name },
    });
    const controlled = (kind: string) => ({
      ...deployment(`by-${kind.toLowerCase()}`),
      metadata: {
        name: `by-${kind.toLowerCase()}`,
        namespace: ns.name,
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind,
            name: 'owner',
            uid: owner.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
    });
    await session.client.create(builtin.deployments, controlled('ConfigMap'));
    // Controlled by the SummarizerService being migrated into: adopted already.
    expect(
      await markForAdoption(session, builtin.deployments, ref('by-configmap'), {
        ...options(),
        adoptedBy: owner.metadata.uid ?? '',
      }),
    ).toBe(false);
    // Controlled by anything else: named, and left as it is.
    await expect(
      markForAdoption(session, builtin.deployments, ref('by-configmap'), options()),
    ).rejects.toThrow(
      'Deployment by-configmap became controlled by ConfigMap owner during the migration; nothing of it was changed',
    );
    const untouched = await session.client.get(builtin.deployments, 'by-configmap', ns.name);
    expect(untouched.metadata.annotations?.[ANNOTATIONS.adopt]).toBeUndefined();

    await expect(
      markForAdoption(session, builtin.deployments, ref('marked'), {
        ...options(),
        marker: 'other',
      }),
    ).rejects.toThrow(
      'Deployment marked was marked for adoption by SummarizerService llmplan during the migration',
    );
  });
});
