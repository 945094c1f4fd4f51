import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { assess } from '../remediation/assess.js';
import { deployment, pod, replicaSet } from '../remediation/fixtures.test-helpers.js';
import type { KubeObject } from '../runtime/index.js';
import { objectForCache, podForCache, replicaSetForCache } from './cache.js';

const asKube = <T>(o: T) => o as unknown as KubeObject;
const managed = [
  { manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:spec': {} } },
];

describe('cache transforms', () => {
  it('keep every pod and ReplicaSet field remediation judges by', () => {
    const pods = [pod('new', { ready: false, waiting: 'CrashLoopBackOff', restarts: 4 })];
    const sets = [replicaSet('1', 'old'), replicaSet('2', 'new')];
    const d = deployment({
      available: 0,
      ready: 0,
      progressing: { status: 'True', reason: 'ReplicaSetUpdated' },
    });
    const before = assess({
      deployment: d,
      replicaSets: sets,
      pods,
      backend: { state: 'reachable' },
    });
    const after = assess({
      deployment: d,
      replicaSets: sets.map((rs) => replicaSetForCache(asKube(rs)) as unknown as V1ReplicaSet),
      pods: pods.map((p) => podForCache(asKube(p)) as unknown as V1Pod),
      backend: { state: 'reachable' },
    });
    expect(before).toMatchObject({ kind: 'failed', reason: 'CrashLoopBackOff' });
    expect(after).toEqual(before);
  });

  it('drop pod specs but the summarizer ports, managedFields and unrelated annotations', () => {
    const big = asKube({
      ...pod('new'),
      spec: {
        containers: [
          {
            name: 'summarizer',
            image: 'x',
            env: [{ name: 'A', value: 'b'.repeat(1000) }],
            ports: [{ name: 'http', containerPort: 8000 }],
          },
          { name: 'sidecar', image: 'y', ports: [{ containerPort: 9000 }] },
        ],
      },
      status: { phase: 'Running', podIP: '10.244.0.7', hostIP: '172.18.0.2' },
    });
    big.metadata.managedFields = managed;
    big.metadata.annotations = { huge: 'x'.repeat(1000) };
    const cached = podForCache(big) as unknown as V1Pod;
    // What the load monitor needs to reach the summarizer's /metrics, nothing more.
    expect(cached.spec).toEqual({
      containers: [{ name: 'summarizer', ports: [{ name: 'http', containerPort: 8000 }] }],
    });
    expect(cached.status).toMatchObject({ phase: 'Running', podIP: '10.244.0.7' });
    expect(cached.status?.hostIP).toBeUndefined();
    expect(cached.metadata?.managedFields).toBeUndefined();
    expect(cached.metadata?.annotations).toBeUndefined();
    expect(cached.metadata?.labels).toEqual({ 'pod-template-hash': 'new' });
    expect(JSON.stringify(cached).length).toBeLessThan(JSON.stringify(big).length / 3);

    const rs = asKube({
      ...replicaSet('3', 'h'),
      spec: { template: { spec: { containers: [] } } },
    });
    rs.metadata.annotations = { ...rs.metadata.annotations, other: 'x' };
    const cachedRs = replicaSetForCache(rs);
    expect(cachedRs.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '3' });
    expect((cachedRs as { spec?: unknown }).spec).toBeUndefined();
  });

  it('keep other objects whole but for managedFields and kubectl last-applied', () => {
    const cm = asKube({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        managedFields: managed,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' },
      },
      data: { A: 'b' },
    });
    expect(objectForCache(cm)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', annotations: { keep: 'me' } },
      data: { A: 'b' },
    });
  });
});
