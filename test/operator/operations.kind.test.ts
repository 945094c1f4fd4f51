/**
 * Operations on real pods: the operator's leader election in-cluster (two
 * replicas from deploy/, a coordination.k8s.io Lease), and the summarizer
 * draining an in-flight request when its pod is deleted (preStop, SIGTERM,
 * terminationGracePeriodSeconds).
 */
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import {
  killContainer,
  kindImages,
  localServiceImage,
  SHARED_LMSTUDIO,
  summarizerPods,
  testNamespace,
} from '../support/kind.js';
import { eventually, kubeconfigPath, kubectlOk } from '../support/kube.js';
import { applySummarizerService, observe, waitHealthy } from '../support/kubectl-sumsvc.js';

const OPERATOR_NS = 'llmplan-system';
const LEASE = 'llmplan-operator';

async function leaseHolder(): Promise<string | undefined> {
  const lease = JSON.parse(
    await kubectlOk(['get', 'lease', LEASE, '-n', OPERATOR_NS, '-o', 'json']),
  ) as { spec: { holderIdentity?: string } };
  return lease.spec.holderIdentity || undefined;
}

async function operatorPods(): Promise<string[]> {
  const out = await kubectlOk([
    'get',
    'pods',
    '-n',
    OPERATOR_NS,
    '-l',
    'app.kubernetes.io/name=llmplan-operator',
    '-o',
    'jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\\n"}{end}',
  ]);
  return out.split('\n').filter(Boolean);
}

/** The new leader reconciles: a spec change in a namespace of its own is observed. */
async function reconciles(ns: string, replicas: number): Promise<void> {
  await applySummarizerService(ns, {
    image: localServiceImage(),
    lmstudio: SHARED_LMSTUDIO,
    replicas,
    resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  });
  await eventually(
    async () => {
      const o = await observe(ns);
      return (
        o.status?.observedGeneration === o.metadata.generation && o.status?.replicas === replicas
      );
    },
    { what: `the operator observing replicas=${replicas}`, timeoutMs: 60_000 },
  );
}

async function leaderReady(): Promise<{ leader: string; standby: string }> {
  const pods = await eventually(
    async () => {
      const running = await operatorPods();
      return running.length === 2 ? running : undefined;
    },
    { what: 'two running operator pods', timeoutMs: 120_000 },
  );
  const leader = await eventually(
    async () => {
      const holder = await leaseHolder();
      return holder && pods.includes(holder) ? holder : undefined;
    },
    { what: 'a running lease holder', timeoutMs: 60_000 },
  );
  return { leader, standby: pods.find((p) => p !== leader)! };
}

describe('leader election in-cluster', () => {
  it('the leading operator pod deleted: another replica leads within 20 s, and acts', async () => {
    const ns = await testNamespace('kind-leader');
    await reconciles(ns, 1);
    const { leader } = await leaderReady();
    const start = Date.now();
    await kubectlOk(['delete', 'pod', leader, '-n', OPERATOR_NS, '--wait=false']);
    // The standby, or the ReplicaSet's replacement if it starts first: either is another pod.
    const next = await eventually(
      async () => {
        const holder = await leaseHolder();
        return holder && holder !== leader ? holder : undefined;
      },
      { what: 'a new lease holder', timeoutMs: 40_000, intervalMs: 200 },
    );
    const takeover = Date.now() - start;
    console.info(
      `operator leader deleted (it releases its Lease on SIGTERM): ${next} leads after ${takeover} ms`,
    );
    expect(takeover).toBeLessThanOrEqual(20_000);
    await reconciles(ns, 2);
  });

  it("the leader's process SIGKILLed (no release): leadership resumes within 20 s, and acts", async () => {
    const ns = await testNamespace('kind-leader-kill');
    await reconciles(ns, 1);
    const { leader } = await leaderReady();
    const pod = JSON.parse(
      await kubectlOk(['get', 'pod', leader, '-n', OPERATOR_NS, '-o', 'json']),
    ) as { status: { containerStatuses: { containerID: string; restartCount: number }[] } };
    const container = pod.status.containerStatuses[0]!;
    const killed = Date.now();
    await killContainer(container.containerID);
    // Leading again: the Lease renewed after the kill by a live process, whichever it
    // is (the standby once the Lease expires, or the same pod's restarted container,
    // which has the holder's identity and may renew first).
    const holder = await eventually(
      async () => {
        const lease = JSON.parse(
          await kubectlOk(['get', 'lease', LEASE, '-n', OPERATOR_NS, '-o', 'json']),
        ) as { spec: { holderIdentity?: string; renewTime?: string } };
        const renewed = Date.parse(lease.spec.renewTime ?? '');
        return renewed > killed + 1_000 ? lease.spec.holderIdentity : undefined;
      },
      { what: 'the Lease renewed after the kill', timeoutMs: 40_000, intervalMs: 200 },
    );
    const resumed = Date.now() - killed;
    console.info(`operator leader SIGKILLed: ${holder} leads after ${resumed} ms`);
    expect(resumed).toBeLessThanOrEqual(20_000);
    // The kill was real: the container restarted.
    const after = JSON.parse(
      await kubectlOk(['get', 'pod', leader, '-n', OPERATOR_NS, '-o', 'json']),
    ) as { status: { containerStatuses: { restartCount: number }[] } };
    expect(after.status.containerStatuses[0]!.restartCount).toBe(container.restartCount + 1);
    await reconciles(ns, 2);
  });
});

