import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `cluster` runs against the real
// local control plane (test/cluster/global-setup.ts starts it, or reuses the
// cluster named by KUBECONFIG) and is where the Kubernetes API is exercised.
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
          name: 'cluster',
          include: [
            'test/cluster/**/*.test.ts',
            'test/operator/**/*.test.ts',
            'test/e2e/**/*.test.ts',
          ],
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One control plane on two cores: files run one at a time, each in its own namespaces.
          fileParallelism: false,
        },
      },
    ],
  },
});
