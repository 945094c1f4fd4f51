/**
 * The undo of a migration that cannot finish (steps.ts, undo.ts), against an in-memory API
 * that keeps objects, resourceVersions, JSON and merge patches, and orphan deletion as the
 * garbage collector does it; the "operator" is a hook on the SummarizerService's create.
 * The real API server and operator: test/helm/migrate.cluster.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OLD_CHART_VALUES } from '../../../test/support/helm/old-chart.js';
import { childKey } from '../../desired/children.js';
import { ConflictError, NotFoundError } from '../../runtime/errors.js';
import type { KubeObject, ResourceDescriptor } from '../../runtime/resource.js';
import type { Session } from '../connect.js';
import type { HelmRelease } from './helm-release.js';
import { planMigration } from './plan.js';
import { MigrationSteps } from './steps.js';
import type { JsonPatchOp } from './undo.js';

type Obj = KubeObject & Record<string, unknown>;
const NS = 'prod';
const NAME = 'llmplan-prod';
const helmLabels = {
  'helm.sh/chart': 'llmplan-0.1.0',
  'app.kubernetes.io/name': 'llmplan',
  'app.kubernetes.io/instance': NAME,
  'app.kubernetes.io/version': '0.1.0',
  'app.kubernetes.io/managed-by': 'Helm',
};
const selector = { 'app.kubernetes.io/name': 'llmplan', 'app.kubernetes.io/instance': NAME };
const operatorLabels = {
  ...selector,
  'app.kubernetes.io/managed-by': 'llmplan-operator',
  'app.kubernetes.io/component': 'summarizer',
};
const helmAnnotations = {
  'meta.helm.sh/release-name': NAME,
  'meta.helm.sh/release-namespace': NS,
};
const template = {
  metadata: { labels: helmLabels },
  spec: { containers: [{ name: 'llmplan', ports: [{ name: 'http', containerPort: 8000 }] }] },
};

/** The release's objects as the chart renders them (its manifest). */
const manifest: Obj[] = [
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: NAME, labels: helmLabels },
    automountServiceAccountToken: true,
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${NAME}-config`, labels: helmLabels },
    data: { DEBUG: 'false' },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'lmstudio', labels: helmLabels },
    spec: {
      type: 'ExternalName',
      externalName: 'lmstudio.internal',
      ports: [{ port: 1234, name: 'http' }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NAME, labels: helmLabels },
    spec: {
      type: 'ClusterIP',
      ports: [{ port: 8000, targetPort: 'http', name: 'http' }],
      selector,
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, labels: helmLabels },
    spec: { replicas: 2, selector: { matchLabels: selector }, template },
  },
];

const status = (code: number, reason: string, message: string) => ({ code, reason, message });

/** An in-memory API: enough of KubeClient for the migration's steps. */
class FakeApi {
  readonly objects = new Map<string, Obj>();
  #rv = 100;
  #uid = 0;
  onCreate?: (api: FakeApi, created: Obj) => void;

  key = (r: ResourceDescriptor, name: string) => `${r.plural}/${name}`;
  put(r: ResourceDescriptor, o: Obj): Obj {
    o.metadata.resourceVersion = String(++this.#rv);
    o.metadata.uid ??= `uid-${++this.#uid}`;
    o.metadata.namespace = NS;
    this.objects.set(this.key(r, o.metadata.name ?? ''), o);
    return structuredClone(o);
  }
  async find<T>(r: ResourceDescriptor, name: string): Promise<T | undefined> {
    const o = this.objects.get(this.key(r, name));
    return o ? (structuredClone(o) as T) : undefined;
  }
  async get<T>(r: ResourceDescriptor, name: string): Promise<T> {
    const o = await this.find<T>(r, name);
    if (!o) throw new NotFoundError(404, status(404, 'NotFound', `${name} not found`) as never);
    return o;
  }
  async list<T>(r: ResourceDescriptor, options: { labelSelector?: string } = {}) {
    const terms = (options.labelSelector ?? '').split(',').filter(Boolean);
    const items = [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${r.plural}/`))
      .map(([, o]) => o)
      .filter((o) =>
        terms.every((t) => {
          const [k = '', v] = t.split('=');
          return v === undefined ? k in (o.metadata.labels ?? {}) : o.metadata.labels?.[k] === v;
        }),
      );
    return { items: structuredClone(items) as T[] };
  }
  async create<T>(r: ResourceDescriptor, o: Obj): Promise<T> {
    const created = this.put(r, structuredClone(o));
    this.onCreate?.(this, this.objects.get(this.key(r, o.metadata.name ?? '')) as Obj);
    return created as T;
  }
  async apply<T>(r: ResourceDescriptor, body: Obj): Promise<T> {
    const o = this.objects.get(this.key(r, body.metadata.name ?? '')) as Obj & {
      spec: Record<string, unknown>;
    };
    if ((body.spec as { paused?: boolean } | undefined)?.paused) o.spec.paused = true;
    else delete o.spec.paused;
    return this.put(r, o) as T;
  }
  async patch<T>(
    r: ResourceDescriptor,
    name: string,
    _ns: string,
    patch: unknown,
    options: { type?: string } = {},
  ) {
    const o = this.objects.get(this.key(r, name));
    if (!o) throw new NotFoundError(404, status(404, 'NotFound', `${name} not found`) as never);
    const next = structuredClone(o) as Record<string, unknown>;
    if (options.type === 'json') {
      for (const op of patch as JsonPatchOp[]) {
        const keys = op.path
          .split('/')
          .slice(1)
          .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
        const last = keys.pop() as string;
        let node = next;
        for (const k of keys) node = node[k] as Record<string, unknown>;
        if (op.op === 'test') {
          if (JSON.stringify(node[last]) !== JSON.stringify(op.value))
            throw new Error(`test of ${op.path} failed`);
        } else if (op.op === 'remove') delete node[last];
        else node[last] = structuredClone(op.value);
      }
    } else {
      const rv = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
      if (rv && rv !== o.metadata.resourceVersion)
        throw new ConflictError(409, status(409, 'Conflict', 'changed') as never);
      merge(next, patch as Record<string, unknown>);
    }
    return this.put(r, next as Obj) as T;
  }
  async delete(
    r: ResourceDescriptor,
    name: string,
    _ns: string,
    options: { propagationPolicy?: string } = {},
  ) {
    const o = this.objects.get(this.key(r, name));
    if (!o) return false;
    this.objects.delete(this.key(r, name));
    for (const other of this.objects.values()) {
      const refs = other.metadata.ownerReferences?.filter((ref) => ref.uid !== o.metadata.uid);
      if (refs?.length !== other.metadata.ownerReferences?.length) {
        if (options.propagationPolicy === 'Orphan') other.metadata.ownerReferences = refs;
        else throw new Error('this fake deletes dependents only with orphan propagation');
      }
    }
    return true;
  }
}

function merge(target: Record<string, unknown>, patch: Record<string, unknown>) {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object')
      merge(target[k] as Record<string, unknown>, v as Record<string, unknown>);
    else target[k] = v;
  }
}

const builtinOf = (kind: string): ResourceDescriptor =>
  ({
    ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', kind },
    ConfigMap: { group: '', version: 'v1', plural: 'configmaps', kind },
    Service: { group: '', version: 'v1', plural: 'services', kind },
    Deployment: { group: 'apps', version: 'v1', plural: 'deployments', kind },
  })[kind] as ResourceDescriptor;
const R = {
  deployments: builtinOf('Deployment'),
  configMaps: builtinOf('ConfigMap'),
  services: builtinOf('Service'),
  serviceAccounts: builtinOf('ServiceAccount'),
  replicaSets: { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet' },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  pdbs: {
    group: 'policy',
    version: 'v1',
    plural: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
  },
  revisions: {
    group: 'apps',
    version: 'v1',
    plural: 'controllerrevisions',
    kind: 'ControllerRevision',
  },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event' },
} as const;

/** The release installed: its objects live with Helm's marks, its ReplicaSet, its record. */
function setup(options: { releaseReplicaSet?: boolean } = {}) {
  const api = new FakeApi();
  for (const o of manifest) {
    const live = structuredClone(o);
    live.metadata.annotations = { ...helmAnnotations };
    api.put(builtinOf(o.kind ?? ''), live);
  }
  const deployment = api.objects.get(`deployments/${NAME}`) as Obj;
  if (options.releaseReplicaSet !== false) {
    api.put(R.replicaSets as ResourceDescriptor, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${NAME}-abc`,
        labels: selector,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: NAME,
            uid: deployment.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: { template },
    });
  }
  const release: HelmRelease = {
    name: NAME,
    namespace: NS,
    version: 1,
    info: { status: 'deployed' },
    chart: {
      metadata: { name: 'llmplan', version: '0.1.0', appVersion: '0.1.0' },
      values: OLD_CHART_VALUES,
    },
    config: { lmstudio: { externalName: 'lmstudio.internal' }, replicaCount: 2 },
    manifest: manifest.map((o) => `---\n${stringify(o)}`).join(''),
  };
  const live = new Map(
    [...api.objects.values()]
      .filter((o) => o.kind !== 'ReplicaSet')
      .map((o) => [childKey(o), structuredClone(o)]),
  );
  const plan = planMigration({
    release,
    secrets: [`sh.helm.release.v1.${NAME}.v1`],
    name: NAME,
    namespace: NS,
    live,
  });
  expect(plan.problems).toEqual([]);
  const out: string[] = [];
  const session = {
    client: api,
    namespace: NS,
    server: 'https://fake',
    source: 'test',
    close: async () => {},
  } as unknown as Session;
  // A deadline already passed: the wait for adoption gives up at its first look.
  const steps = new MigrationSteps({
    session,
    plan,
    io: { out: (s: string) => out.push(s), err: () => {} } as never,
    deadline: Date.now() - 1,
  });
  return { api, steps, plan };
}

