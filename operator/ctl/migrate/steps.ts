/**
 * `llmplanctl migrate helm`, the steps: from a plan (plan.ts) to a SummarizerService
 * that controls the release's objects, without a moment in which the Service has no ready
 * pod behind it and without sending a request to a pod that is stopping.
 *
 * The release's pods were started by the old chart: no preStop hook, so they stop accepting
 * the instant they get SIGTERM, while kube-proxy still routes new connections to them for a
 * moment — a plain rolling update (which deletes them) would refuse some of those
 * connections. So they are never deleted while in the Service:
 *
 *  1. the Deployment is paused (its own field manager's `spec.paused`, which the operator's
 *     apply leaves alone), so adopting it does not start a rollout;
 *  2. the objects are marked for adoption (`llmplan.io/adopt`, markForAdoption: a controller's
 *     write in between is read again, not an error) and the SummarizerService is
 *     created: the operator takes them over in place (reconcile/adopt.ts) and creates what
 *     the release did not have (the PodDisruptionBudget);
 *  3. the release's ReplicaSet is deleted with orphan propagation: its pods keep serving,
 *     owned by nothing;
 *  4. the Deployment is resumed: the operator's pod template starts at full count beside them;
 *  5. once those pods are available, each old pod in turn leaves the Service (its selector
 *     labels removed), is out of every EndpointSlice, is given DRAIN_SECONDS for kube-proxy
 *     to follow, and only then is deleted (it finishes what it has in flight);
 *  6. the Helm release is retired: its Secrets lose `owner=helm` (so `helm list` and
 *     `helm upgrade` no longer see it) and are kept, labelled with what they became.
 *
 * Every step first checks whether it is done already, so an interrupted migration resumes
 * when run again.
 *
 * A migration that cannot finish before the release's ReplicaSet is removed (step 3: the
 * operator never adopts, or refuses what it adopted) is undone, within UNDO_SECONDS: the
 * marks removed, the SummarizerService deleted without its release objects (orphan
 * propagation) and what only it had, each adopted object given back to Helm as the release
 * left it (undo.ts), the Deployment resumed, the API key Secret deleted — and the error says
 * what the operator reported. Past that point the migration only goes forward: running the
 * same command again continues it.
 */
import { ANNOTATIONS, LABELS, MANAGER, selectorLabels } from '../../api/labels.js';
import { summarizerServices } from '../../api/summarizerservice.js';
import { retryOnConflict } from '../../runtime/conflict.js';
import { isNotFound } from '../../runtime/errors.js';
import { builtin, type KubeObject, type ResourceDescriptor } from '../../runtime/resource.js';
import type { Io } from '../commands.js';
import type { Session } from '../connect.js';
import { type ApiCall, CtlError, callApi } from '../errors.js';
import {
  HELM_OWNER_LABEL,
  HELM_RELEASE_NAME_ANNOTATION,
  HELM_RELEASE_NAMESPACE_ANNOTATION,
  manifestObjects,
} from './helm-release.js';
import { describeRef, MIGRATED_FROM_ANNOTATION, type ObjectRef, type Plan } from './plan.js';
import { MIGRATED_TO_LABEL, resourceFor } from './read.js';
import {
  isAdopted,
  type JsonPatchOp,
  type OperatorEvent,
  operatorReport,
  restorePatch,
} from './undo.js';

/** Field manager of the Deployment's `spec.paused` during the migration (an Apply the operator keeps). */
export const PAUSE_MANAGER = 'llmplanctl-migrate';
/** On a release pod taken out of the Service: the SummarizerService it is drained for. */
export const DRAIN_LABEL = 'llmplan.io/drain';
/** Seconds between a pod leaving the EndpointSlices and its deletion (the operator's preStop sleep). */
export const DRAIN_SECONDS = 5;
const POLL_MS = 500;
/** How long undoing a migration that cannot finish may take. */
export const UNDO_SECONDS = 120;

/** Labels Helm sets that nothing else reads; dropped from the objects that stay. */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/version'];
const HELM_ANNOTATIONS = [HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION];

type Deployment = KubeObject & {
  spec?: {
    replicas?: number;
    paused?: boolean;
    selector?: { matchLabels?: Record<string, string> };
  };
  status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number };
};
type Pod = KubeObject & { spec?: { terminationGracePeriodSeconds?: number } };
type EndpointSlice = KubeObject & {
  endpoints?: { targetRef?: { kind?: string; name?: string } }[];
};

