/**
 * The old runbook's commands, verbatim where they make sense, on real pods of
 * the project's own images: examples/dev.yaml as `kind.sh up` deployed it, with
 * the real inference server as LM Studio.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEV_NAMESPACE,
  portForward,
  runbook,
  SHARED_LMSTUDIO,
  serviceImage,
  summarizerPods,
} from '../support/kind.js';
import { createTestNamespace, eventually, kubeConfig, kubectlOk } from '../support/kube.js';
import { applySummarizerService, waitHealthy } from '../support/kubectl-sumsvc.js';

const ns = DEV_NAMESPACE;
const disposers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(disposers.map((d) => d()));
});

const ENGLISH =
  'Kubernetes is an open-source system for automating deployment, scaling, and management of ' +
  'containerized applications. It groups the containers that make up an application into logical ' +
  'units for easy management and discovery, and it restarts containers that fail.';

describe('the runbook on real pods', () => {
  it('kubectl exec deployment/llmplan -- curl http://localhost:8000/api/v1/summary/health', async () => {
    const { stdout, code } = await runbook(
      `kubectl exec -n ${ns} deployment/llmplan -- curl -s http://localhost:8000/api/v1/summary/health`,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'healthy',
      service_name: 'Text Summarization Service',
      details: 'All systems operational',
    });
  });

  it('the pod runs as uid 1000 on a read-only root filesystem, with curl in the image', async () => {
    const id = await runbook(`kubectl exec -n ${ns} deployment/llmplan -- id -u`);
    expect(id.stdout.trim()).toBe('1000');
    const write = await runbook(
      `kubectl exec -n ${ns} deployment/llmplan -- sh -c 'touch /app/x 2>&1; touch /tmp/ok && echo tmp-writable'`,
    );
    expect(write.stdout).toMatch(/Read-only file system/);
    expect(write.stdout).toMatch(/tmp-writable/);
    const curl = await runbook(`kubectl exec -n ${ns} deployment/llmplan -- curl --version`);
    expect(curl.stdout).toMatch(/^curl \d/);
  });

  it('a real summary through kubectl port-forward svc/llmplan, answered by the inference server, in the logs the runbook greps', async () => {
    const llmCalls = async () =>
      (await runbook(`kubectl logs -n ${ns} deployment/lmstudio | grep -c 'launch_slot_' || true`))
        .stdout;
    const before = Number(await llmCalls());
    const forward = await portForward(ns, 'svc/llmplan', 8000);
    try {
      const response = await fetch(`${forward.url}/api/v1/summary/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: ENGLISH, language: 'english', max_tokens: 60 }),
        signal: AbortSignal.timeout(120_000),
      });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ original_text: ENGLISH, model_name: 'qwen/qwen3-4b' });
      expect(String(body.summary_text).length).toBeGreaterThan(0);
    } finally {
      forward.stop();
    }
    // The inference server ran a prediction for it (its own log, one line per slot launch).
    expect(Number(await llmCalls())).toBeGreaterThan(before);

    const posts = await runbook(
      `kubectl logs -n ${ns} deployment/llmplan --since=168h | grep "POST /api/v1/summary" | wc -l`,
    );
    expect(Number(posts.stdout.trim())).toBeGreaterThanOrEqual(1);
    const average = await runbook(
      `kubectl logs -n ${ns} deployment/llmplan --since=24h | grep "completed in" | awk '{print $NF}' | ` +
        `awk '{sum+=$1; count++} END {print "Average:", sum/count, "ms"}'`,
    );
    expect(average.stdout).toMatch(/^Average: \d+(\.\d+)? ms$/m);
    // No ERROR line for a healthy request (grep exits 1 when nothing matches).
    const errors = await runbook(`kubectl logs -n ${ns} deployment/llmplan | grep ERROR`);
    expect(errors.stdout).toBe('');
  });

  it('kubectl top pods shows the real CPU and memory of the summarizer', async () => {
    const pods = await summarizerPods(ns);
    const name = pods[0]!.metadata.name;
    const row = await eventually(
      async () => {
        const top = await runbook(`kubectl top pods -n ${ns} --no-headers`);
        return top.stdout.split('\n').find((line) => line.startsWith(name));
      },
      { what: `kubectl top pods listing ${name}`, timeoutMs: 120_000, intervalMs: 3_000 },
    );
    const [, cpu, memory] = row.trim().split(/\s+/);
    expect(cpu).toMatch(/^\d+m$/);
    expect(memory).toMatch(/^\d+Mi$/);
    // A Node.js process: tens of MiB, not a placeholder.
    expect(Number.parseInt(memory!, 10)).toBeGreaterThan(10);
  });

  it('kubectl get hpa shows real CPU utilization for an autoscaled SummarizerService', async () => {
    const own = await createTestNamespace(kubeConfig(), 'kind-hpa');
    disposers.push(own.dispose);
    await applySummarizerService(own.name, {
      image: { ...serviceImage(), pullPolicy: 'IfNotPresent' },
      lmstudio: SHARED_LMSTUDIO,
      resources: {
        requests: { cpu: '100m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '256Mi' },
      },
      autoscaling: {
        enabled: true,
        minReplicas: 1,
        maxReplicas: 3,
        targetCPUUtilizationPercentage: 80,
      },
    });
    await waitHealthy(own.name, 'the autoscaled resource Ready', 180_000);
    const line = await eventually(
      async () => {
        const out = await kubectlOk(['get', 'hpa', '-n', own.name, '--no-headers']);
        return /cpu: \d+%\/80%/.test(out) ? out : undefined;
      },
      { what: 'the HPA reading CPU from metrics-server', timeoutMs: 180_000, intervalMs: 5_000 },
    );
    expect(line).toMatch(/^llmplan\s+Deployment\/llmplan\s+cpu: \d+%\/80%\s+1\s+3\s+\d+/);
  });
});
