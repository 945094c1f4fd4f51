/**
 * deploy/'s RBAC is least privilege, checked against the real authorizer with the operator's
 * own identity (a token of the llmplan-operator ServiceAccount): what the operator needs is
 * allowed, the rest is refused. That it is also *sufficient* is proven by every other file in
 * test/operator/, which runs the operator under exactly this identity and finds no Forbidden
 * in its logs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { summarizerServices } from '../../operator/reconcile/resources.js';
import {
  builtin,
  isForbidden,
  KubeClient,
  loadClusterAccess,
} from '../../operator/runtime/index.js';
import { createTestNamespace, eventually, kubeConfig, kubectlOk } from '../support/kube.js';
import {
  installOperatorRbac,
  OPERATOR_NAMESPACE,
  operatorKubeconfig,
} from '../support/operator-harness.js';
import { adminClient, createSummarizerService, summarizerService } from '../support/sumsvc.js';

const kc = kubeConfig();
let admin: KubeClient;
let asOperator: KubeClient;
let ns: { name: string; dispose: () => Promise<void> };

beforeAll(async () => {
  admin = adminClient();
  await installOperatorRbac();
  ns = await createTestNamespace(kc, 'op-rbac');
  asOperator = new KubeClient(loadClusterAccess({ kubeconfig: await operatorKubeconfig() }), {
    fieldManager: 'llmplan-operator',
  });
  await createSummarizerService(admin, summarizerService(ns.name, 'svc', {}));
});

afterAll(async () => {
  await ns?.dispose();
  await admin?.close();
  await asOperator?.close();
});

async function refused(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (error) {
    if (isForbidden(error)) return error.serverMessage;
    throw error;
  }
  throw new Error('the API server allowed it');
}

describe('the operator’s identity (deploy/ RBAC)', () => {
  it('is allowed what the operator does', async () => {
    // Read resources, write their status.
    await asOperator.list(summarizerServices, { namespace: ns.name });
    await asOperator.applyStatus(
      summarizerServices,
      {
        apiVersion: 'llmplan.io/v1alpha1',
        kind: 'SummarizerService',
        metadata: { name: 'svc', namespace: ns.name },
        status: { endpoint: 'http://svc' },
      },
      { force: true },
    );
    // Create (server-side apply) and delete a child; its Lease in its own namespace.
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'probe', namespace: ns.name },
      data: { a: 'b' },
    };
    await asOperator.apply(builtin.configMaps, cm, { force: true });
    await asOperator.delete(builtin.configMaps, 'probe', ns.name);
    // Reading a Lease by name is allowed (listing them is not needed, nor granted).
    expect(
      await asOperator.find(builtin.leases, 'llmplan-rbac-probe', OPERATOR_NAMESPACE),
    ).toBeUndefined();
  });

  it('is refused a spec update of a SummarizerService: it never edits the user’s spec', async () => {
    const message = await refused(() =>
      asOperator.patch(summarizerServices, 'svc', ns.name, { spec: { replicas: 5 } }),
    );
    expect(message).toMatch(/cannot patch resource "summarizerservices"/);
    await refused(() => asOperator.delete(summarizerServices, 'svc', ns.name));
    await refused(() =>
      asOperator.patch(
        summarizerServices,
        'svc',
        ns.name,
        { spec: { replicas: 5 } },
        {
          subresource: 'scale',
        },
      ),
    );
  });

  it('is refused what no reconcile needs: secrets, pods, RBAC, namespaces, Leases elsewhere', async () => {
    // It references the API key Secret by name; it never reads it.
    await refused(() => asOperator.list(builtin.secrets, { namespace: ns.name }));
    await refused(() =>
      asOperator.create(builtin.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'x', namespace: ns.name },
        spec: { containers: [{ name: 'x', image: 'x' }] },
      }),
    );
    await refused(() =>
      asOperator.create(builtin.roles, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'x', namespace: ns.name },
        rules: [],
      }),
    );
    await refused(() => asOperator.delete(builtin.namespaces, ns.name, undefined));
    await refused(() =>
      asOperator.create(builtin.leases, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'x', namespace: ns.name },
        spec: {},
      }),
    );
    await refused(() => asOperator.list(builtin.customResourceDefinitions));
  });

  it('may evict pods (the PDB decides), read metrics-server’s usage; pods/proxy only with the optional role', async () => {
    // The real authorizer, asked about the operator's identity (SubjectAccessReview):
    // nothing is evicted or proxied (a fake node's pod IP would route off this machine).
    const allowed = async (verb: string, resource: string, subresource = '', group = '') => {
      const review = await admin.request<{ status?: { allowed?: boolean } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: `system:serviceaccount:${OPERATOR_NAMESPACE}:llmplan-operator`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${OPERATOR_NAMESPACE}`],
            resourceAttributes: { namespace: ns.name, verb, group, resource, subresource },
          },
        },
      });
      return review.status?.allowed === true;
    };
    expect(await allowed('create', 'pods', 'eviction')).toBe(true);
    expect(await allowed('delete', 'pods')).toBe(false);
    expect(await allowed('list', 'pods', '', 'metrics.k8s.io')).toBe(true);
    expect(await allowed('get', 'pods', 'proxy')).toBe(false);
    const optional = path.resolve(
      import.meta.dirname,
      '../../deploy/optional/pods-proxy-rbac.yaml',
    );
    await kubectlOk(['apply', '-f', optional]);
    try {
      await eventually(async () => allowed('get', 'pods', 'proxy'), {
        what: 'pods/proxy granted by deploy/optional/pods-proxy-rbac.yaml',
      });
      expect(await allowed('create', 'pods', 'proxy')).toBe(false);
    } finally {
      await kubectlOk(['delete', '-f', optional, '--ignore-not-found']);
    }
  });

  it('deploy/rbac.yaml names every verb and resource: no wildcard', () => {
    const text = readFileSync(path.resolve(import.meta.dirname, '../../deploy/rbac.yaml'), 'utf8');
    const rules = parseAllDocuments(text)
      .map((d) => d.toJS() as { kind?: string; rules?: Record<string, string[]>[] })
      .filter((d) => d.kind === 'ClusterRole')
      .flatMap((d) => d.rules ?? []);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs']) {
        expect(rule[field], `${field} of ${JSON.stringify(rule)}`).not.toContain('*');
      }
    }
  });
});
