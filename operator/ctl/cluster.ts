/**
 * The cluster reads and writes llmplanctl makes — the SummarizerService, its
 * ControllerRevisions (operator/remediation/revisions.ts's format) and the Deployment's
 * served-revision annotation — each translated into a user-facing error when it fails.
 */
import type { V1ControllerRevision } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS } from '../api/labels.js';
import {
  GROUP,
  PLURAL,
  type SummarizerService,
  safeParseSummarizerService,
  summarizerServices,
} from '../api/summarizerservice.js';
import { REVISION_LABEL, type Revision, readRevision } from '../remediation/revisions.js';
import { retryOnConflict } from '../runtime/conflict.js';
import { isForbidden, isNotFound, NotFoundError } from '../runtime/errors.js';
import { builtin, type KubeObject } from '../runtime/resource.js';
import type { Session } from './connect.js';
import { type ApiCall, CtlError, callApi, describeApiError, isObjectNotFound } from './errors.js';

const { controllerRevisions } = builtin;

/** The live object: `raw` as stored (for diffs and patches), `object` typed. */
export interface LiveSummarizerService {
  raw: KubeObject & { spec?: Record<string, unknown> };
  object: SummarizerService;
  /** Why the object did not pass llmplanctl's own schema, when it did not (a version skew). */
  warning?: string;
}

const getCall = (session: Session, name: string): ApiCall => ({
  verb: 'get',
  resource: PLURAL,
  group: GROUP,
  namespace: session.namespace,
  name,
});

/** The SummarizerService of that name, if one exists. */
export function findSummarizerService(
  session: Session,
  name: string,
): Promise<KubeObject | undefined> {
  return callApi(session, getCall(session, name), () =>
    session.client.find<KubeObject>(summarizerServices, name, session.namespace),
  );
}

export async function getSummarizerService(
  session: Session,
  name: string,
): Promise<LiveSummarizerService> {
  const raw = await callApi(session, getCall(session, name), async () => {
    try {
      return await session.client.get<LiveSummarizerService['raw']>(
        summarizerServices,
        name,
        session.namespace,
      );
    } catch (err) {
      if (err instanceof NotFoundError && isObjectNotFound(err)) {
        throw new CtlError(`summarizerservice ${name} not found in namespace ${session.namespace}`);
      }
      throw err;
    }
  });
  const parsed = safeParseSummarizerService(raw);
  if (parsed.success) return { raw, object: parsed.data };
  // The API server validated it against the installed CRD; a newer CRD than this
  // llmplanctl knows may still hold values it refuses. Show what is there, and say so.
  return {
    raw,
    object: raw as unknown as SummarizerService,
    warning: `${parsed.error.message} (is llmplanctl older than the installed CRD?)`,
  };
}

/** The SummarizerService's revisions, oldest first (only those it controls). */
export async function listRevisions(session: Session, cr: SummarizerService): Promise<Revision[]> {
  const what: ApiCall = {
    verb: 'list',
    resource: controllerRevisions.plural,
    group: controllerRevisions.group,
    namespace: session.namespace,
  };
  const list = await callApi(session, what, () =>
    session.client.list<V1ControllerRevision & KubeObject>(controllerRevisions, {
      namespace: session.namespace,
      labelSelector: `${LABELS.instance}=${cr.metadata.name},${REVISION_LABEL}`,
    }),
  );
  return list.items
    .filter((item) => isControlledBy(item, cr.metadata.uid))
    .map(readRevision)
    .filter((r): r is Revision => r !== undefined)
    .sort((a, b) => a.number - b.number);
}

/**
 * listRevisions for `status`, which can do without revision numbers: when listing
 * ControllerRevisions is forbidden, no list (undefined) and a warning saying what is missing.
 */
export async function listRevisionsIfAllowed(
  session: Session,
  cr: SummarizerService,
): Promise<{ revisions?: Revision[]; warning?: string }> {
  try {
    return { revisions: await listRevisions(session, cr) };
  } catch (err) {
    if (err instanceof CtlError && isForbidden(err.cause)) {
      return {
        warning: `${err.message}\nRevision numbers and images are not shown.`,
      };
    }
    throw err;
  }
}

function isControlledBy(object: KubeObject, uid: string | undefined): boolean {
  const controller = object.metadata.ownerReferences?.find((ref) => ref.controller === true);
  // Without a uid to compare (never on a live object), the labels must do.
  return uid === undefined || controller?.uid === uid;
}

/**
 * The revision the Deployment actually serves (its `llmplan.io/revision` annotation),
 * when the SummarizerService controls a Deployment and we may read it; undefined otherwise,
 * and the caller falls back to status.
 */
export async function servedRevision(
  session: Session,
  cr: SummarizerService,
): Promise<string | undefined> {
  try {
    const deployment = await session.client.get<KubeObject>(
      builtin.deployments,
      cr.metadata.name,
      session.namespace,
    );
    if (!isControlledBy(deployment, cr.metadata.uid)) return undefined;
    return deployment.metadata.annotations?.[ANNOTATIONS.revision];
  } catch (err) {
    if (isNotFound(err) || isForbidden(err)) return undefined;
    throw describeApiError(
      err,
      {
        verb: 'get',
        resource: builtin.deployments.plural,
        group: builtin.deployments.group,
        namespace: session.namespace,
        name: cr.metadata.name,
      },
      session,
    );
  }
}

/**
 * A JSON merge patch of the spec, guarded by the resourceVersion the change was computed
 * from: if anyone changed the spec in between, the API server answers 409 and nothing is
 * overwritten. The operator writes the status all the time (during a bad rollout, when a user
 * is most likely to run this); a 409 whose cause was only that — the object's generation, which
 * counts spec changes, is still the one read — is sent again on the new resourceVersion.
 */
export async function patchSpec(
  session: Session,
  live: LiveSummarizerService,
  specPatch: Record<string, unknown>,
): Promise<KubeObject & { spec?: Record<string, unknown> }> {
  const name = live.object.metadata.name;
  const what: ApiCall = {
    verb: 'patch',
    resource: PLURAL,
    group: GROUP,
    namespace: session.namespace,
    name,
  };
  const generation = live.raw.metadata.generation;
  return callApi(session, what, () =>
    retryOnConflict(async (attempt) => {
      const read =
        attempt === 0
          ? live.raw
          : await session.client.get<KubeObject>(summarizerServices, name, session.namespace);
      if (read.metadata.generation !== generation) {
        throw new CtlError(
          `conflict: the spec of summarizerservice ${name} changed while llmplanctl was writing it (generation ${generation ?? '?'} → ${read.metadata.generation ?? '?'}); nothing was written: run the command again to act on the new spec`,
        );
      }
      return session.client.patch<KubeObject & { spec?: Record<string, unknown> }>(
        summarizerServices,
        name,
        session.namespace,
        { metadata: { resourceVersion: read.metadata.resourceVersion }, spec: specPatch },
        { type: 'merge' },
      );
    }),
  );
}
