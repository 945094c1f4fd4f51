import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../runtime/resource.js';
import type { ManifestObject } from './helm-release.js';
import { isAdopted, type JsonPatchOp, operatorReport, pointer, restorePatch } from './undo.js';

const RELEASE = { name: 'llmplan-prod', namespace: 'llmplan-prod' };
const helmLabels = {
  'helm.sh/chart': 'llmplan-0.1.0',
  'app.kubernetes.io/name': 'llmplan',
  'app.kubernetes.io/instance': 'llmplan-prod',
  'app.kubernetes.io/version': '0.1.0',
  'app.kubernetes.io/managed-by': 'Helm',
};
const operatorLabels = {
  'app.kubernetes.io/name': 'llmplan',
  'app.kubernetes.io/instance': 'llmplan-prod',
  'app.kubernetes.io/managed-by': 'llmplan-operator',
  'app.kubernetes.io/component': 'summarizer',
};

/** RFC 6902 on plain JSON (add, remove, test): what the API server does with the patch. */
function applyPatch<T>(doc: T, ops: JsonPatchOp[]): T {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop() as string;
    let node = out;
    for (const k of keys) node = node[k] as Record<string, unknown>;
    if (op.op === 'test') {
      if (JSON.stringify(node[last]) !== JSON.stringify(op.value)) throw new Error('test failed');
    } else if (op.op === 'remove') {
      if (!(last in node)) throw new Error(`remove: no ${op.path}`);
      delete node[last];
    } else {
      node[last] = structuredClone(op.value);
    }
  }
  return out as T;
}

const manifestTemplate = {
  metadata: { labels: helmLabels },
  spec: { containers: [{ name: 'llmplan', image: 'eunheejo/llmplan:v0.1.0' }] },
};
const manifestDeployment: ManifestObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'llmplan-prod', labels: helmLabels },
  spec: {
    replicas: 3,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'llmplan' } },
    template: manifestTemplate,
  },
};
const adoptedDeployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'llmplan-prod',
    uid: 'd',
    resourceVersion: '42',
    labels: operatorLabels,
    annotations: { 'deployment.kubernetes.io/revision': '1' },
  },
  spec: {
    replicas: 3,
    paused: true,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'llmplan' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    progressDeadlineSeconds: 600,
    revisionHistoryLimit: 10,
    template: {
      metadata: { labels: operatorLabels, annotations: { 'llmplan.io/config-hash': 'abc' } },
      spec: { containers: [{ name: 'summarizer', image: 'eunheejo/llmplan:v0.1.0' }] },
    },
  },
};

