/**
 * llmplanctl against a real API server, run as the user runs it: bin/llmplanctl (and
 * `kubectl llmplan` through the pinned kubectl) as a child process. No operator runs: the
 * test plays its part — it applies the SummarizerService as a user would
 * (`kubectl apply --server-side`), writes ControllerRevisions with the operator's own
 * buildRevision and the status through the status subresource.
 *
 * Story: v1 (healthy) → v2 (healthy, last healthy) → v3 (failed, current; the operator
 * serves v2 again and has bumped the memory limit).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { SummarizerServiceStatus } from '../../operator/api/status.js';
import {
  dropNulls,
  GROUP,
  PLURAL,
  parseSummarizerService,
  type SummarizerService,
  type SummarizerServiceInput,
  summarizerServices,
} from '../../operator/api/summarizerservice.js';
import { getSummarizerService, patchSpec } from '../../operator/ctl/cluster.js';
import { connect } from '../../operator/ctl/connect.js';
import { CtlError } from '../../operator/ctl/errors.js';
import { desiredState } from '../../operator/desired/state.js';
import { buildRevision, REVISION_ANNOTATIONS } from '../../operator/remediation/revisions.js';
import { KubeClient } from '../../operator/runtime/client.js';
import { loadClusterAccess } from '../../operator/runtime/kubeconfig.js';
import { builtin, type KubeObject } from '../../operator/runtime/resource.js';
import {
  createTestNamespace,
  kubeConfig,
  kubeconfigPath,
  kubeconfigWithRules,
  kubectlOk,
  runProgram,
} from '../support/kube.js';
import { installCrd } from '../support/operator-harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const llmplanctl = path.join(root, 'bin', 'llmplanctl');
const NAME = 'llmplan';
const REPOSITORY = 'ghcr.io/acme/summarizer';
const DEFAULT_IMAGE = 'ghcr.io/llmplan/summarizer:v0.1.0';

const client = new KubeClient(loadClusterAccess({ kubeconfig: kubeconfigPath() }), {
  fieldManager: 'llmplan-operator',
});
let ns: { name: string; dispose: () => Promise<void> };
/** The revisions as created: number → hash and recorded spec. */
const revisions = new Map<number, { hash: string; spec: SummarizerService['spec'] }>();
const scratch = mkdtempSync(path.join(tmpdir(), 'llmplanctl-test-'));

/** Runs a program to completion (bounded), never throwing on a non-zero exit. */
const exec = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runProgram(file, args, {
    env: { ...process.env, KUBECONFIG: kubeconfigPath(), ...env },
    timeoutMs: 60_000,
  });

const ctl = (...args: string[]) => exec(llmplanctl, args);
const ctlNs = (...args: string[]) => ctl(...args, '-n', ns.name);

/** A spec version, as a user's manifest. */
function manifest(spec: SummarizerServiceInput['spec']): string {
  return JSON.stringify({
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'SummarizerService',
    metadata: {
      name: NAME,
      namespace: ns.name,
      labels: { 'app.kubernetes.io/part-of': 'demo' },
      annotations: { 'example.com/owner': 'sre' },
    },
    spec,
  });
}

async function live(): Promise<SummarizerService & KubeObject> {
  const raw = await client.get<KubeObject>(summarizerServices, NAME, ns.name);
  return { ...parseSummarizerService(raw), metadata: { ...raw.metadata, name: NAME } };
}

/** Applies one version as the user (field manager "kubectl"), records its revision. */
async function deploy(
  number: number,
  spec: SummarizerServiceInput['spec'],
  health: 'healthy' | 'failed' | undefined,
): Promise<void> {
  await kubectlOk(['apply', '--server-side', '-f', '-'], { input: manifest(spec) });
  const cr = await live();
  const desired = desiredState(cr, { defaultImage: DEFAULT_IMAGE });
  const revision = buildRevision(cr, desired.specRevision, number, {
    podTemplate: desired.specPodTemplate,
    configData: desired.specConfigData,
    spec: cr.spec,
    generation: cr.metadata.generation ?? 0,
  });
  if (health) {
    revision.metadata.annotations = {
      [REVISION_ANNOTATIONS.health]: health,
      [REVISION_ANNOTATIONS.healthTime]: new Date().toISOString(),
      ...(health === 'failed' ? { [REVISION_ANNOTATIONS.healthReason]: 'CrashLoopBackOff' } : {}),
    };
  }
  await client.create(builtin.controllerRevisions, revision);
  revisions.set(number, { hash: desired.specRevision, spec: cr.spec });
}

