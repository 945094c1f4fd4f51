/**
 * The pod template derived from a SummarizerService spec (issue 4): container
 * `summarizer` on 8000/http, env from the ConfigMap plus the API key Secret, probes on the
 * service's own endpoints, a hardened security context, and the spec's scheduling fields.
 */
import type {
  V1Affinity,
  V1Container,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodSpec,
  V1PodTemplateSpec,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Toleration,
} from '@kubernetes/client-node';
import { ENV, PROBE_PATHS, SERVICE_ENV, SERVICE_ENV_DEFAULTS } from '../../contract/env.js';
import {
  ANNOTATIONS,
  CONTAINER_NAME,
  childNames,
  HTTP_PORT_NAME,
  standardLabels,
  withoutArgoTracking,
} from '../api/labels.js';
import { compareQuantities } from '../api/quantity.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import { CONTAINER_PORT } from './configmap.js';

/** uid/gid of the image's non-root user (docs/api.md#image). */
export const RUN_AS_USER = 1000;
/** Seconds the pod waits before SIGTERM, so endpoints drop it before it stops accepting. */
export const PRE_STOP_SLEEP_SECONDS = 5;
const TMP_VOLUME = 'tmp';
/** The pods' only writable place: an emptyDir of at most TMP_SIZE_LIMIT. */
export const TMP_PATH = '/tmp';
export const TMP_SIZE_LIMIT = '256Mi';

/** The pods' security context: the image's non-root uid/gid, RuntimeDefault seccomp. */
export const POD_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: RUN_AS_USER,
  runAsGroup: RUN_AS_USER,
  fsGroup: RUN_AS_USER,
  seccompProfile: { type: 'RuntimeDefault' },
} as const satisfies V1PodSecurityContext;

/** The summarizer container's: read-only root, no privilege escalation, no capabilities. */
export const CONTAINER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
} as const satisfies V1SecurityContext;

