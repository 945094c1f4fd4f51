/**
 * Every example in examples/ applies with kubectl and is reconciled by the operator (deploy/'s
 * RBAC): its children exist with what the example asks for, and its status is Ready on the
 * fake nodes. Each example goes to a namespace of its own (the file's namespace renamed), so a
 * developer's `make up` cluster with the real llmplan-dev is never touched.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { LABELS, MANAGER } from '../../operator/api/labels.js';
import { builtin, type KubeClient, type KubeObject } from '../../operator/runtime/index.js';
import { kubectl, TEST_NAMESPACE_LABEL } from '../support/kube.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  startOperator,
} from '../support/operator-harness.js';
import {
  adminClient,
  condition,
  expectNoForbidden,
  findChild,
  getChild,
  waitForChild,
  waitForStatus,
} from '../support/sumsvc.js';

const examplesDir = path.resolve(import.meta.dirname, '../../examples');
const files = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const suffix = randomBytes(3).toString('hex');

interface Example {
  file: string;
  /** The namespace the file names, and the one the test uses instead. */
  namespace: string;
  testNamespace: string;
  name: string;
  yaml: string;
}

/** Parses an example and renames its namespace; everything else is applied as written. */
function load(file: string): Example {
  const docs = parseAllDocuments(readFileSync(path.join(examplesDir, file), 'utf8')).map(
    (d) => d.toJS() as KubeObject,
  );
  const resource = docs.find((d) => d.kind === 'SummarizerService');
  const namespace = resource?.metadata.namespace;
  if (!resource?.metadata.name || !namespace) {
    throw new Error(`${file}: no namespaced SummarizerService`);
  }
  const testNamespace = `ex-${namespace.replace(/^llmplan-/, '')}-${suffix}`;
  const renamed = docs.map((d) => {
    const copy = structuredClone(d);
    if (copy.kind === 'Namespace' && copy.metadata.name === namespace) {
      copy.metadata.name = testNamespace;
      copy.metadata.labels = { ...copy.metadata.labels, [TEST_NAMESPACE_LABEL]: 'true' };
    } else if (copy.metadata.namespace === namespace) {
      copy.metadata.namespace = testNamespace;
    }
    return copy;
  });
  return {
    file,
    namespace,
    testNamespace,
    name: resource.metadata.name,
    yaml: renamed.map((d) => stringify(d)).join('---\n'),
  };
}

const examples = files.map(load);
let client: KubeClient;
let operator: OperatorProcess;

beforeAll(async () => {
  client = adminClient();
  await installOperatorRbac();
  // No backend probe: the examples point at LM Studio hosts that do not exist here.
  operator = await startOperator({
    namespaces: examples.map((e) => e.testNamespace),
    env: { LLMPLAN_BACKEND_PROBE: 'false' },
  });
});

afterAll(async () => {
  const code = await operator?.stop('SIGTERM');
  for (const e of examples) {
    await client?.delete(builtin.namespaces, e.testNamespace, undefined, { ignoreNotFound: true });
  }
  await client?.close();
  expect(code).toBe(0);
});

function example(file: string): Example {
  const found = examples.find((e) => e.file === file);
  if (!found) throw new Error(`examples/${file} is missing`);
  return found;
}