/** The operator's part: it adopts the ConfigMap and the Deployment, then fails the rest. */
function operatorThatFails(api: FakeApi, created: Obj) {
  if (created.kind !== 'SummarizerService') return;
  const uid = created.metadata.uid ?? '';
  const owner = [
    {
      apiVersion: 'llmplan.io/v1alpha1',
      kind: 'SummarizerService',
      name: NAME,
      uid,
      controller: true,
    },
  ];
  const config = api.objects.get(`configmaps/${NAME}-config`) as Obj;
  config.metadata = {
    ...config.metadata,
    labels: operatorLabels,
    annotations: {},
    ownerReferences: owner,
  };
  config.data = { PORT: '8000', DEBUG: 'false' };
  const deployment = api.objects.get(`deployments/${NAME}`) as Obj & {
    spec: Record<string, unknown>;
  };
  deployment.metadata = {
    ...deployment.metadata,
    labels: operatorLabels,
    annotations: {},
    ownerReferences: owner,
  };
  deployment.spec.template = {
    metadata: { labels: operatorLabels },
    spec: { containers: [{ name: 'summarizer' }] },
  };
  deployment.spec.strategy = {
    type: 'RollingUpdate',
    rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 },
  };
  api.put(R.pdbs as ResourceDescriptor, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: NAME, ownerReferences: owner },
  });
  api.put(R.revisions as ResourceDescriptor, {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: `${NAME}-1`, ownerReferences: owner },
  });
  (created as Obj).status = {
    conditions: [
      {
        type: 'Degraded',
        status: 'True',
        reason: 'ReconcileFailed',
        message: 'Service lmstudio: refused',
      },
    ],
  };
  api.put(
    R.events as ResourceDescriptor,
    {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'e1' },
      type: 'Warning',
      reason: 'ApplyFailed',
      note: 'Service lmstudio: refused',
      regarding: { uid },
    } as Obj,
  );
}