describe('draining on pod deletion', () => {
  it('a request in flight when its pod is deleted completes with 200', async () => {
    const ns = await testNamespace('kind-drain');
    await applySummarizerService(ns, {
      image: localServiceImage(),
      lmstudio: SHARED_LMSTUDIO,
      resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    });
    await waitHealthy(ns, 'the summarizer Ready', 180_000);
    // A client pod in the namespace (the summarizer image has curl), talking to the
    // summarizer pod's own IP: the request's path is the pod, not a port-forward.
    await kubectlOk([
      'run',
      'client',
      '-n',
      ns,
      `--image=${kindImages().service}`,
      '--image-pull-policy=IfNotPresent',
      '--restart=Never',
      '--overrides={"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000}}}',
      '--command',
      '--',
      'sleep',
      '600',
    ]);
    await kubectlOk(['wait', '-n', ns, 'pod/client', '--for=condition=Ready', '--timeout=120s']);
    const [pod] = await summarizerPods(ns);
    const ip = pod!.status.podIP!;
    const body = JSON.stringify({
      text:
        'The committee met on Tuesday to review the budget. It approved funding for two new ' +
        'schools, postponed the road repairs until spring, and asked the treasurer for a report ' +
        'on the pension fund before the next meeting in March.',
      language: 'english',
      max_tokens: 200,
    });
    /** curl in the client pod; resolves with its output (the status code last, with -w). */
    const curl = (...args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(inject('kubectl'), [
          '--kubeconfig',
          kubeconfigPath(),
          'exec',
          '-n',
          ns,
          'client',
          '--',
          'curl',
          '-s',
          ...args,
        ]);
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        child.on('error', reject);
        child.on('exit', () => resolve(out));
      });
    const request = curl(
      '-m',
      '120',
      '-w',
      '\n%{http_code}',
      '-H',
      'content-type: application/json',
      '-d',
      body,
      `http://${ip}:8000/api/v1/summary/`,
    );
    // Delete the pod once the request is in flight (the service's own gauge says so).
    await eventually(
      async () =>
        /^summary_requests_in_flight [1-9]/m.test(await curl(`http://${ip}:8000/metrics`)),
      { what: 'the request in flight', timeoutMs: 30_000, intervalMs: 100 },
    );
    const deleted = Date.now();
    await kubectlOk(['delete', 'pod', pod!.metadata.name, '-n', ns, '--wait=false']);
    const out = await request;
    const status = out.trim().split('\n').pop();
    console.info(
      `in-flight request finished ${Date.now() - deleted} ms after the pod was deleted: ${status}`,
    );
    expect(status, out).toBe('200');
    expect(JSON.parse(out.slice(0, out.lastIndexOf('\n'))).summary_text.length).toBeGreaterThan(0);
  });
});
