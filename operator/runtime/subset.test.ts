import { describe, expect, it } from 'vitest';
import { firstDifference, isSubset, needsApply } from './subset.js';

/** A Deployment as the API server returns it after our apply: defaults, status, metadata added. */
function liveDeployment() {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'prod',
      uid: 'u-1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', 'argocd.argoproj.io/instance': 'x' },
      annotations: { 'deployment.kubernetes.io/revision': '3' },
      managedFields: [{ manager: 'op', operation: 'Apply' }],
      ownerReferences: [
        { apiVersion: 'x.io/v1', kind: 'Owner', name: 'o', uid: 'o-1', controller: true },
      ],
    },
    spec: {
      replicas: 2,
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'web' } },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
      template: {
        metadata: {
          labels: { app: 'web' },
          annotations: { 'kubectl.kubernetes.io/restartedAt': 't' },
        },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'web:1',
              ports: [{ name: 'http', containerPort: 8000, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'b' } } },
              ],
              resources: {
                requests: { cpu: '500m', memory: '512Mi' },
                limits: { cpu: '1', memory: '1Gi' },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              imagePullPolicy: 'IfNotPresent',
            },
            { name: 'sidecar-injected', image: 'mesh:1' },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
          schedulerName: 'default-scheduler',
          securityContext: {},
          tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    },
    status: { replicas: 2, readyReplicas: 2 },
  };
}

function desiredDeployment() {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'prod',
      labels: { app: 'web' } as Record<string, string>,
      ownerReferences: [
        { apiVersion: 'x.io/v1', kind: 'Owner', name: 'o', uid: 'o-1', controller: true },
      ],
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'web:1',
              ports: [{ name: 'http', containerPort: 8000 }],
              env: [
                { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'b' } } },
                { name: 'A', value: '1' },
              ],
              resources: {
                requests: { cpu: '0.5', memory: '536870912' },
                limits: { cpu: '1000m', memory: '1024Mi' },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp', readOnly: false }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '67108864' } }],
          tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
          nodeSelector: {} as Record<string, string>,
          affinity: {},
          imagePullSecrets: [],
        },
      },
    },
  };
}

describe('needsApply on a realistic Deployment', () => {
  it('is false when live is the applied desired state plus server defaults', () => {
    expect(firstDifference(desiredDeployment(), liveDeployment())).toBeUndefined();
    expect(needsApply(desiredDeployment(), liveDeployment())).toBe(false);
  });

  it('is true when there is no live object', () => {
    expect(needsApply(desiredDeployment(), undefined)).toBe(true);
  });

  it.each([
    [
      'image',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.template.spec.containers[0]!.image = 'web:2';
      },
      'spec.template.spec.containers[name=app].image',
    ],
    [
      'replicas',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.replicas = 3;
      },
      'spec.replicas',
    ],
    [
      'a label',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.metadata.labels.tier = 'front';
      },
      'metadata.labels.tier',
    ],
    [
      'memory limit',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.template.spec.containers[0]!.resources.limits.memory = '1.5Gi';
      },
      'spec.template.spec.containers[name=app].resources.limits.memory',
    ],
    [
      'an env value',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.template.spec.containers[0]!.env[1]!.value = '2';
      },
      'spec.template.spec.containers[name=app].env[name=A].value',
    ],
    [
      'a new env var',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.template.spec.containers[0]!.env.push({ name: 'C', value: '3' });
      },
      'spec.template.spec.containers[name=app].env[name=C]',
    ],
    [
      'a toleration (atomic list)',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.template.spec.tolerations = [];
        d.spec.template.spec.tolerations.push({
          key: 'other',
          operator: 'Exists',
          effect: 'NoSchedule',
        });
      },
      'spec.template.spec.tolerations[0].key',
    ],
    [
      'a nodeSelector entry',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.spec.template.spec.nodeSelector = { disk: 'ssd' };
      },
      'spec.template.spec.nodeSelector.disk',
    ],
    [
      'the owner reference',
      (d: ReturnType<typeof desiredDeployment>) => {
        d.metadata.ownerReferences[0]!.uid = 'o-2';
      },
      'metadata.ownerReferences[uid=o-2]',
    ],
  ])('detects a changed %s', (_what, change, path) => {
    const desired = desiredDeployment();
    change(desired);
    expect(firstDifference(desired, liveDeployment())).toBe(path);
  });

  it('detects a hand-edited live field we own', () => {
    const live = liveDeployment();
    live.spec.template.spec.containers[0]!.image = 'hand-edited:9';
    expect(firstDifference(desiredDeployment(), live)).toBe(
      'spec.template.spec.containers[name=app].image',
    );
  });

  it('detects an element appended by hand to an atomic list', () => {
    const live = liveDeployment();
    live.spec.template.spec.tolerations.push({ key: 'x', operator: 'Exists', effect: 'NoExecute' });
    expect(firstDifference(desiredDeployment(), live)).toBe('spec.template.spec.tolerations');
  });

  it('ignores live entries of map-lists we do not set (e.g. an injected sidecar)', () => {
    const live = liveDeployment();
    expect(live.spec.template.spec.containers).toHaveLength(2);
    expect(isSubset(desiredDeployment(), live)).toBe(true);
  });

  it('matches env entries by name, not position', () => {
    const desired = desiredDeployment();
    desired.spec.template.spec.containers[0]!.env.reverse();
    expect(isSubset(desired, liveDeployment())).toBe(true);
  });
});

