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
} from './helm-release.js';
import { describeRef, MIGRATED_FROM_ANNOTATION, type ObjectRef, type Plan } from './plan.js';
import { MIGRATED_TO_LABEL, resourceFor } from './read.js';

/** Field manager of the Deployment's `spec.paused` during the migration (an Apply the operator keeps). */
export const PAUSE_MANAGER = 'llmplanctl-migrate';
/** On a release pod taken out of the Service: the SummarizerService it is drained for. */
export const DRAIN_LABEL = 'llmplan.io/drain';
/** Seconds between a pod leaving the EndpointSlices and its deletion (the operator's preStop sleep). */
export const DRAIN_SECONDS = 5;
const POLL_MS = 500;

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
    await this.#createApiKeySecret();
    await this.#pause();
    await this.#mark();
    await this.#createResource();
    await this.#awaitAdoption();
    await this.#orphanReleaseReplicaSets();
    await this.#resume();
    await this.#awaitRollout();
    await this.#drainReleasePods();
    await this.#retire();
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
  async #until<T>(what: string, probe: () => Promise<{ done?: T; seen: string }>): Promise<T> {
    for (;;) {
      const { done, seen } = await probe();
      if (done !== undefined) return done;
      if (this.#now() > this.#deadline) {
        throw new CtlError(
          `timed out waiting for ${what} (${seen}). Nothing was lost: run the same command again to continue the migration.`,
        );
      }
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
        seen: `not adopted yet: ${waiting.join(', ')}. ${await this.#resourceConditions()} Is the llmplan operator running, at a version that adopts (${ANNOTATIONS.adopt})?`,
      };
    });
    this.#log(`the operator adopted ${this.#plan.adopt.map(describeRef).join(', ')}`);
  }

  async #resourceConditions(): Promise<string> {
    const live = await this.#session.client
      .find<
        KubeObject & {
          status?: {
            conditions?: { type: string; status: string; reason?: string; message?: string }[];
          };
        }
      >(summarizerServices, this.#plan.name, this.#ns)
      .catch(() => undefined);
    const conditions = (live?.status?.conditions ?? []).filter((c) => c.status !== 'Unknown');
    if (conditions.length === 0) return 'The SummarizerService has no status yet.';
    return `The SummarizerService says: ${conditions.map((c) => `${c.type}=${c.status} ${c.reason ?? ''}${c.message ? ` (${c.message})` : ''}`).join('; ')}.`;
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