const selector = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
const isOperatorTemplate = (labels: Record<string, string> | undefined) =>
  labels?.[LABELS.managedBy] === MANAGER;
const controllerUid = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export interface StepsOptions {
  session: Session;
  plan: Plan;
  io: Io;
  /** Deadline of the whole migration (ms since the epoch). */
  deadline: number;
  now?: () => number;
}

export class MigrationSteps {
  readonly #session: Session;
  readonly #plan: Plan;
  readonly #io: Io;
  readonly #deadline: number;
  readonly #now: () => number;
  readonly #start: number;
  #resource?: KubeObject;

  constructor(options: StepsOptions) {
    this.#session = options.session;
    this.#plan = options.plan;
    this.#io = options.io;
    this.#deadline = options.deadline;
    this.#now = options.now ?? Date.now;
    this.#start = this.#now();
  }

  get #ns() {
    return this.#session.namespace;
  }
  get #deployment() {
    return this.#plan.name;
  }

  /** Runs every step; `existing` is the SummarizerService of an interrupted run. */
  async run(existing?: KubeObject): Promise<void> {
    this.#resource = existing;
    try {
      await this.#createApiKeySecret();
      await this.#pause();
      await this.#mark();
      await this.#createResource();
      await this.#awaitAdoption();
    } catch (err) {
      throw await this.#undo(err);
    }
    try {
      await this.#orphanReleaseReplicaSets();
      await this.#resume();
      await this.#awaitRollout();
      await this.#drainReleasePods();
      await this.#retire();
    } catch (err) {
      throw new CtlError(
        `${errorText(err)} ${await this.#operatorSays()}\nThe release's pods keep serving (nothing was lost), but past the removal of its ReplicaSet the migration only goes forward: run the same command again to continue the migration.`,
      );
    }
  }

  /** The release's ReplicaSets and pods as they are now (for --dry-run's steps). */
  async observe(): Promise<{ replicaSets: string[]; pods: string[] }> {
    const [replicaSets, pods] = await Promise.all([
      this.#releaseReplicaSets(),
      this.#releasePods(),
    ]);
    return {
      replicaSets: replicaSets.map((r) => r.metadata.name ?? ''),
      pods: pods.map((p) => p.metadata.name ?? ''),
    };
  }

  #log(line: string): void {
    const seconds = ((this.#now() - this.#start) / 1000).toFixed(1).padStart(6);
    this.#io.out(`[${seconds} s] ${line}\n`);
  }

  #call<T>(what: ApiCall, run: () => Promise<T>): Promise<T> {
    return callApi(this.#session, what, run);
  }

  /** Polls `probe` until it returns a value; on the deadline, fails saying what it saw last. */
  async #until<T>(
    what: string,
    probe: () => Promise<{ done?: T; seen: string }>,
    deadline = this.#deadline,
  ): Promise<T> {
    for (;;) {
      const { done, seen } = await probe();
      if (done !== undefined) return done;
      if (this.#now() > deadline) throw new CtlError(`timed out waiting for ${what} (${seen}).`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async #getDeployment(): Promise<Deployment> {
    return this.#call(
      {
        verb: 'get',
        resource: 'deployments',
        group: 'apps',
        namespace: this.#ns,
        name: this.#deployment,
      },
      () => this.#session.client.get<Deployment>(builtin.deployments, this.#deployment, this.#ns),
    );
  }

  async #createApiKeySecret(): Promise<void> {
    const secret = this.#plan.apiKeySecret;
    if (!secret) return;
    const what: ApiCall = {
      verb: 'create',
      resource: 'secrets',
      group: '',
      namespace: this.#ns,
      name: secret.name,
    };
    const existing = await this.#call(what, () =>
      this.#session.client.find<KubeObject & { data?: Record<string, string> }>(
        builtin.secrets,
        secret.name,
        this.#ns,
      ),
    );
    const encoded = Buffer.from(secret.value).toString('base64');
    if (existing) {
      if (existing.data?.[secret.key] !== encoded) {
        throw new CtlError(
          `Secret ${secret.name} exists and does not hold the release's config.lmstudio.apiKey under ${secret.key}; delete or rename it first`,
        );
      }
      return;
    }
    await this.#call(what, () =>
      this.#session.client.create(builtin.secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: secret.name,
          namespace: this.#ns,
          labels: { [MIGRATED_FROM_ANNOTATION]: this.#plan.release.name },
        },
        type: 'Opaque',
        data: { [secret.key]: encoded },
      }),
    );
    this.#log(`created Secret ${secret.name} (key ${secret.key}: the release's LM Studio API key)`);
  }

  async #applyPause(paused: boolean): Promise<void> {
    const body = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: this.#deployment, namespace: this.#ns },
      // Resuming applies nothing: the field goes with its only manager's claim.
      ...(paused ? { spec: { paused: true } } : {}),
    };
    await this.#call(
      {
        verb: 'patch',
        resource: 'deployments',
        group: 'apps',
        namespace: this.#ns,
        name: this.#deployment,
      },
      () =>
        this.#session.client.apply(builtin.deployments, body, {
          fieldManager: PAUSE_MANAGER,
          force: true,
        }),
    );
  }

  async #pause(): Promise<void> {
    if ((await this.#releaseReplicaSets()).length === 0) return; // past this point already
    await this.#applyPause(true);
    this.#log(`paused Deployment ${this.#deployment}: adopting it starts no rollout`);
  }

  async #mark(): Promise<void> {
    const marked: string[] = [];
    for (const ref of this.#plan.adopt) {
      const resource = resourceFor(ref);
      if (!resource) continue;
      const done = await markForAdoption(this.#session, resource, ref, {
        marker: this.#plan.name,
        ...(this.#resource?.metadata.uid ? { adoptedBy: this.#resource.metadata.uid } : {}),
      });
      if (done) marked.push(describeRef(ref));
    }
    if (marked.length > 0) {
      this.#log(
        `marked for adoption (${ANNOTATIONS.adopt}=${this.#plan.name}): ${marked.join(', ')}`,
      );
    }
  }

  async #createResource(): Promise<void> {
    if (this.#resource) return;
    const what: ApiCall = {
      verb: 'create',
      resource: 'summarizerservices',
      group: 'llmplan.io',
      namespace: this.#ns,
      name: this.#plan.name,
    };
    this.#resource = await this.#call(what, () =>
      this.#session.client.create<KubeObject>(summarizerServices, this.#plan.resource),
    );
    this.#log(
      `created SummarizerService ${this.#plan.name}: the operator adopts the marked objects`,
    );
  }

  async #awaitAdoption(): Promise<void> {
    const uid = this.#resource?.metadata.uid;
    await this.#until('the operator to adopt the release’s objects', async () => {
      const waiting: string[] = [];
      for (const ref of this.#plan.adopt) {
        const resource = resourceFor(ref);
        if (!resource) continue;
        const live = await this.#session.client.find<
          Deployment & { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }
        >(resource, ref.name, this.#ns);
        const adopted =
          live !== undefined &&
          controllerUid(live) === uid &&
          live.metadata.annotations?.[ANNOTATIONS.adopt] === undefined &&
          (ref.kind !== 'Deployment' || isOperatorTemplate(live.spec?.template?.metadata?.labels));
        if (!adopted) waiting.push(describeRef(ref));
      }
      if (waiting.length === 0) return { done: true, seen: '' };
      return {
        seen: `not adopted yet: ${waiting.join(', ')}. Is the llmplan operator running, at a version that adopts (${ANNOTATIONS.adopt})?`,
      };
    });
    this.#log(`the operator adopted ${this.#plan.adopt.map(describeRef).join(', ')}`);
  }

  /** The SummarizerService as it is now, if any. */
  async #liveResource(): Promise<KubeObject | undefined> {
    return this.#session.client
      .find<KubeObject>(summarizerServices, this.#plan.name, this.#ns)
      .catch(() => undefined);
  }

  /** What the operator reports about the SummarizerService: conditions and Warning events. */
  async #operatorSays(): Promise<string> {
    const live = await this.#liveResource();
    const events = live
      ? await this.#session.client
          .list<KubeObject & OperatorEvent>(builtin.events, { namespace: this.#ns })
          .then((l) => l.items)
          .catch(() => [])
      : [];
    return operatorReport(live, events);
  }

  /**
   * Undoes a migration that cannot finish, before the release's ReplicaSet is removed (see
   * the header); returns the error to throw: the cause, what the operator says, what was
   * undone and what could not be.
   */
  async #undo(cause: unknown): Promise<CtlError> {
    const says = await this.#operatorSays();
    const deadline = this.#now() + UNDO_SECONDS * 1000;
    const undone: string[] = [];
    const failed: string[] = [];
    const step = async (what: string, run: () => Promise<boolean | undefined>) => {
      try {
        if ((await run()) !== false) undone.push(what);
      } catch (err) {
        failed.push(`${what}: ${errorText(err)}`);
      }
    };
    const release = this.#plan.release.name;
    const deployment = await this.#getDeployment().catch(() => undefined);
    if (deployment && (await this.#releaseReplicaSets().catch(() => [])).length === 0) {
      // Not this run's doing: an earlier, interrupted one got past the point of no return.
      return new CtlError(
        `${errorText(cause)} ${says}\nThe release's ReplicaSet is gone already (an earlier run removed it): the migration only goes forward; run the same command again to continue it.`,
      );
    }
    const manifests = manifestObjects(this.#plan.release.manifest);
    const manifestOf = (ref: ObjectRef) =>
      manifests.find((m) => m.kind === ref.kind && m.metadata.name === ref.name);

    // 1. No new adoption: the marks on objects not adopted yet go first (best effort: step 3
    //    looks at every object again once the SummarizerService is gone).
    for (const ref of this.#plan.adopt) {
      const resource = resourceFor(ref);
      const manifest = manifestOf(ref);
      if (!resource || !manifest) continue;
      try {
        const live = await this.#session.client.find(resource, ref.name, this.#ns);
        if (live && !isAdopted(live) && live.metadata.annotations?.[ANNOTATIONS.adopt]) {
          await this.#jsonPatch(resource, ref, restorePatch(manifest, live, this.#releaseRef()));
          undone.push(`${describeRef(ref)}: adoption mark removed`);
        }
      } catch {
        // Adopted meanwhile, or changed: step 3.
      }
    }
    // 2. The SummarizerService migrate created, without the release's objects; then what
    //    only it had (the PodDisruptionBudget, its ControllerRevisions…).
    const resource = await this.#liveResource();
    if (resource?.metadata.annotations?.[MIGRATED_FROM_ANNOTATION] === release) {
      const uid = resource.metadata.uid;
      const owned = await this.#ownedBy(uid);
      await step(
        `SummarizerService ${this.#plan.name} deleted (orphan propagation: the release's objects stay)`,
        async () => {
          await this.#session.client.delete(summarizerServices, this.#plan.name, this.#ns, {
            propagationPolicy: 'Orphan',
            ...(uid ? { preconditions: { uid } } : {}),
            ignoreNotFound: true,
          });
          await this.#until(
            `SummarizerService ${this.#plan.name} to be gone and its owner references dropped`,
            async () =>
              (await this.#liveResource()) ? { seen: 'still there' } : { done: true, seen: '' },
            deadline,
          );
          return true;
        },
      );
      for (const { resource: kind, object } of owned) {
        await step(
          `${object.kind} ${object.metadata.name} (the SummarizerService's only) deleted`,
          () =>
            this.#session.client.delete(kind, object.metadata.name ?? '', this.#ns, {
              preconditions: { uid: object.metadata.uid },
              ignoreNotFound: true,
            }),
        );
      }
    }
    // 3. Each adopted object back to Helm as the release left it; a mark left is removed.
    for (const ref of this.#plan.adopt) {
      const kind = resourceFor(ref);
      const manifest = manifestOf(ref);
      if (!kind || !manifest) continue;
      await step(`${describeRef(ref)} back to Helm`, async () => {
        // Guarded by the resourceVersion read: a write in between is read again.
        for (let attempt = 1; ; attempt++) {
          const live = await this.#session.client.find(kind, ref.name, this.#ns);
          const ops = live ? restorePatch(manifest, live, this.#releaseRef()) : [];
          if (ops.length === 0) return false;
          const what =
            live && isAdopted(live)
              ? `${describeRef(ref)}: given back to Helm (its labels and annotations, the release's fields)`
              : `${describeRef(ref)}: adoption mark removed`;
          try {
            await this.#jsonPatch(kind, ref, ops);
            undone.push(what);
            return false;
          } catch (err) {
            if (attempt >= 3) throw err;
          }
        }
      });
    }
    // 4. Resumed, once its pod template is the release's: resuming then starts no rollout.
    await step(`Deployment ${this.#deployment} resumed`, async () => {
      const live = await this.#getDeployment();
      if (!live.spec?.paused) return false;
      const template = (
        live as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }
      ).spec?.template?.metadata?.labels;
      if (isOperatorTemplate(template)) {
        throw new CtlError(
          "left paused: its pod template is still the operator's, and resuming would replace the release's pods",
        );
      }
      await this.#applyPause(false);
      return true;
    });
    // 5. The API key Secret migrate created.
    const secret = this.#plan.apiKeySecret;
    if (secret) {
      await step(`Secret ${secret.name} deleted`, async () => {
        const live = await this.#session.client.find(builtin.secrets, secret.name, this.#ns);
        if (live?.metadata.labels?.[MIGRATED_FROM_ANNOTATION] !== release) return false;
        return this.#session.client.delete(builtin.secrets, secret.name, this.#ns, {
          preconditions: { uid: live.metadata.uid },
          ignoreNotFound: true,
        });
      });
    }
    const lines = [`${errorText(cause)} ${says}`];
    if (undone.length > 0) lines.push(`Undone:\n${undone.map((u) => `  - ${u}`).join('\n')}`);
    if (failed.length > 0) {
      lines.push(
        `Could not be undone (within ${UNDO_SECONDS} s):\n${failed.map((f) => `  - ${f}`).join('\n')}`,
        'Run the same command again to continue the migration instead, or finish undoing by hand (docs/migrate-helm.md, A migration that cannot finish).',
      );
    } else {
      lines.push(
        `Helm release ${release} is as it was (helm list shows it; its pods never stopped). Fix what the operator reports, then run the same command again.`,
      );
    }
    return new CtlError(lines.join('\n'));
  }

  #releaseRef() {
    return { name: this.#plan.release.name, namespace: this.#ns };
  }

  async #jsonPatch(resource: ResourceDescriptor, ref: ObjectRef, ops: JsonPatchOp[]) {
    if (ops.length === 0) return;
    await this.#call(
      {
        verb: 'patch',
        resource: resource.plural,
        group: resource.group,
        namespace: this.#ns,
        name: ref.name,
      },
      () => this.#session.client.patch(resource, ref.name, this.#ns, ops, { type: 'json' }),
    );
  }

  /** Objects the SummarizerService controls that are not the release's: deleted with it on an undo. */
  async #ownedBy(
    uid: string | undefined,
  ): Promise<{ resource: ResourceDescriptor; object: KubeObject }[]> {
    if (!uid) return [];
    const out: { resource: ResourceDescriptor; object: KubeObject }[] = [];
    for (const ref of this.#plan.create) {
      const resource = resourceFor(ref);
      if (!resource) continue;
      const live = await this.#session.client
        .find(resource, ref.name, this.#ns)
        .catch(() => undefined);
      if (live && controllerUid(live) === uid) out.push({ resource, object: live });
    }
    const revisions = await this.#session.client
      .list(builtin.controllerRevisions, { namespace: this.#ns })
      .then((l) => l.items)
      .catch(() => []);
    for (const r of revisions) {
      if (controllerUid(r) === uid) out.push({ resource: builtin.controllerRevisions, object: r });
    }
    return out;
  }

  /** ReplicaSets of the Deployment that run the release's pod template (not the operator's). */
  async #releaseReplicaSets(): Promise<KubeObject[]> {
    const deployment = await this.#getDeployment();
    const list = await this.#call(
      { verb: 'list', resource: 'replicasets', group: 'apps', namespace: this.#ns },
      () =>
        this.#session.client.list<
          KubeObject & { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }
        >(builtin.replicaSets, {
          namespace: this.#ns,
          labelSelector: selector(selectorLabels(this.#plan.name)),
        }),
    );
    return list.items.filter(
      (rs) =>
        controllerUid(rs) === deployment.metadata.uid &&
        !isOperatorTemplate(rs.spec?.template?.metadata?.labels),
    );
  }

  async #orphanReleaseReplicaSets(): Promise<void> {
    for (const rs of await this.#releaseReplicaSets()) {
      const name = rs.metadata.name ?? '';
      await this.#call(
        { verb: 'delete', resource: 'replicasets', group: 'apps', namespace: this.#ns, name },
        () =>
          this.#session.client.delete(builtin.replicaSets, name, this.#ns, {
            propagationPolicy: 'Orphan',
            preconditions: { uid: rs.metadata.uid },
            ignoreNotFound: true,
          }),
      );
      await this.#until(`ReplicaSet ${name} to let go of its pods`, async () => {
        const left = await this.#session.client.find(builtin.replicaSets, name, this.#ns);
        return left ? { seen: 'still there' } : { done: true, seen: '' };
      });
      this.#log(
        `ReplicaSet ${name} removed with orphan propagation: its pods keep serving, owned by nothing`,
      );
    }
  }

  async #resume(): Promise<void> {
    const deployment = await this.#getDeployment();
    if (!deployment.spec?.paused) return;
    await this.#applyPause(false);
    this.#log(
      `resumed Deployment ${this.#deployment}: the operator's pod template starts beside the release's pods`,
    );
  }

  async #awaitRollout(): Promise<void> {
    const replicas = await this.#until(
      `Deployment ${this.#deployment}'s new pods to be available`,
      async () => {
        const d = await this.#getDeployment();
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        const seen = `${s.availableReplicas ?? 0} of ${want} available, ${s.updatedReplicas ?? 0} updated`;
        const done =
          (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
          (s.updatedReplicas ?? 0) >= want &&
          (s.availableReplicas ?? 0) >= want;
        return done ? { done: want, seen } : { seen };
      },
    );
    this.#log(`${replicas} of ${replicas} pods of the operator's template available`);
  }

  /** The release's pods: orphans still in the Service, and those already taken out of it. */
  async #releasePods(): Promise<Pod[]> {
    const list = (labelSelector: string) =>
      this.#call({ verb: 'list', resource: 'pods', group: '', namespace: this.#ns }, () =>
        this.#session.client.list<Pod>(builtin.pods, { namespace: this.#ns, labelSelector }),
      );
    const [serving, drained] = await Promise.all([
      list(selector(selectorLabels(this.#plan.name))),
      list(`${DRAIN_LABEL}=${this.#plan.name}`),
    ]);
    // Orphaned with their ReplicaSet (step 3); the operator's pods carry its template's labels.
    const orphans = serving.items.filter((p) => !isOperatorTemplate(p.metadata.labels));
    return [...drained.items, ...orphans];
  }

  async #drainReleasePods(): Promise<void> {
    for (const pod of await this.#releasePods()) {
      const name = pod.metadata.name ?? '';
      const what: ApiCall = {
        verb: 'patch',
        resource: 'pods',
        group: '',
        namespace: this.#ns,
        name,
      };
      if (pod.metadata.labels?.[DRAIN_LABEL] === undefined) {
        const labels: Record<string, string | null> = { [DRAIN_LABEL]: this.#plan.name };
        for (const key of Object.keys(selectorLabels(this.#plan.name))) labels[key] = null;
        await this.#call(what, () =>
          this.#session.client.patch(builtin.pods, name, this.#ns, { metadata: { labels } }),
        );
      }
      await this.#until(
        `pod ${name} to leave the EndpointSlices of Service ${this.#plan.name}`,
        async () => {
          const slices = await this.#session.client.list<EndpointSlice>(builtin.endpointSlices, {
            namespace: this.#ns,
            labelSelector: `kubernetes.io/service-name=${this.#plan.name}`,
          });
          const listed = slices.items.some((s) =>
            s.endpoints?.some((e) => e.targetRef?.kind === 'Pod' && e.targetRef.name === name),
          );
          return listed ? { seen: 'still an endpoint' } : { done: true, seen: '' };
        },
      );
      await new Promise((resolve) => setTimeout(resolve, DRAIN_SECONDS * 1000));
      await this.#call({ ...what, verb: 'delete' }, () =>
        this.#session.client.delete(builtin.pods, name, this.#ns, {
          preconditions: { uid: pod.metadata.uid },
          ignoreNotFound: true,
        }),
      );
      this.#log(
        `pod ${name} of the release: out of the Service, ${DRAIN_SECONDS} s for kube-proxy, then deleted (it finishes what it has in flight)`,
      );
    }
  }

  async #retire(): Promise<void> {
    for (const ref of this.#plan.keep) await this.#detach(ref);
    const release = this.#plan.release.name;
    for (const secret of this.#plan.secrets) {
      await this.#call(
        { verb: 'patch', resource: 'secrets', group: '', namespace: this.#ns, name: secret },
        () =>
          this.#session.client
            .patch(builtin.secrets, secret, this.#ns, {
              metadata: {
                labels: { [HELM_OWNER_LABEL]: null, [MIGRATED_TO_LABEL]: this.#plan.name },
              },
            })
            .catch((err: unknown) => {
              if (isNotFound(err)) return undefined;
              throw err;
            }),
      );
    }
    this.#log(
      `Helm release ${release} retired: its ${this.#plan.secrets.length} Secret(s) kept, without ${HELM_OWNER_LABEL}=helm and labelled ${MIGRATED_TO_LABEL}=${this.#plan.name}; helm list no longer shows it`,
    );
  }

  /** An object of the release no child corresponds to: it stays, without Helm's marks. */
  async #detach(ref: ObjectRef): Promise<void> {
    const resource = resourceFor(ref);
    if (!resource) return;
    const labels = Object.fromEntries(HELM_LABELS.map((k) => [k, null]));
    const annotations = Object.fromEntries(HELM_ANNOTATIONS.map((k) => [k, null]));
    await this.#call(
      {
        verb: 'patch',
        resource: resource.plural,
        group: resource.group,
        namespace: this.#ns,
        name: ref.name,
      },
      async () => {
        const live = await this.#session.client.get(resource, ref.name, this.#ns);
        const managedBy =
          live.metadata.labels?.[LABELS.managedBy] === 'Helm' ? { [LABELS.managedBy]: null } : {};
        return this.#session.client.patch(resource, ref.name, this.#ns, {
          metadata: { labels: { ...labels, ...managedBy }, annotations },
        });
      },
    );
    this.#log(`${describeRef(ref)} stays as it is, no longer marked as Helm's`);
  }
}