describe('quantities', () => {
  const pod = (resources: Record<string, Record<string, string | number>>) => ({
    spec: { containers: [{ name: 'c', resources }] },
  });
  it.each([
    ['1000m', '1'],
    ['1', '1000m'],
    ['0.5', '500m'],
    ['1Gi', '1073741824'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['1e3', '1k'],
    ['1E3', '1k'],
    ['100M', '100000k'],
    ['0.1', '100m'],
    [1, '1'],
    [2, '2000m'],
  ])('%s equals %s under resources', (desired, live) => {
    expect(isSubset(pod({ limits: { cpu: desired } }), pod({ limits: { cpu: live } }))).toBe(true);
  });

  it.each([
    ['1', '2'],
    ['1Gi', '1G'],
    ['500m', '0.6'],
    ['1Mi', '1M'],
  ])('%s differs from %s', (desired, live) => {
    expect(
      isSubset(pod({ requests: { memory: desired } }), pod({ requests: { memory: live } })),
    ).toBe(false);
  });

  it('compares other strings literally even when they look like quantities', () => {
    expect(
      isSubset({ metadata: { labels: { v: '1000m' } } }, { metadata: { labels: { v: '1' } } }),
    ).toBe(false);
    expect(isSubset({ data: { size: '1Gi' } }, { data: { size: '1073741824' } })).toBe(false);
  });

  it('covers ResourceQuota hard, LimitRange-style maps and emptyDir sizeLimit', () => {
    expect(
      isSubset(
        { spec: { hard: { 'requests.cpu': '2' } } },
        { spec: { hard: { 'requests.cpu': '2000m' } } },
      ),
    ).toBe(true);
    expect(
      isSubset({ emptyDir: { sizeLimit: '1Gi' } }, { emptyDir: { sizeLimit: '1024Mi' } }),
    ).toBe(true);
  });

  it('accepts a custom quantity predicate', () => {
    const isQuantity = (path: readonly string[]) => path.at(-1) === 'maxMemory';
    expect(
      isSubset({ spec: { maxMemory: '4Gi' } }, { spec: { maxMemory: '4096Mi' } }, { isQuantity }),
    ).toBe(true);
  });
});

describe('empty and zero values versus absent', () => {
  it.each([
    [{ a: {} }, {}],
    [{ a: [] }, {}],
    [{ a: null }, {}],
    [{ a: { b: {} } }, { a: {} }],
    [{ a: { b: [] } }, {}],
    [{ a: {} }, { a: { x: 1 } }],
    [{ a: false }, {}],
    [{ a: 0 }, {}],
    [{ a: '' }, {}],
    [{}, { a: 1 }],
  ])('%j ⊆ %j', (desired, live) => {
    expect(isSubset(desired, live)).toBe(true);
  });

  it.each([
    [{ a: { b: 1 } }, {}],
    [{ a: [1] }, {}],
    [{ a: 1 }, {}],
    [{ a: 'x' }, {}],
    [{ a: true }, {}],
    [{ a: false }, { a: true }],
    [{ a: 0 }, { a: 5 }],
    [{ a: '' }, { a: 'set' }],
  ])('%j ⊄ %j', (desired, live) => {
    expect(isSubset(desired, live)).toBe(false);
  });

  it('can require zero values to be present', () => {
    expect(isSubset({ a: false }, {}, { zeroEqualsAbsent: false })).toBe(false);
    expect(isSubset({ a: false }, { a: false }, { zeroEqualsAbsent: false })).toBe(true);
  });
});

describe('lists', () => {
  it('matches container ports by containerPort, service ports by port', () => {
    const container = { ports: [{ containerPort: 80 }, { containerPort: 443, name: 'https' }] };
    const liveContainer = {
      ports: [
        { containerPort: 443, name: 'https', protocol: 'TCP' },
        { containerPort: 80, protocol: 'TCP' },
      ],
    };
    expect(isSubset(container, liveContainer)).toBe(true);
    const service = { spec: { ports: [{ port: 8000, targetPort: 'http' }] } };
    const liveService = {
      spec: { ports: [{ port: 8000, targetPort: 'http', protocol: 'TCP', name: '' }] },
    };
    expect(isSubset(service, liveService)).toBe(true);
  });

  it('ignores other live ports and names the missing one', () => {
    const desired = { ports: [{ name: 'http', port: 80 }] };
    expect(
      isSubset(desired, {
        ports: [
          { name: 'metrics', port: 9090 },
          { name: 'http', port: 80 },
        ],
      }),
    ).toBe(true);
    expect(firstDifference(desired, { ports: [{ name: 'http', port: 81 }] })).toBe(
      'ports[port=80]',
    );
  });

  it('falls back to atomic comparison when merge keys repeat', () => {
    // HPA metrics share `type`, and are atomic: compare element-wise.
    const desired = {
      conditions: [
        { type: 'Resource', x: 1 },
        { type: 'Resource', x: 2 },
      ],
    };
    expect(
      isSubset(desired, {
        conditions: [
          { type: 'Resource', x: 1 },
          { type: 'Resource', x: 2 },
        ],
      }),
    ).toBe(true);
    expect(
      isSubset(desired, {
        conditions: [
          { type: 'Resource', x: 2 },
          { type: 'Resource', x: 1 },
        ],
      }),
    ).toBe(false);
  });

  it('compares scalar lists exactly and in order', () => {
    expect(isSubset({ args: ['a', 'b'] }, { args: ['a', 'b'] })).toBe(true);
    expect(isSubset({ args: ['a', 'b'] }, { args: ['b', 'a'] })).toBe(false);
    expect(isSubset({ args: ['a'] }, { args: ['a', 'b'] })).toBe(false);
    expect(isSubset({ args: ['a', 'b'] }, { args: ['a'] })).toBe(false);
  });

  it('treats finalizers as a set', () => {
    expect(
      isSubset({ metadata: { finalizers: ['x'] } }, { metadata: { finalizers: ['y', 'x'] } }),
    ).toBe(true);
    expect(
      isSubset({ metadata: { finalizers: ['z'] } }, { metadata: { finalizers: ['y', 'x'] } }),
    ).toBe(false);
  });

  it('matches status conditions by type', () => {
    const desired = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Ok' }] } };
    const live = {
      status: {
        conditions: [
          { type: 'Progressing', status: 'False' },
          { type: 'Ready', status: 'True', reason: 'Ok', lastTransitionTime: 't' },
        ],
      },
    };
    expect(isSubset(desired, live)).toBe(true);
    live.status.conditions[1]!.status = 'False';
    expect(firstDifference(desired, live)).toBe('status.conditions[type=Ready].status');
  });

  it('matches topologySpreadConstraints by their composite key', () => {
    const tsc = (key: string, when: string, skew: number) => ({
      topologyKey: key,
      whenUnsatisfiable: when,
      maxSkew: skew,
    });
    const desired = {
      topologySpreadConstraints: [
        tsc('zone', 'DoNotSchedule', 1),
        tsc('zone', 'ScheduleAnyway', 2),
      ],
    };
    const live = {
      topologySpreadConstraints: [
        tsc('zone', 'ScheduleAnyway', 2),
        tsc('zone', 'DoNotSchedule', 1),
      ],
    };
    expect(isSubset(desired, live)).toBe(true);
  });

  it('reports a missing list', () => {
    expect(firstDifference({ spec: { rules: [{ host: 'a' }] } }, { spec: {} })).toBe('spec.rules');
  });

  it('honours extra map-list definitions', () => {
    const mapLists = { items: [['id']] };
    expect(isSubset({ items: [{ id: 2 }] }, { items: [{ id: 1 }, { id: 2 }] }, { mapLists })).toBe(
      true,
    );
    expect(isSubset({ items: [{ id: 2 }] }, { items: [{ id: 1 }, { id: 2 }] })).toBe(false);
  });
});

describe('scalars and types', () => {
  it('treats an int and its decimal string as one int-or-string value', () => {
    expect(isSubset({ targetPort: 8000 }, { targetPort: '8000' })).toBe(true);
    expect(isSubset({ maxSurge: '1' }, { maxSurge: 1 })).toBe(true);
    expect(isSubset({ maxSurge: 1 }, { maxSurge: '25%' })).toBe(false);
    expect(isSubset({ targetPort: 8000 }, { targetPort: 'http' })).toBe(false);
  });

  it('distinguishes booleans from strings and numbers', () => {
    expect(isSubset({ a: true }, { a: 'true' })).toBe(false);
    expect(isSubset({ a: 1 }, { a: true })).toBe(false);
  });

  it('reports a type change of an object field', () => {
    expect(firstDifference({ a: { b: 1 } }, { a: 'str' })).toBe('a');
    expect(firstDifference({ a: [1] }, { a: { 0: 1 } })).toBe('a');
  });

  it('ignores server-owned metadata and type meta by default', () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', resourceVersion: '1', uid: 'a' },
    };
    expect(isSubset(desired, { metadata: { name: 'x', resourceVersion: '9', uid: 'b' } })).toBe(
      true,
    );
  });

  it('treats null and undefined desired values as "not set"', () => {
    expect(isSubset(null, { a: 1 })).toBe(true);
    expect(isSubset({ a: undefined }, {})).toBe(true);
  });

  it('compares top-level scalars', () => {
    expect(isSubset('a', 'a')).toBe(true);
    expect(firstDifference('a', 'b')).toBe('');
  });
});