/** Timing of the summarizer's probes (paths: PROBE_PATHS, on the port named http). */
export const PROBES = {
  startup: { periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
  liveness: { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
  readiness: { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
} as const;

/** `repository:tag` of the summarizer image, falling back to the operator's default. */
export function resolveImage(cr: SummarizerService, defaultImage: string): string {
  const fallback = splitImage(defaultImage);
  const { repository, tag } = cr.spec.image;
  if (!repository && !tag) return defaultImage;
  const repo = repository ?? fallback.repository;
  const finalTag = tag ?? fallback.tag;
  if (finalTag) return `${repo}:${finalTag}`;
  // The default is pinned by digest and the user changed only the repository.
  return fallback.digest && !repository ? `${repo}@${fallback.digest}` : `${repo}:latest`;
}

/** `host:5000/a/b:tag@sha256:…` → parts; a ':' before the last '/' is a registry port. */
export function splitImage(image: string): { repository: string; tag?: string; digest?: string } {
  const [withoutDigest = '', digest] = image.split('@', 2);
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const repository = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon === -1 ? undefined : withoutDigest.slice(colon + 1);
  return { repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function resources(cr: SummarizerService): V1ResourceRequirements {
  const { requests, limits } = cr.spec.resources;
  return {
    requests: { cpu: String(requests.cpu), memory: String(requests.memory) },
    limits: { cpu: String(limits.cpu), memory: String(limits.memory) },
  };
}

function env(cr: SummarizerService): V1EnvVar[] {
  const out: V1EnvVar[] = [];
  const secret = cr.spec.lmstudio.apiKeySecretRef;
  if (secret) {
    out.push({
      name: ENV.lmstudioApiKey,
      valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } },
    });
  }
  // User entries come last: for duplicate names the last one wins, so they can override.
  for (const entry of cr.spec.env ?? []) out.push(entry as V1EnvVar);
  return out;
}

/**
 * Long enough for the service to drain: preStop sleep, then its SHUTDOWN_TIMEOUT_SECONDS
 * (from spec.env if set), plus a margin before SIGKILL.
 */
export function terminationGracePeriodSeconds(cr: SummarizerService): number {
  const configured = cr.spec.env?.find((e) => e.name === SERVICE_ENV.shutdownTimeoutSeconds)?.value;
  const parsed = configured === undefined ? Number.NaN : Number(configured);
  const shutdown =
    Number.isFinite(parsed) && parsed > 0
      ? Math.ceil(parsed)
      : SERVICE_ENV_DEFAULTS.shutdownTimeoutSeconds;
  return PRE_STOP_SLEEP_SECONDS + shutdown + 10;
}

function container(cr: SummarizerService, image: string): V1Container {
  const httpGet = (path: string) => ({ path, port: HTTP_PORT_NAME });
  const variables = env(cr);
  return {
    name: CONTAINER_NAME,
    image,
    imagePullPolicy: cr.spec.image.pullPolicy,
    ports: [{ name: HTTP_PORT_NAME, containerPort: CONTAINER_PORT, protocol: 'TCP' }],
    envFrom: [{ configMapRef: { name: childNames.configMap(cr.metadata.name) } }],
    ...(variables.length > 0 ? { env: variables } : {}),
    resources: resources(cr),
    // Up to 60 s to start; liveness never depends on LM Studio (docs/api.md, Probes).
    startupProbe: { httpGet: httpGet(PROBE_PATHS.liveness), ...PROBES.startup },
    livenessProbe: { httpGet: httpGet(PROBE_PATHS.liveness), ...PROBES.liveness },
    readinessProbe: { httpGet: httpGet(PROBE_PATHS.readiness), ...PROBES.readiness },
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } },
    securityContext: structuredClone(CONTAINER_SECURITY_CONTEXT),
    volumeMounts: [{ name: TMP_VOLUME, mountPath: TMP_PATH }],
  };
}

/** The pod template of the spec, before any remediation override. */
export function specPodTemplate(
  cr: SummarizerService,
  defaultImage: string,
  configHash: string,
): V1PodTemplateSpec {
  const name = cr.metadata.name;
  const { nodeSelector, tolerations, affinity } = cr.spec;
  const spec: V1PodSpec = {
    serviceAccountName: childNames.serviceAccount(name),
    automountServiceAccountToken: false,
    // A Service named `lmstudio` would otherwise inject LMSTUDIO_PORT & co. into the env.
    enableServiceLinks: false,
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(cr),
    securityContext: structuredClone(POD_SECURITY_CONTEXT),
    containers: [container(cr, resolveImage(cr, defaultImage))],
    volumes: [{ name: TMP_VOLUME, emptyDir: { sizeLimit: TMP_SIZE_LIMIT } }],
  };
  if (nodeSelector && Object.keys(nodeSelector).length > 0) spec.nodeSelector = nodeSelector;
  if (tolerations && tolerations.length > 0) spec.tolerations = tolerations as V1Toleration[];
  if (affinity && Object.keys(affinity).length > 0) spec.affinity = affinity as V1Affinity;
  return {
    metadata: {
      // Standard labels last: they select the pods and must not be overridden.
      labels: { ...withoutArgoTracking(cr.spec.podLabels), ...standardLabels(name) },
      annotations: {
        ...withoutArgoTracking(cr.spec.podAnnotations),
        [ANNOTATIONS.configHash]: configHash,
      },
    },
    spec,
  };
}

/**
 * A copy of `template` with the summarizer container's memory limit replaced (OOMKilled
 * bump); the request is lowered to the limit if it would exceed it.
 */
export function withMemoryLimit(
  template: V1PodTemplateSpec,
  memoryLimit: string,
): V1PodTemplateSpec {
  const copy = structuredClone(template);
  for (const c of copy.spec?.containers ?? []) {
    if (c.name !== CONTAINER_NAME) continue;
    const res = c.resources ?? {};
    res.limits = { ...res.limits, memory: memoryLimit };
    const request = res.requests?.memory;
    if (request !== undefined && exceeds(request, memoryLimit)) {
      res.requests = { ...res.requests, memory: memoryLimit };
    }
    c.resources = res;
  }
  return copy;
}

function exceeds(a: string, b: string): boolean {
  return compareQuantities(a, b) === 1;
}
