import { defineConfig } from 'vitest/config';

// A test's file name says what it needs, and so which project runs it:
//   *.test.ts          Node only: beside the code it tests, or under test/ (unit)
//   *.tools.test.ts    a tool that hack/ installs, such as promtool (tools)
//   *.llm.test.ts      the real inference server (llm; test/support/llm-setup.ts installs it,
//                      each file starts its own on 127.0.0.1)
//   *.cluster.test.ts  the real local control plane with fake nodes, and real Argo CD
//                      (cluster; test/support/cluster-setup.ts starts it, or reuses the
//                      cluster named by KUBECONFIG): where the Kubernetes API is exercised
//   *.kind.test.ts     the real kind cluster: real pods of the project's own images
//                      (kind; test/support/kind-setup.ts builds and starts it)
const kinds = ['tools', 'llm', 'cluster', 'kind'] as const;
const exclude = ['**/node_modules/**', '**/dist/**', '**/.cluster*/**'];
const only = (kind: (typeof kinds)[number]) => ({ include: [`**/*.${kind}.test.ts`], exclude });

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...exclude, ...kinds.map((kind) => `**/*.${kind}.test.ts`)],
          testTimeout: 20_000,
        },
      },
      { test: { name: 'tools', ...only('tools'), testTimeout: 120_000 } },
      {
        test: {
          name: 'llm',
          ...only('llm'),
          globalSetup: ['test/support/llm-setup.ts'],
          // A 135M model on two cores: seconds per call; each test bounds its own time.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'cluster',
          ...only('cluster'),
          globalSetup: ['test/support/cluster-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One control plane on two cores: files run one at a time, each in its own namespaces.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kind',
          ...only('kind'),
          globalSetup: ['test/support/kind-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // One real node on two cores: files run one at a time, each in its own namespaces.
          fileParallelism: false,
        },
      },
    ],
  },
});