function hash(number: number): string {
  const revision = revisions.get(number);
  if (!revision) throw new Error(`no revision ${number}`);
  return revision.hash;
}

const specV1: SummarizerServiceInput['spec'] = {
  image: { repository: REPOSITORY, tag: 'v1' },
  replicas: 2,
};
const specV2: SummarizerServiceInput['spec'] = {
  image: { repository: REPOSITORY, tag: 'v2' },
  replicas: 2,
  podAnnotations: { 'example.com/team': 'ml' },
};
const specV3: SummarizerServiceInput['spec'] = {
  image: { repository: REPOSITORY, tag: 'v3' },
  replicas: 3,
  debug: true,
  env: [{ name: 'EXTRA', value: '1' }],
  podAnnotations: { 'example.com/team': 'ml' },
};

beforeAll(async () => {
  await installCrd();
  ns = await createTestNamespace(kubeConfig(), 'ctl');
  await deploy(1, specV1, 'healthy');
  await deploy(2, specV2, 'healthy');
  await deploy(3, specV3, 'failed');
  const now = new Date();
  const minutesAgo = (m: number) =>
    `${new Date(now.getTime() - m * 60_000).toISOString().slice(0, 19)}Z`;
  const generation = (await live()).metadata.generation ?? 0;
  const status: SummarizerServiceStatus = {
    observedGeneration: generation,
    replicas: 4,
    readyReplicas: 3,
    endpoint: `http://${NAME}.${ns.name}.svc:8000`,
    currentRevision: hash(3),
    lastHealthyRevision: hash(2),
    failedRevision: hash(3),
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Available',
        message: 'revision 2 serves',
        lastTransitionTime: minutesAgo(30),
      },
      {
        type: 'Degraded',
        status: 'True',
        reason: 'RolledBack',
        message: 'revision 3 failed (CrashLoopBackOff); serving revision 2',
        lastTransitionTime: minutesAgo(5),
      },
    ],
    remediation: {
      lastActionTime: minutesAgo(5),
      rollback: {
        toRevision: hash(2),
        fromRevision: hash(3),
        specGeneration: generation,
        since: minutesAgo(5),
      },
      memoryBump: { memoryLimit: '1536Mi', specMemoryLimit: '1Gi', since: minutesAgo(20) },
    },
    history: [
      {
        time: minutesAgo(5),
        action: 'Rollback',
        reason: 'CrashLoopBackOff',
        from: hash(3),
        to: hash(2),
        revision: hash(3),
        message: 'revision 3 crash-looped',
      },
      {
        time: minutesAgo(20),
        action: 'MemoryBump',
        reason: 'OOMKilled',
        from: '1Gi',
        to: '1536Mi',
        revision: hash(2),
      },
    ],
  };
  await client.applyStatus(summarizerServices, {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'SummarizerService',
    metadata: { name: NAME, namespace: ns.name },
    status,
  });
});

afterAll(async () => {
  await ns?.dispose();
  await client.close();
});