describe('examples/', () => {
  it('has the three environments of the runbook', () => {
    expect(files).toEqual(expect.arrayContaining(['dev.yaml', 'staging.yaml', 'prod.yaml']));
    expect(examples.map((e) => e.namespace).sort()).toEqual(
      expect.arrayContaining(['llmplan-dev', 'llmplan-prod', 'llmplan-staging']),
    );
  });

  it.each(files)('%s applies with kubectl and is reconciled to Ready', async (file) => {
    const e = example(file);
    const applied = await kubectl(['apply', '-f', '-'], { input: e.yaml });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/summarizerservice.llmplan.io\/llmplan created/);
    const ready = await waitForStatus(
      client,
      e.testNamespace,
      e.name,
      (o) =>
        condition(o, 'Ready')?.status === 'True' &&
        condition(o, 'Progressing')?.reason === 'RolloutComplete',
      `${file} Ready`,
      60_000,
    );
    expect(condition(ready, 'Degraded')?.status).toBe('False');
    expect(condition(ready, 'BackendReachable')?.reason).toBe('NotProbed');
    for (const kind of ['deployment', 'service', 'serviceAccount'] as const) {
      const child = await getChild(client, kind, e.testNamespace, e.name);
      expect(child.metadata.labels?.[LABELS.managedBy]).toBe(MANAGER);
      expect(child.metadata.ownerReferences?.[0]?.uid).toBe(ready.metadata.uid);
    }
    await getChild(client, 'configMap', e.testNamespace, `${e.name}-config`);
  });

  it('dev: the main tag, always pulled, small requests, DEBUG on, one replica', async () => {
    const { testNamespace: ns, name } = example('dev.yaml');
    const d = await getChild(client, 'deployment', ns, name);
    const c = d.spec?.template.spec?.containers[0];
    expect(c?.image).toBe('ghcr.io/llmplan/summarizer:main');
    expect(c?.imagePullPolicy).toBe('Always');
    expect(c?.resources?.requests).toEqual({ cpu: '250m', memory: '256Mi' });
    expect(d.spec?.replicas).toBe(1);
    expect((await getChild(client, 'configMap', ns, `${name}-config`)).data?.DEBUG).toBe('true');
    for (const kind of ['pdb', 'hpa', 'ingress'] as const) {
      expect(await findChild(client, kind, ns, name), kind).toBeUndefined();
    }
    // LM Studio through the Service `lmstudio` the user provides: no ExternalName of ours.
    expect(await findChild(client, 'service', ns, 'lmstudio')).toBeUndefined();
  });

  it('staging: the latest tag, two replicas and a PodDisruptionBudget', async () => {
    const { testNamespace: ns, name } = example('staging.yaml');
    const d = await getChild(client, 'deployment', ns, name);
    expect(d.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/llmplan/summarizer:latest');
    expect(d.spec?.replicas).toBe(2);
    expect(d.status?.readyReplicas).toBe(2);
    expect((await getChild(client, 'pdb', ns, name)).spec?.maxUnavailable).toBe(1);
  });

  it('prod: v0.1.0, autoscaling 3–20 (the HPA brings it to 3), 2Gi, ingress, external LM Studio', async () => {
    const { testNamespace: ns, name } = example('prod.yaml');
    const hpa = await getChild(client, 'hpa', ns, name);
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
    expect(hpa.spec?.metrics?.[0]?.resource).toMatchObject({
      name: 'cpu',
      target: { averageUtilization: 80 },
    });
    // kube-controller-manager's HPA raises the Deployment to the minimum (within a sync period).
    const d = await waitForChild(
      client,
      'deployment',
      ns,
      name,
      (x) => x.spec?.replicas === 3 && x.status?.readyReplicas === 3,
      'three ready replicas from the HPA',
      45_000,
    );
    const c = d.spec?.template.spec?.containers[0];
    expect(c?.image).toBe('ghcr.io/llmplan/summarizer:v0.1.0');
    expect(c?.resources?.limits).toEqual({ cpu: '1', memory: '2Gi' });
    const ingress = await getChild(client, 'ingress', ns, name);
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual(['llmplan.company.com']);
    const backend = await getChild(client, 'service', ns, 'lmstudio');
    expect(backend.spec).toMatchObject({
      type: 'ExternalName',
      externalName: 'lmstudio.internal.company.com',
    });
    expect(backend.spec?.ports?.[0]?.port).toBe(1234);
    await getChild(client, 'pdb', ns, name);
    const cr = await waitForStatus(
      client,
      ns,
      name,
      (o) => o.status?.readyReplicas === 3,
      'prod status with 3 ready replicas',
    );
    expect(cr.status?.endpoint).toBe('http://llmplan.company.com');
    expectNoForbidden(operator);
  });
});
