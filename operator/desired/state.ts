/**
 * Spec → desired children (docs/resource.md#what-the-operator-owns), pure: the same
 * SummarizerService and options always give the same objects, in the form sent to
 * server-side apply (no status, nothing the API server owns). Remediation (issue 5) steers
 * the result through `overrides` and never through the spec: a rollback serves an older pod
 * template, a memory bump raises the limit, an emergency scale-up raises the replica floor.
 */
import type {
  V1Deployment,
  V1Ingress,
  V1PodDisruptionBudget,
  V1PodTemplateSpec,
  V1Service,
  V2HorizontalPodAutoscaler,
  V2MetricSpec,
} from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  COMPONENTS,
  childNames,
  HTTP_PORT_NAME,
  REPLICAS_OWNER,
  selectorLabels,
  withoutArgoTracking,
} from '../api/labels.js';
import type { SummarizerService } from '../api/summarizerservice.js';
import { childMetadata, type DesiredObject } from './children.js';
import { type ConfigData, desiredConfigData } from './configmap.js';
import { configHash, podTemplateHash } from './hash.js';
import { specPodTemplate, withMemoryLimit } from './pod-template.js';

/** What remediation currently imposes; every field is optional and independent. */
export interface RemediationOverrides {
  /** Rollback: serve this (earlier, healthy) pod template instead of the spec's. */
  podTemplate?: V1PodTemplateSpec;
  /** Rollback: the ConfigMap data recorded with that template (default: the spec's). */
  configData?: ConfigData;
  /** OOMKilled bump: memory limit of the summarizer container. */
  memoryLimit?: string;
  /** Emergency scale-up: replica floor (HPA minReplicas while autoscaling). */
  replicas?: number;
}

export interface DesiredOptions {
  /** Image used where spec.image leaves repository or tag unset. */
  defaultImage: string;
  overrides?: RemediationOverrides;
}

export interface DesiredState {
  /** Children in apply order: dependencies (ServiceAccount, ConfigMap) first. */
  objects: DesiredObject[];
  /** The pod template of the spec alone: what a ControllerRevision records. */
  specPodTemplate: V1PodTemplateSpec;
  /** The ConfigMap data of the spec alone. */
  specConfigData: ConfigData;
  /** Revision identity of the spec (hash of specPodTemplate): status.currentRevision. */
  specRevision: string;
  /** Revision the Deployment serves: specRevision, or the rollback target's. */
  servedRevision: string;
  /**
   * While autoscaling: the HPA's minimum. The Deployment (which then has no replicas of
   * its own) is created, and switched to autoscaling, at no fewer (reconcile/replicas.ts).
   */
  autoscalingMinReplicas?: number;
}

/** Replicas the workload runs (autoscaling off) or the HPA floor (on), with the scale-up floor. */
export function effectiveReplicas(cr: SummarizerService, overrides: RemediationOverrides = {}) {
  const { autoscaling, replicas } = cr.spec;
  const floor = overrides.replicas ?? 0;
  if (autoscaling.enabled) {
    // Never beyond the autoscaling maximum (docs/resource.md#remediation).
    const min = Math.min(Math.max(autoscaling.minReplicas, floor), autoscaling.maxReplicas);
    return { autoscaling: true as const, minReplicas: min, maxReplicas: autoscaling.maxReplicas };
  }
  return { autoscaling: false as const, replicas: Math.max(replicas, floor) };
}

function deployment(
  cr: SummarizerService,
  template: V1PodTemplateSpec,
  servedRevision: string,
  overrides: RemediationOverrides,
): DesiredObject & V1Deployment {
  const name = childNames.deployment(cr.metadata.name);
  const scale = effectiveReplicas(cr, overrides);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMetadata(cr, name, {
      annotations: {
        [ANNOTATIONS.revision]: servedRevision,
        [ANNOTATIONS.templateHash]: podTemplateHash(template),
        // While autoscaling the handover manager sets it (reconcile/replicas.ts).
        ...(scale.autoscaling ? {} : { [ANNOTATIONS.replicasOwner]: REPLICAS_OWNER.operator }),
      },
    }),
    spec: {
      // Left out while autoscaling: the HPA owns the count, and applying a value would
      // fight it on every reconcile. The reconciler hands the field over first.
      ...(scale.autoscaling ? {} : { replicas: scale.replicas }),
      selector: { matchLabels: selectorLabels(cr.metadata.name) },
      // Surge, never drop below the desired count: a failing new revision leaves the old
      // pods serving until the progress deadline, and then remediation decides.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      progressDeadlineSeconds: cr.spec.remediation.progressDeadlineSeconds,
      revisionHistoryLimit: cr.spec.revisionHistoryLimit,
      template,
    },
  };
}

function service(cr: SummarizerService): DesiredObject & V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(cr, childNames.service(cr.metadata.name)),
    spec: {
      type: cr.spec.service.type,
      selector: selectorLabels(cr.metadata.name),
      ports: [
        {
          name: HTTP_PORT_NAME,
          port: cr.spec.service.port,
          targetPort: HTTP_PORT_NAME,
          protocol: 'TCP',
        },
      ],
    },
  };
}