describe('restorePatch', () => {
  it("gives an adopted Deployment back to Helm: its labels, annotations, the release's pod template", () => {
    const ops = restorePatch(manifestDeployment, adoptedDeployment, RELEASE);
    expect(ops[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
    const restored = applyPatch(adoptedDeployment, ops);
    expect(restored.metadata.labels).toEqual(helmLabels);
    expect(restored.metadata.annotations).toEqual({
      'meta.helm.sh/release-name': 'llmplan-prod',
      'meta.helm.sh/release-namespace': 'llmplan-prod',
    });
    expect(restored.spec.template).toEqual(manifestTemplate);
    expect(restored.spec).toEqual({
      replicas: 3,
      paused: true, // resumed afterwards, by migrate's own field manager
      selector: { matchLabels: { 'app.kubernetes.io/name': 'llmplan' } },
      // Removed: the API server defaults them again, as for Helm's create.
      template: manifestTemplate,
    });
    expect(isAdopted(restored)).toBe(false);
  });

  it('keeps the HPA’s replicas when the chart leaves them to it', () => {
    const manifest = structuredClone(manifestDeployment);
    delete (manifest.spec as { replicas?: number }).replicas;
    const restored = applyPatch(
      adoptedDeployment,
      restorePatch(manifest, adoptedDeployment, RELEASE),
    );
    expect(restored.spec.replicas).toBe(3);
  });

  it('puts back the fields of each kind the operator rewrites; a Service keeps its ClusterIP', () => {
    const adopted = (kind: string, rest: Record<string, unknown>) =>
      ({
        apiVersion: 'v1',
        kind,
        metadata: { name: 'x', resourceVersion: '7', labels: operatorLabels },
        ...rest,
      }) as KubeObject & Record<string, unknown>;
    const manifest = (kind: string, rest: Record<string, unknown>): ManifestObject => ({
      apiVersion: 'v1',
      kind,
      metadata: { name: 'x', labels: helmLabels },
      ...rest,
    });
    const config = adopted('ConfigMap', { data: { PORT: '8000', DEBUG: 'false' } });
    expect(
      applyPatch(
        config,
        restorePatch(manifest('ConfigMap', { data: { DEBUG: 'x' } }), config, RELEASE),
      ).data,
    ).toEqual({ DEBUG: 'x' });
    const service = adopted('Service', {
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.0.0.9',
        ports: [{ port: 8000, name: 'http', appProtocol: 'http' }],
        selector: operatorLabels,
      },
    });
    const ports = [{ port: 8000, targetPort: 'http', protocol: 'TCP', name: 'http' }];
    const restoredService = applyPatch(
      service,
      restorePatch(
        manifest('Service', { spec: { type: 'ClusterIP', ports, selector: { a: 'b' } } }),
        service,
        RELEASE,
      ),
    );
    expect(restoredService.spec).toEqual({
      type: 'ClusterIP',
      clusterIP: '10.0.0.9',
      ports,
      selector: { a: 'b' },
    });
    const account = adopted('ServiceAccount', { automountServiceAccountToken: false });
    expect(
      applyPatch(
        account,
        restorePatch(
          manifest('ServiceAccount', { automountServiceAccountToken: true }),
          account,
          RELEASE,
        ),
      ).automountServiceAccountToken,
    ).toBe(true);
  });

  it('only removes the mark from an object the operator has not adopted; nothing on an untouched one', () => {
    const marked = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'llmplan-prod-config',
        resourceVersion: '3',
        labels: helmLabels,
        annotations: {
          'llmplan.io/adopt': 'llmplan-prod',
          'meta.helm.sh/release-name': 'llmplan-prod',
        },
      },
    };
    const manifest: ManifestObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'llmplan-prod-config' },
    };
    expect(restorePatch(manifest, marked, RELEASE)).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '3' },
      { op: 'remove', path: '/metadata/annotations/llmplan.io~1adopt' },
    ]);
    expect(
      applyPatch(marked, restorePatch(manifest, marked, RELEASE)).metadata.annotations,
    ).toEqual({
      'meta.helm.sh/release-name': 'llmplan-prod',
    });
    const untouched = { ...marked, metadata: { ...marked.metadata, annotations: {} } };
    expect(restorePatch(manifest, untouched, RELEASE)).toEqual([]);
  });

  it('escapes JSON pointers', () => {
    expect(pointer('metadata', 'annotations', 'llmplan.io/adopt')).toBe(
      '/metadata/annotations/llmplan.io~1adopt',
    );
    expect(pointer('a~b')).toBe('/a~0b');
  });
});

describe('operatorReport', () => {
  const cr = (status?: unknown) =>
    ({
      metadata: { name: 'llmplan-prod', uid: 'cr' },
      ...(status ? { status } : {}),
    }) as KubeObject;

  it('says when no operator reconciled the resource, or it was not created', () => {
    expect(operatorReport(undefined, [])).toBe('The SummarizerService was not created.');
    expect(operatorReport(cr(), [])).toMatch(/has no status: no operator reconciled it/);
  });

  it("quotes the operator's troubled conditions and its Warning events, newest first, once per reason", () => {
    const duplicate =
      'Deployment llmplan-prod: env: duplicate entries for key [name="LMSTUDIO_API_KEY"]';
    const report = operatorReport(
      cr({
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Available' },
          { type: 'Degraded', status: 'True', reason: 'ReconcileFailed', message: duplicate },
        ],
      }),
      [
        {
          type: 'Warning',
          reason: 'ApplyFailed',
          note: 'older',
          regarding: { uid: 'cr' },
          eventTime: '2026-01-01T00:00:00Z',
        },
        {
          type: 'Warning',
          reason: 'ApplyFailed',
          note: duplicate,
          regarding: { uid: 'cr' },
          eventTime: '2026-01-01T00:01:00Z',
          series: { count: 4 },
        },
        { type: 'Normal', reason: 'Adopted', note: 'x', regarding: { uid: 'cr' } },
        {
          type: 'Warning',
          reason: 'InvalidSpec',
          note: 'another resource',
          regarding: { uid: 'other' },
        },
      ],
    );
    expect(report).toBe(
      `The operator says:\n  Degraded=True ReconcileFailed: ${duplicate}\n  Warning ApplyFailed (4×): ${duplicate}`,
    );
  });

  it('says when the operator reports nothing wrong', () => {
    expect(
      operatorReport(
        cr({ conditions: [{ type: 'Degraded', status: 'False', reason: 'AsExpected' }] }),
        [],
      ),
    ).toBe('The operator reports no error on the SummarizerService.');
  });
});
