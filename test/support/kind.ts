/**
 * Helpers for the tests on the kind cluster (real pods of the project's own
 * images): the images this checkout built, LM Studio's stand-in (the real
 * inference server) in a test namespace, port-forwards, pods and their state.
 * The Kubernetes helpers of test/support/kube.ts work here unchanged.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { inject, onTestFinished } from 'vitest';
import { parse, stringify } from 'yaml';
import { createTestNamespace, kubeConfig, kubeconfigPath, kubectlOk } from './kube.js';

const manifests = path.resolve(import.meta.dirname, '../../hack/kind/manifests');

export function kindImages(): { service: string; operator: string; llm: string; tools: string } {
  return inject('kindImages');
}

/** The summarizer image built from this checkout, split as spec.image wants it. */
export function serviceImage(): { repository: string; tag: string } {
  const ref = kindImages().service;
  const colon = ref.lastIndexOf(':');
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/** spec.image for the summarizer built from this checkout (already on the node). */
export function localServiceImage(): { repository: string; tag: string; pullPolicy: string } {
  return { ...serviceImage(), pullPolicy: 'IfNotPresent' };
}

/** A namespace of this test's own, deleted when the test ends. */
export async function testNamespace(prefix: string): Promise<string> {
  const ns = await createTestNamespace(kubeConfig(), prefix);
  onTestFinished(ns.dispose);
  return ns.name;
}

/** The namespace `kind.sh up` deployed examples/dev.yaml and its LM Studio in. */
export const DEV_NAMESPACE = 'llmplan-dev';

/** spec.lmstudio for a resource that shares the dev namespace's inference server. */
export const SHARED_LMSTUDIO = {
  externalName: `lmstudio.${DEV_NAMESPACE}.svc.cluster.local`,
} as const;

/** Deploys LM Studio's stand-in (Deployment and Service `lmstudio`, port 1234) in `ns`. */
export async function deployLmStudio(ns: string, args?: string[]): Promise<void> {
  const docs = ['deployment.yaml', 'service.yaml'].map(
    (file) =>
      parse(readFileSync(path.join(manifests, 'lmstudio', file), 'utf8')) as Record<
        string,
        unknown
      >,
  );
  const deployment = docs[0] as {
    spec: { template: { spec: { containers: { image: string; args?: string[] }[] } } };
  };
  const container = deployment.spec.template.spec.containers[0]!;
  container.image = kindImages().llm;
  if (args !== undefined) container.args = args;
  await kubectlOk(['apply', '-n', ns, '-f', '-'], {
    input: docs.map((d) => stringify(d)).join('---\n'),
  });
  await kubectlOk(['rollout', 'status', '-n', ns, 'deployment/lmstudio', '--timeout=180s']);
}

export interface PortForward {
  /** http://127.0.0.1:<local port> */
  url: string;
  stop(): void;
}

/** `kubectl port-forward` of `target` (svc/llmplan, pod/x) to a free local port on 127.0.0.1. */
export function portForward(ns: string, target: string, port: number): Promise<PortForward> {
  const child: ChildProcess = spawn(
    inject('kubectl'),
    [
      '--kubeconfig',
      kubeconfigPath(),
      'port-forward',
      '-n',
      ns,
      '--address',
      '127.0.0.1',
      target,
      `:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`port-forward ${target} printed no address within 20 s: ${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, stop: () => child.kill() });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward ${target} exited ${code}: ${output}`));
    });
  });
}

/**
 * Runs a shell pipeline as the runbook writes it (`kubectl logs … | grep …`),
 * with the pinned kubectl first on PATH and KUBECONFIG pointing at the cluster.
 */
export async function runbook(pipeline: string): Promise<{ stdout: string; code: number }> {
  const kubectlDir = path.dirname(inject('kubectl'));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', pipeline], {
      env: {
        ...process.env,
        PATH: `${kubectlDir}:${process.env.PATH}`,
        KUBECONFIG: kubeconfigPath(),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ stdout, code: code ?? 1 }));
  });
}

/** Pods of SummarizerService `instance` in `ns`, as `kubectl get pods -o json` has them. */
export async function summarizerPods(ns: string, instance = 'llmplan'): Promise<KindPod[]> {
  const list = JSON.parse(
    await kubectlOk([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      `app.kubernetes.io/name=llmplan,app.kubernetes.io/instance=${instance}`,
      '-o',
      'json',
    ]),
  ) as { items: KindPod[] };
  return list.items;
}

export interface KindPod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      state?: { waiting?: { reason?: string }; running?: object };
      lastState?: { terminated?: { reason?: string; exitCode?: number } };
    }[];
  };
}

/** What a pod's containers say: waiting reasons and last termination reasons. */
function podReasons(pod: KindPod): string {
  return (pod.status.containerStatuses ?? [])
    .map((c) => `${c.state?.waiting?.reason ?? ''} ${c.lastState?.terminated?.reason ?? ''}`)
    .join(' ');
}

/**
 * Watches the summarizer pods of `ns` from now on and remembers when each
 * reason (ErrImagePull, CrashLoopBackOff, OOMKilled, …) first appeared in a pod
 * status the kubelet wrote: the failure signal's time, however briefly the pod
 * lived (remediation replaces failing pods within seconds).
 */
export async function watchPodSignals(ns: string): Promise<PodSignals> {
  const firstSeen = new Map<string, number>();
  const watch = new k8s.Watch(kubeConfig());
  const controller = await watch.watch(
    `/api/v1/namespaces/${ns}/pods`,
    { labelSelector: 'app.kubernetes.io/name=llmplan' },
    (_phase, pod: KindPod) => {
      for (const reason of podReasons(pod).split(/\s+/)) {
        if (reason && !firstSeen.has(reason)) firstSeen.set(reason, Date.now());
      }
    },
    () => undefined,
  );
  return {
    first: (pattern) => {
      const times = [...firstSeen].filter(([reason]) => pattern.test(reason)).map(([, t]) => t);
      return times.length > 0 ? Math.min(...times) : undefined;
    },
    seen: () => [...firstSeen.keys()],
    stop: () => controller.abort(),
  };
}

export interface PodSignals {
  /** When a reason matching `pattern` was first seen, if it was. */
  first(pattern: RegExp): number | undefined;
  seen(): string[];
  stop(): void;
}

/**
 * SIGKILLs a container's process from the kind node (an ancestor PID namespace:
 * a real crash, no chance to clean up), as the kernel's OOM killer or a segfault would.
 */
export async function killContainer(containerId: string): Promise<void> {
  const id = containerId.replace(/^containerd:\/\//, '');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('podman', [
      'exec',
      inject('kindNode'),
      'sh',
      '-c',
      `kill -9 "$(crictl inspect -o go-template --template '{{.info.pid}}' ${id})"`,
    ]);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kill of ${id} exited ${code}`)),
    );
  });
}