/** ExternalName Service `<serviceName>` → spec.lmstudio.externalName, only while set. */
function backendService(cr: SummarizerService): (DesiredObject & V1Service) | undefined {
  const { externalName, serviceName, port } = cr.spec.lmstudio;
  if (!externalName) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(cr, serviceName, { component: COMPONENTS.backend }),
    spec: {
      type: 'ExternalName',
      externalName: externalName.replace(/\.$/, ''),
      ports: [{ name: HTTP_PORT_NAME, port, protocol: 'TCP' }],
    },
  };
}

function hpa(
  cr: SummarizerService,
  overrides: RemediationOverrides,
): (DesiredObject & V2HorizontalPodAutoscaler) | undefined {
  const scale = effectiveReplicas(cr, overrides);
  if (!scale.autoscaling) return undefined;
  const { targetCPUUtilizationPercentage, targetMemoryUtilizationPercentage } = cr.spec.autoscaling;
  const utilization = (name: string, averageUtilization: number): V2MetricSpec => ({
    type: 'Resource',
    resource: { name, target: { type: 'Utilization', averageUtilization } },
  });
  const metrics = [utilization('cpu', targetCPUUtilizationPercentage)];
  if (targetMemoryUtilizationPercentage !== undefined) {
    metrics.push(utilization('memory', targetMemoryUtilizationPercentage));
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMetadata(cr, childNames.hpa(cr.metadata.name)),
    spec: {
      scaleTargetRef: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: childNames.deployment(cr.metadata.name),
      },
      minReplicas: scale.minReplicas,
      maxReplicas: scale.maxReplicas,
      metrics,
    },
  };
}

/**
 * A PDB only when more than one replica can run. maxUnavailable: 1 (not minAvailable: 1)
 * so a drain always makes progress, one pod at a time; AlwaysAllow so crashing pods never
 * block a node drain.
 */
function pdb(
  cr: SummarizerService,
  overrides: RemediationOverrides,
): (DesiredObject & V1PodDisruptionBudget) | undefined {
  const scale = effectiveReplicas(cr, overrides);
  const most = scale.autoscaling ? scale.maxReplicas : scale.replicas;
  if (most <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMetadata(cr, childNames.pdb(cr.metadata.name)),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(cr.metadata.name) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

function ingress(cr: SummarizerService): (DesiredObject & V1Ingress) | undefined {
  const spec = cr.spec.ingress;
  if (!spec.enabled) return undefined;
  const serviceName = childNames.service(cr.metadata.name);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: childMetadata(cr, childNames.ingress(cr.metadata.name), {
      annotations: withoutArgoTracking(spec.annotations),
    }),
    spec: {
      ...(spec.className ? { ingressClassName: spec.className } : {}),
      rules: spec.hosts.map((h) => ({
        host: h.host,
        http: {
          paths: h.paths.map((p) => ({
            path: p.path,
            pathType: p.pathType,
            backend: { service: { name: serviceName, port: { name: HTTP_PORT_NAME } } },
          })),
        },
      })),
      ...(spec.tls && spec.tls.length > 0
        ? {
            tls: spec.tls.map((t) => ({
              secretName: t.secretName,
              ...(t.hosts ? { hosts: t.hosts } : {}),
            })),
          }
        : {}),
    },
  };
}

/** Everything one SummarizerService should own right now. */
export function desiredState(cr: SummarizerService, options: DesiredOptions): DesiredState {
  const overrides = options.overrides ?? {};
  const name = cr.metadata.name;
  const specConfigData = desiredConfigData(cr);
  const specTemplate = specPodTemplate(cr, options.defaultImage, configHash(specConfigData));
  const specRevision = podTemplateHash(specTemplate);

  const sourceTemplate = overrides.podTemplate ?? specTemplate;
  const servedRevision = overrides.podTemplate
    ? podTemplateHash(overrides.podTemplate)
    : specRevision;
  const template = overrides.memoryLimit
    ? withMemoryLimit(sourceTemplate, overrides.memoryLimit)
    : sourceTemplate;

  const objects: (DesiredObject | undefined)[] = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: childMetadata(cr, childNames.serviceAccount(name)),
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: childMetadata(cr, childNames.configMap(name)),
      data: overrides.configData ?? specConfigData,
    },
    backendService(cr),
    service(cr),
    deployment(cr, template, servedRevision, overrides),
    hpa(cr, overrides),
    pdb(cr, overrides),
    ingress(cr),
  ];
  const scale = effectiveReplicas(cr, overrides);
  return {
    objects: objects.filter((o): o is DesiredObject => o !== undefined),
    specPodTemplate: specTemplate,
    specConfigData,
    specRevision,
    servedRevision,
    ...(scale.autoscaling ? { autoscalingMinReplicas: scale.minReplicas } : {}),
  };
}
