/**
 * Resource descriptors and the minimal JSON shapes of Kubernetes objects the runtime handles.
 *
 * The runtime speaks raw JSON (no generated models): a resource is addressed by
 * group/version/plural, and objects are plain data whose `metadata` we need to read.
 */

/** Addresses one REST resource, e.g. apps/v1 deployments. `group` is '' for the core group. */
export interface ResourceDescriptor {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/** Any Kubernetes object. Concrete types extend this with their own `spec`/`status`. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/**
 * What create/replace/apply accept: any object with (optional) type and object metadata —
 * a partial object literal for server-side apply, a KubeObject, or a typed model such as
 * client-node's V1Deployment. (The second union member admits class instances, which lack
 * the index signature of the first; the first admits literals with arbitrary fields.)
 */
export type ApplyObject =
  | {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; namespace?: string; [field: string]: unknown };
      [field: string]: unknown;
    }
  | { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

/** What a controller reconciles: one object, by namespace ('' when cluster-scoped) and name. */
export interface Request {
  readonly namespace: string;
  readonly name: string;
}

export function apiVersionOf(resource: ResourceDescriptor): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** The group of an `apiVersion` string: 'apps/v1' → 'apps', 'v1' → ''. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export interface PathParts {
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** The REST path of a collection, an object or a subresource; the namespace is ignored for cluster-scoped resources. */
export function resourcePath(resource: ResourceDescriptor, parts: PathParts = {}): string {
  const root = resource.group
    ? `/apis/${resource.group}/${resource.version}`
    : `/api/${resource.version}`;
  let path = root;
  if (resource.namespaced && parts.namespace) {
    path += `/namespaces/${encodeURIComponent(parts.namespace)}`;
  }
  path += `/${resource.plural}`;
  if (parts.name !== undefined) {
    path += `/${encodeURIComponent(parts.name)}`;
    if (parts.subresource) path += `/${parts.subresource}`;
  }
  return path;
}

/** The cache/work-queue key of an object or request: `namespace/name`, or `name` when cluster-scoped. */
export function keyOf(ref: { namespace?: string; name?: string } | KubeObject): string {
  const meta = 'metadata' in ref ? ref.metadata : ref;
  const name = meta.name ?? '';
  return meta.namespace ? `${meta.namespace}/${name}` : name;
}

/** Inverse of {@link keyOf}; names and namespaces cannot contain '/'. */
export function requestFromKey(key: string): Request {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function requestFor(obj: KubeObject): Request {
  return { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
}

/** The owner reference with `controller: true`, if any. */
export function controllerOf<R extends { controller?: boolean }>(obj: {
  metadata?: { ownerReferences?: R[] };
}): R | undefined {
  return obj.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

const d = (
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): ResourceDescriptor => ({ group, version, plural, kind, namespaced });

/** Descriptors of common built-in resources (generic Kubernetes knowledge, nothing app-specific). */
export const builtin = {
  namespaces: d('', 'v1', 'namespaces', 'Namespace', false),
  configMaps: d('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: d('', 'v1', 'secrets', 'Secret'),
  services: d('', 'v1', 'services', 'Service'),
  serviceAccounts: d('', 'v1', 'serviceaccounts', 'ServiceAccount'),
  pods: d('', 'v1', 'pods', 'Pod'),
  coreEvents: d('', 'v1', 'events', 'Event'),
  events: d('events.k8s.io', 'v1', 'events', 'Event'),
  leases: d('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  deployments: d('apps', 'v1', 'deployments', 'Deployment'),
  replicaSets: d('apps', 'v1', 'replicasets', 'ReplicaSet'),
  endpointSlices: d('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  controllerRevisions: d('apps', 'v1', 'controllerrevisions', 'ControllerRevision'),
  horizontalPodAutoscalers: d(
    'autoscaling',
    'v2',
    'horizontalpodautoscalers',
    'HorizontalPodAutoscaler',
  ),
  ingresses: d('networking.k8s.io', 'v1', 'ingresses', 'Ingress'),
  podDisruptionBudgets: d('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
  roles: d('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
  roleBindings: d('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
  customResourceDefinitions: d(
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions',
    'CustomResourceDefinition',
    false,
  ),
} as const satisfies Record<string, ResourceDescriptor>;
