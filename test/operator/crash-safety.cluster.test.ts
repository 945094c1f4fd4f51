/**
 * "Decisions are rebuilt from cluster state": an operator killed right after deciding a
 * rollback (the decision is in status, nothing has acted on it) is replaced by a new
 * process, which carries the decision out without deciding — or recording — it again.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SummarizerServiceStatus } from '../../operator/api/status.js';
import { createTestNamespace, eventually, kubeConfig, kubectlOk } from '../support/kube.js';
import { applySummarizerService, getSummarizerService, setTag } from '../support/kubectl-sumsvc.js';
import {
  installOperatorRbac,
  type OperatorProcess,
  startOperator,
} from '../support/operator-harness.js';

const kc = kubeConfig();
let ns: string;
let dispose: () => Promise<void>;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  await installOperatorRbac();
  ({ name: ns, dispose } = await createTestNamespace(kc, 'e2e-kill'));
});
afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop()));
  await dispose?.();
});

async function status(): Promise<SummarizerServiceStatus | undefined> {
  return (await getSummarizerService<{ status?: SummarizerServiceStatus }>(ns)).status;
}
async function image(): Promise<string> {
  return kubectlOk([
    'get',
    'deployment',
    'llmplan',
    '-n',
    ns,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);
}

describe.skipIf(!inject('localCluster'))('an operator killed right after deciding', () => {
  it('leaves the decision in status, and its successor acts on it exactly once', async () => {
    const doomed = await startOperator({
      namespaces: [ns],
      env: { LLMPLAN_FAULT: 'exit-after-remediation-commit', LLMPLAN_BACKEND_PROBE: 'false' },
    });
    operators.push(doomed);
    await applySummarizerService(ns, {
      image: { repository: 'registry.local/summarizer', tag: 'v1' },
      remediation: { cooldownSeconds: 0 },
    });
    await eventually(async () => (await status())?.lastHealthyRevision, {
      what: 'v1 healthy',
      timeoutMs: 60_000,
    });
    await setTag(ns, 'v2-crashloop');

    // It decides, commits, and dies before acting.
    await Promise.race([
      doomed.exited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the operator did not reach the fault point')), 60_000),
      ),
    ]);
    expect(doomed.child.signalCode).toBe('SIGKILL');
    const decided = await status();
    expect(decided?.remediation?.rollback?.fromRevision).toBe(decided?.currentRevision);
    expect(decided?.history?.filter((h) => h.action === 'Rollback')).toHaveLength(1);
    expect(await image()).toBe('registry.local/summarizer:v2-crashloop'); // not acted on yet

    const successor = await startOperator({
      namespaces: [ns],
      env: { LLMPLAN_BACKEND_PROBE: 'false' },
    });
    operators.push(successor);
    await eventually(async () => (await image()) === 'registry.local/summarizer:v1', {
      what: 'the successor serving the rollback target',
      timeoutMs: 30_000,
    });
    // Give it time to (wrongly) decide again, then check it did not.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const after = await status();
    expect(after?.history?.filter((h) => h.action === 'Rollback')).toHaveLength(1);
    expect(await successor.metricValue('llmplan_remediation_actions_total')).toBe(0);
    expect(after?.conditions?.find((c) => c.type === 'Degraded')?.reason).toBe('RolledBack');
  });
});