export interface MarkOptions {
  /** The SummarizerService the object is marked for (the annotation's value). */
  marker: string;
  /** Uid of that SummarizerService once it exists: an object it controls is adopted already. */
  adoptedBy?: string;
}

/**
 * Marks one of the release's objects for adoption (`llmplan.io/adopt`); false if it is marked
 * or adopted already. The patch carries the resourceVersion the object was judged on, so it
 * never marks an object that changed hands since. The objects' controllers write them all the
 * time (the Deployment controller answers the pause with a status write, the HPA controller
 * writes its status every 15 s): a 409 means read it again and judge it again, not fail.
 */
export async function markForAdoption(
  session: Session,
  resource: ResourceDescriptor,
  ref: ObjectRef,
  options: MarkOptions,
): Promise<boolean> {
  const what: ApiCall = {
    verb: 'patch',
    resource: resource.plural,
    group: resource.group,
    namespace: session.namespace,
    name: ref.name,
  };
  return callApi(session, what, () =>
    retryOnConflict(async () => {
      const live = await session.client.get(resource, ref.name, session.namespace);
      const controller = live.metadata.ownerReferences?.find((r) => r.controller);
      if (options.adoptedBy && controller?.uid === options.adoptedBy) return false;
      if (controller) {
        throw new CtlError(
          `${describeRef(ref)} became controlled by ${controller.kind} ${controller.name} during the migration; nothing of it was changed`,
        );
      }
      const marker = live.metadata.annotations?.[ANNOTATIONS.adopt];
      if (marker === options.marker) return false;
      if (marker !== undefined) {
        throw new CtlError(
          `${describeRef(ref)} was marked for adoption by SummarizerService ${marker} during the migration`,
        );
      }
      await session.client.patch(resource, ref.name, session.namespace, {
        metadata: {
          resourceVersion: live.metadata.resourceVersion,
          annotations: { [ANNOTATIONS.adopt]: options.marker },
        },
      });
      return true;
    }),
  );
}
