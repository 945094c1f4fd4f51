/**
 * The README's install commands as a user types them, with the pinned kubectl against the
 * real API server (issue 13): `kubectl apply -f crds/` and `kubectl apply -k crds/` install
 * the CRD, and `kubectl apply -k deploy/` is accepted object by object (a server-side dry
 * run: the tests run the operator as a process, never its Deployment).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRD_NAME } from '../../operator/api/crd.js';
import { kubectl, kubectlOk } from '../support/kube.js';
import { installOperatorRbac } from '../support/operator-harness.js';

const root = path.resolve(import.meta.dirname, '../..');
const CRD = `customresourcedefinition.apiextensions.k8s.io/${CRD_NAME}`;

/**
 * kubectl's stderr but for its warning about objects the tests created with server-side
 * apply (no last-applied annotation yet): that is the tests' doing, not the user's.
 */
const complaints = (stderr: string) =>
  stderr
    .split('\n')
    .filter(
      (line) =>
        line !== '' &&
        !/^Warning: resource \S+ is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/.test(
          line,
        ),
    );

const established = () =>
  kubectlOk(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);

describe('installing', () => {
  // -f reads the directory's manifests (the CRD alone), -k its Kustomization.
  it.each(['-f', '-k'])(
    'kubectl apply %s crds/ applies the CRD, and nothing else',
    async (flag) => {
      const result = await kubectl(['apply', flag, path.join(root, 'crds')]);
      expect(complaints(result.stderr)).toEqual([]);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toMatch(new RegExp(`^${CRD} (created|configured|unchanged)$`));
      await established();
    },
  );

  it('kubectl apply -k deploy/ is accepted by the API server, CRD included', async () => {
    // The namespace must exist for a dry run of the objects in it.
    await installOperatorRbac();
    const result = await kubectl(['apply', '-k', path.join(root, 'deploy'), '--dry-run=server']);
    expect(complaints(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    for (const line of lines) expect(line).toMatch(/ \(server dry run\)$/);
    const objects = lines.map((line) => line.split(' ')[0]);
    expect(objects).toEqual(
      expect.arrayContaining([
        'namespace/llmplan-system',
        CRD,
        'serviceaccount/llmplan-operator',
        'deployment.apps/llmplan-operator',
      ]),
    );
    expect(objects.filter((o) => o === CRD)).toHaveLength(1);
  });
});
