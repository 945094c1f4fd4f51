import { defineConfig } from 'vitest/config';

// Four projects: `unit` needs nothing but Node; `llm` runs the service against
// the real inference server (test/llm/global-setup.ts installs it; each file
// starts its own on 127.0.0.1); `cluster` runs against the real local control
// plane with fake nodes (test/cluster/global-setup.ts starts it, or reuses the
// cluster named by KUBECONFIG) and is where the Kubernetes API is exercised;
// `kind` runs on the real kind cluster (test/kind/global-setup.ts): real pods of
// the project's own images.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'operator/**/*.test.ts',
            'service/**/*.test.ts',
            'test/service/**/*.test.ts',
            'test/unit/**/*.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'llm',
          include: ['test/llm/**/*.test.ts'],
          globalSetup: ['test/llm/global-setup.ts'],
          // A 135M model on two cores: seconds per call; each test bounds its own time.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'cluster',
          include: [
            'test/cluster/**/*.test.ts',
            'test/operator/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/helm/**/*.test.ts',
          ],
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One control plane on two cores: files run one at a time, each in its own namespaces.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kind',
          include: ['test/kind/**/*.test.ts'],
          globalSetup: ['test/kind/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // One real node on two cores: files run one at a time, each in its own namespaces.
          fileParallelism: false,
        },
      },
    ],
  },
});
