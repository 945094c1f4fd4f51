/**
 * `llmplanctl migrate helm`, the reads: the release's current revision from its Secrets,
 * the live objects the plan compares against, and an existing SummarizerService. Every
 * failure becomes a message that says what is missing and where.
 */
import { childKey } from '../../desired/children.js';
import { builtin, type KubeObject } from '../../runtime/resource.js';
import type { Session } from '../connect.js';
import { type ApiCall, CtlError, callApi } from '../errors.js';
import { decodeRelease, HELM_OWNER, HELM_OWNER_LABEL, type HelmRelease } from './helm-release.js';
import { resourceFor } from './kinds.js';
import type { ObjectRef } from './plan.js';

/** On a retired release's Secrets: the SummarizerService it became. */
export const MIGRATED_TO_LABEL = 'llmplan.io/migrated-to';

export { resourceFor } from './kinds.js';

type SecretObject = KubeObject & { type?: string; data?: Record<string, string> };

const listSecrets = (session: Session, labelSelector: string) =>
  callApi(
    session,
    { verb: 'list', resource: 'secrets', group: '', namespace: session.namespace },
    () =>
      session.client.list<SecretObject>(builtin.secrets, {
        namespace: session.namespace,
        labelSelector,
      }),
  );

export interface ReleaseRecord {
  release: HelmRelease;
  /** Names of the release's Secrets, every revision (Helm keeps up to --history-max). */
  secrets: string[];
}

/** The release's current revision: the highest version Helm recorded. */
export async function readRelease(session: Session, name: string): Promise<ReleaseRecord> {
  const ns = session.namespace;
  const { items } = await listSecrets(session, `${HELM_OWNER_LABEL}=${HELM_OWNER},name=${name}`);
  if (items.length === 0) {
    const retired = await listSecrets(session, `name=${name},${MIGRATED_TO_LABEL}`);
    const target = retired.items[0]?.metadata.labels?.[MIGRATED_TO_LABEL];
    if (target) {
      throw new CtlError(
        `Helm release ${name} in namespace ${ns} was already migrated to SummarizerService ${target}; its Helm records are kept (kubectl get secret -n ${ns} -l ${MIGRATED_TO_LABEL}=${target})`,
      );
    }
    throw new CtlError(
      `no Helm release ${name} in namespace ${ns} (no Secret labelled owner=helm,name=${name}; helm list -n ${ns} shows the releases there)`,
    );
  }
  const version = (s: SecretObject) => Number(s.metadata.labels?.version ?? 0);
  const latest = items.reduce((a, b) => (version(b) > version(a) ? b : a));
  const data = latest.data?.release;
  if (!data) throw new CtlError(`Secret ${latest.metadata.name} holds no Helm release record`);
  try {
    return { release: decodeRelease(data), secrets: items.map((s) => s.metadata.name ?? '') };
  } catch (err) {
    throw new CtlError(
      `Secret ${latest.metadata.name} cannot be read as a Helm release: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** The live objects of `refs`, by childKey; absent ones are not in the map. */
export async function readObjects(
  session: Session,
  refs: readonly ObjectRef[],
): Promise<Map<string, KubeObject>> {
  const live = new Map<string, KubeObject>();
  await Promise.all(
    refs.map(async (ref) => {
      const resource = resourceFor(ref);
      // A kind migrate does not move: the plan names it as a problem.
      if (!resource) return;
      const what: ApiCall = {
        verb: 'get',
        resource: resource.plural,
        group: resource.group,
        namespace: session.namespace,
        name: ref.name,
      };
      const object = await callApi(session, what, () =>
        session.client.find<KubeObject>(resource, ref.name, session.namespace),
      );
      if (object)
        live.set(childKey({ ...object, apiVersion: ref.apiVersion, kind: ref.kind }), object);
    }),
  );
  return live;
}