describe('llmplanctl status', () => {
  it('shows image, replicas, revisions with numbers, remediation, endpoint and conditions', async () => {
    const result = await ctlNs('status', NAME);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const text = result.stdout;
    expect(text).toMatch(/^Name: +llmplan$/m);
    expect(text).toMatch(new RegExp(`^Namespace: +${ns.name}$`, 'm'));
    // Rolled back: the spec's tag, and the one served instead.
    expect(text).toMatch(/^Image tag: +v3 \(serving v2\)$/m);
    expect(text).toMatch(/^Replicas: +3 desired, 4 current, 3 ready$/m);
    expect(text).toMatch(/^Paused: +no$/m);
    expect(text).toMatch(new RegExp(`^Endpoint: +http://llmplan\\.${ns.name}\\.svc:8000$`, 'm'));
    expect(text).toMatch(new RegExp(`current +3 \\(${hash(3)}\\) +${REPOSITORY}:v3`));
    expect(text).toMatch(new RegExp(`last healthy +2 \\(${hash(2)}\\) +${REPOSITORY}:v2`));
    expect(text).toMatch(new RegExp(`failed +3 \\(${hash(3)}\\)`));
    expect(text).toMatch(new RegExp(`served +2 \\(${hash(2)}\\) +${REPOSITORY}:v2`));
    expect(text).toContain(
      `rollback      serving revision 2 (${hash(2)}) instead of failed revision 3 (${hash(3)}), since`,
    );
    expect(text).toContain('memory bump   memory limit 1536Mi (spec 1Gi), since');
    expect(text).toMatch(/Ready +True +Available +30m\S* +revision 2 serves/);
    expect(text).toMatch(/Degraded +True +RolledBack +5m\S* +revision 3 failed/);
  });

  it('prints the same as JSON with -o json', async () => {
    const result = await ctlNs('status', NAME, '-o', 'json');
    expect(result.code).toBe(0);
    const view = JSON.parse(result.stdout);
    expect(view).toMatchObject({
      name: NAME,
      namespace: ns.name,
      image: { repository: REPOSITORY, tag: 'v3', served: `${REPOSITORY}:v2` },
      revisions: {
        current: { number: 3, hash: hash(3) },
        lastHealthy: { number: 2, hash: hash(2) },
        failed: { number: 3, hash: hash(3) },
        served: { number: 2, hash: hash(2) },
      },
      remediation: { memoryBump: { memoryLimit: '1536Mi' } },
    });
  });

  it("defaults to the kubeconfig context's namespace", async () => {
    const config = parse(readFileSync(kubeconfigPath(), 'utf8'));
    config.contexts[0].context.namespace = ns.name;
    const file = path.join(scratch, 'with-namespace');
    writeFileSync(file, stringify(config));
    const result = await exec(llmplanctl, ['status', NAME, '--kubeconfig', file]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^Namespace: +${ns.name}$`, 'm'));
  });
});

describe('llmplanctl history', () => {
  it('lists the revisions with health and roles, and the remediation actions', async () => {
    const result = await ctlNs('history', NAME);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^REVISION +HASH +CREATED +AGE +IMAGE +HEALTH +ROLE$/);
    expect(lines[1]).toMatch(new RegExp(`^1 +${hash(1)} +\\S+Z +\\S+ +${REPOSITORY}:v1 +healthy$`));
    expect(lines[2]).toMatch(
      new RegExp(`^2 +${hash(2)} .* ${REPOSITORY}:v2 +healthy +last-healthy, served$`),
    );
    expect(lines[3]).toMatch(
      new RegExp(
        `^3 +${hash(3)} .* ${REPOSITORY}:v3 +failed \\(CrashLoopBackOff\\) +current, failed$`,
      ),
    );
    const actions = result.stdout.slice(result.stdout.indexOf('Remediation actions'));
    // Oldest first: the memory bump (20 minutes ago), then the rollback.
    expect(actions).toMatch(
      new RegExp(
        `MemoryBump +OOMKilled +1Gi +1536Mi +2 \\(${hash(2)}\\)[^\\n]*\\n[^\\n]*Rollback +CrashLoopBackOff +3 \\(${hash(3)}\\) +2 \\(${hash(2)}\\) +3 \\(${hash(3)}\\) +revision 3 crash-looped`,
      ),
    );
  });

  it('prints YAML with -o yaml', async () => {
    const result = await ctlNs('history', NAME, '-o', 'yaml');
    expect(result.code).toBe(0);
    const view = parse(result.stdout);
    expect(
      view.revisions.map((r: { number: number; marks: string[] }) => [r.number, r.marks]),
    ).toEqual([
      [1, []],
      [2, ['last-healthy', 'served']],
      [3, ['current', 'failed']],
    ]);
    expect(view.actions.map((a: { action: string }) => a.action)).toEqual([
      'MemoryBump',
      'Rollback',
    ]);
  });
});

describe('llmplanctl rollback, pause, resume', () => {
  it('--dry-run prints the changes and writes nothing', async () => {
    const before = await live();
    const result = await ctlNs('rollback', NAME, '--to-revision', '1', '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would be rolled back to revision 1 (${hash(1)})`);
    expect(result.stdout).toContain('image tag: v3 → v1');
    expect((await live()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("--to-revision writes that revision's spec back, and changes nothing else", async () => {
    const before = await client.get<KubeObject & { spec: unknown; status: unknown }>(
      summarizerServices,
      NAME,
      ns.name,
    );
    const result = await ctlNs('rollback', NAME, '--to-revision', '1');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `rolled back to revision 1 (${hash(1)}), the requested revision`,
    );
    expect(result.stdout).toContain('image tag: v3 → v1');
    expect(result.stdout).toContain('spec.replicas: 3 → 2');
    expect(result.stdout).toContain('spec.debug: true → false');
    expect(result.stdout).toContain('spec.env: [{"name":"EXTRA","value":"1"}] → <unset>');
    expect(result.stdout).toContain('spec.podAnnotations: {"example.com/team":"ml"} → <unset>');
    expect(result.stdout).toMatch(/revert the change in Git.*Argo CD/);

    const after = await client.get<KubeObject & { spec: unknown; status: unknown }>(
      summarizerServices,
      NAME,
      ns.name,
    );
    expect(dropNulls(after.spec)).toEqual(dropNulls(revisions.get(1)?.spec));
    expect(after.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
    expect(after.metadata.labels).toEqual(before.metadata.labels);
    expect(after.metadata.annotations).toEqual(before.metadata.annotations);
    expect(after.status).toEqual(before.status);

    // Only the changed fields moved to llmplanctl; the user's apply keeps the rest.
    const managers = after.metadata.managedFields ?? [];
    const ctlEntry = managers.find((m) => m.manager === 'llmplanctl');
    expect(ctlEntry?.operation).toBe('Update');
    const owned = JSON.stringify(ctlEntry?.fieldsV1);
    expect(owned).toContain('"f:tag"');
    expect(owned).toContain('"f:replicas"');
    expect(owned).not.toContain('"f:repository"');
    const userEntry = managers.find((m) => m.manager === 'kubectl' && m.operation === 'Apply');
    expect(JSON.stringify(userEntry?.fieldsV1)).toContain('"f:repository"');
    expect(JSON.stringify(userEntry?.fieldsV1)).not.toContain('"f:tag"');
  });

  it('pause and resume flip spec.paused, and say when there is nothing to do', async () => {
    const paused = await ctlNs('pause', NAME);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`summarizerservice ${NAME} (namespace ${ns.name}) paused`);
    expect((await live()).spec.paused).toBe(true);
    expect((await ctlNs('status', NAME)).stdout).toMatch(/^Paused: +yes/m);
    const again = await ctlNs('pause', NAME);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('is already paused; nothing to change');
  });

  it('rolls back to the last healthy revision by default, keeping spec.paused', async () => {
    // status still says: current 3 (failed), last healthy 2.
    const result = await ctlNs('rollback', NAME);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `rolled back to revision 2 (${hash(2)}), the last healthy revision`,
    );
    expect(result.stdout).toContain('image tag: v1 → v2');
    const after = await live();
    expect(after.spec.paused).toBe(true);
    expect({ ...after.spec, paused: false }).toEqual(revisions.get(2)?.spec);

    const nothing = await ctlNs('rollback', NAME);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('already has the spec of revision 2');
  });

  it('resume clears spec.paused', async () => {
    const result = await ctlNs('resume', NAME);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('resumed');
    expect((await live()).spec.paused).toBe(false);
  });

  it('refuses to overwrite a spec changed after it read the object', async () => {
    const session = await connect({ kubeconfig: kubeconfigPath(), namespace: ns.name });
    try {
      const stale = await getSummarizerService(session, NAME);
      await kubectlOk([
        'patch',
        '-n',
        ns.name,
        `${PLURAL}/${NAME}`,
        '--type=merge',
        '-p',
        '{"spec":{"replicas":4}}',
      ]);
      const err = await patchSpec(session, stale, { paused: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CtlError);
      expect((err as CtlError).message).toMatch(
        new RegExp(
          `^conflict: the spec of summarizerservice ${NAME} changed while llmplanctl was writing it \\(generation \\d+ → \\d+\\); nothing was written: run the command again`,
        ),
      );
      expect((await live()).spec).toMatchObject({ paused: false, replicas: 4 });
    } finally {
      await session.close();
    }
  });

  it('writes through what the operator and others write meanwhile: the status, annotations', async () => {
    const session = await connect({ kubeconfig: kubeconfigPath(), namespace: ns.name });
    try {
      const stale = await getSummarizerService(session, NAME);
      // As the operator does when a pod turns ready (restored below).
      const readyReplicas = (await live()).status?.readyReplicas;
      const writeStatus = (n: number | undefined) =>
        client.patch(
          summarizerServices,
          NAME,
          ns.name,
          { status: { readyReplicas: n } },
          { subresource: 'status' },
        );
      await writeStatus((readyReplicas ?? 0) + 1);
      await kubectlOk(['annotate', '-n', ns.name, `${PLURAL}/${NAME}`, 'example.com/touched=yes']);
      const written = await patchSpec(session, stale, { paused: true });
      expect(written.metadata.resourceVersion).not.toBe(stale.raw.metadata.resourceVersion);
      const after = await live();
      expect(after.spec.paused).toBe(true);
      expect(after.metadata.annotations?.['example.com/touched']).toBe('yes');
      await patchSpec(session, await getSummarizerService(session, NAME), { paused: false });
      await writeStatus(readyReplicas);
    } finally {
      await session.close();
    }
  });
});

describe('llmplanctl errors', () => {
  it('exits non-zero with a message naming what is wrong', async () => {
    const badKubeconfig = path.join(scratch, 'no-such-kubeconfig');
    const [missing, revision, kubeconfig, unknown, noName] = await Promise.all([
      ctlNs('status', 'nope'),
      ctlNs('rollback', NAME, '--to-revision', '7'),
      ctl('status', NAME, '--kubeconfig', badKubeconfig),
      ctl('frobnicate', NAME),
      ctl('history'),
    ]);
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `error: summarizerservice nope not found in namespace ${ns.name}\n`,
    });
    expect(revision).toMatchObject({
      code: 1,
      stderr: 'error: revision 7 not found; known: 1, 2, 3\n',
    });
    expect(kubeconfig).toMatchObject({
      code: 1,
      stderr: `error: kubeconfig ${badKubeconfig} (from --kubeconfig): no such file\n`,
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /^error: unknown command "frobnicate"\n\nUsage: llmplanctl COMMAND/,
    );
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(
      /^error: history needs the name of a SummarizerService\n\nUsage: llmplanctl history/,
    );
  });

  it('says which RBAC permission is missing', async () => {
    const file = await kubeconfigWithRules(
      client,
      ns.name,
      'ctl-reader',
      [{ apiGroups: [GROUP], resources: [PLURAL], verbs: ['get'] }],
      scratch,
    );

    const [pause, history, status] = await Promise.all([
      exec(llmplanctl, ['pause', NAME, '--kubeconfig', file]),
      exec(llmplanctl, ['history', NAME, '--kubeconfig', file]),
      exec(llmplanctl, ['status', NAME, '--kubeconfig', file]),
    ]);
    expect(pause.code).toBe(1);
    expect(pause.stderr).toContain(
      `error: forbidden: you may not patch summarizerservices.llmplan.io "llmplan" in namespace "${ns.name}". Missing RBAC permission: verb "patch" on resource "summarizerservices" in API group "llmplan.io"`,
    );
    expect(history.code).toBe(1);
    expect(history.stderr).toContain(
      'Missing RBAC permission: verb "list" on resource "controllerrevisions" in API group "apps"',
    );
    // status does without revision numbers, and says why.
    expect(status.code).toBe(0);
    expect(status.stderr).toContain(
      'warning: forbidden: you may not list controllerrevisions.apps',
    );
    expect(status.stdout).toMatch(new RegExp(`current +${hash(3)} +<none>`));
  });
});

describe('kubectl llmplan (the kubectl plugin)', () => {
  const withPlugin = {
    PATH: `${path.join(root, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
  };

  it('is found by kubectl and runs its commands', async () => {
    const kubectl = inject('kubectl');
    const list = await exec(kubectl, ['plugin', 'list'], withPlugin);
    expect(list.stdout).toContain(path.join(root, 'bin', 'kubectl-llmplan'));
    const result = await exec(kubectl, ['llmplan', 'status', NAME, '-n', ns.name], withPlugin);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Name: +llmplan$/m);
    expect(result.stdout).toMatch(/^Image tag: +v2$/m);
    const usage = await exec(kubectl, ['llmplan', 'frobnicate'], withPlugin);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: kubectl llmplan COMMAND NAME');
  });
});