describe('MigrationSteps: a migration that cannot finish is undone', () => {
  it('gives every object back to Helm, deletes what it created, resumes, and quotes the operator', async () => {
    const { api, steps } = setup();
    api.onCreate = operatorThatFails;
    const error = await steps.run().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain('timed out waiting for the operator to adopt');
    expect(error?.message).toContain('Degraded=True ReconcileFailed: Service lmstudio: refused');
    expect(error?.message).toContain('Warning ApplyFailed: Service lmstudio: refused');
    expect(error?.message).toContain(`Helm release ${NAME} is as it was`);
    expect(error?.message).not.toContain('Could not be undone');

    expect(
      [...api.objects.keys()].filter((k) =>
        /summarizerservices|poddisruption|controllerrevisions|secrets/.test(k),
      ),
    ).toEqual([]);
    for (const o of manifest) {
      const live = api.objects.get(`${builtinOf(o.kind ?? '').plural}/${o.metadata.name}`) as Obj;
      const what = `${o.kind} ${o.metadata.name}`;
      expect(live.metadata.labels, what).toEqual(helmLabels);
      expect(live.metadata.annotations, what).toEqual(helmAnnotations);
      expect(live.metadata.ownerReferences ?? [], what).toEqual([]);
    }
    const deployment = api.objects.get(`deployments/${NAME}`) as Obj & {
      spec: Record<string, unknown>;
    };
    expect(deployment.spec).toEqual({ replicas: 2, selector: { matchLabels: selector }, template });
    expect((api.objects.get(`configmaps/${NAME}-config`) as Obj).data).toEqual({ DEBUG: 'false' });
  });

  it('with no operator at all: the marks removed, the SummarizerService deleted, resumed; says no operator reconciled it', async () => {
    const { api, steps } = setup();
    const error = await steps.run().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain('no operator reconciled it');
    expect(error?.message).toMatch(/Undone:\n.*adoption mark removed/);
    expect(api.objects.has(`summarizerservices/${NAME}`)).toBe(false);
    const deployment = api.objects.get(`deployments/${NAME}`) as Obj & {
      spec: Record<string, unknown>;
    };
    expect(deployment.spec.paused).toBeUndefined();
    expect(deployment.metadata.annotations).toEqual(helmAnnotations);
  });

  it('past the removal of the release’s ReplicaSet (an earlier run): only forward, nothing undone', async () => {
    const { api, steps } = setup({ releaseReplicaSet: false });
    api.onCreate = operatorThatFails;
    const error = await steps.run().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain('the migration only goes forward');
    expect(api.objects.has(`summarizerservices/${NAME}`)).toBe(true);
  });
});
