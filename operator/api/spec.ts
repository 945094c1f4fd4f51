/**
 * SummarizerService `spec` (SPEC §2.1): the Helm values users already know, as zod schemas.
 * This file is the single source of truth: the CRD (crds/summarizerservice.yaml, generated
 * by gen-crd.ts) and the TypeScript types both come from it. Descriptions are what
 * `kubectl explain sumsvc.spec...` prints; defaults are applied by the API server.
 */
import { z } from 'zod';
import { ENV_DEFAULTS, LANGUAGES, LIMITS, SUMMARY_TYPES } from '../../service/env.js';
import { RESERVED_POD_LABELS } from './labels.js';
import {
  isDns1035Label,
  isDns1123Subdomain,
  objectName,
  quantity,
  requestWithinLimit,
  withRules,
} from './schema-helpers.js';
import { HISTORY_MAX_ITEMS } from './status.js';

const port = (description: string, fallback: number) =>
  z.int().min(1).max(65535).default(fallback).meta({ description });

// Label values: at most 63 characters, alphanumeric at both ends (RFC 1123-ish, as upstream).
const labelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
const stringMap = (description: string, value: z.ZodString = z.string().max(4096)) =>
  z
    .record(z.string(), value)
    .optional()
    .meta({ description, maxProperties: 64 } as Record<string, unknown>);

const DNS_HOST_RULE = {
  rule: "!format.dns1123Subdomain().validate(self.startsWith('*.') ? self.substring(2) : self).hasValue()",
  message: "host must be a DNS name such as llmplan.company.com (a leading '*.' is allowed)",
};
const isHost = (h: string) => isDns1123Subdomain(h.startsWith('*.') ? h.slice(2) : h);

export const ImageSchema = z
  .object({
    repository: z
      .string()
      .min(1)
      .max(512)
      // Path components; only those before the last '/' may hold ':' (a registry port), so a
      // tag written into the repository is refused instead of producing `repo:v1:v2`.
      .regex(/^([a-zA-Z0-9]+([._:-]+[a-zA-Z0-9]+)*\/)*[a-z0-9]+([._-]+[a-z0-9]+)*$/)
      .optional()
      .meta({
        description:
          "Image repository without the tag, e.g. ghcr.io/acme/llmplan-summarizer. Defaults to the operator's default image.",
      }),
    tag: z
      .string()
      .max(128)
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/)
      .optional()
      .meta({
        description: "Image tag, e.g. v0.1.0. Defaults to the operator's default image tag.",
      }),
    pullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .default('IfNotPresent')
      .meta({ description: 'When the kubelet pulls the image: Always, IfNotPresent or Never.' }),
  })
  .meta({ description: 'The summarizer container image.' });

const resourceList = (kind: 'requests' | 'limits', cpu: string, memory: string) =>
  z
    .object({
      cpu: quantity(
        `${kind}.cpu`,
        `CPU ${kind}: cores or millicores, e.g. ${cpu} or 2 (write fractions as strings: '0.5').`,
      ).default(cpu),
      memory: quantity(`${kind}.memory`, `Memory ${kind}, e.g. ${memory}.`).default(memory),
    })
    .prefault({})
    .meta({
      description:
        kind === 'requests'
          ? 'Resources the scheduler reserves per pod. The HPA CPU target is a percentage of requests.cpu.'
          : 'Resources a pod may use at most; a container over limits.memory is OOMKilled.',
    });

export const ResourcesSchema = withRules(
  z.object({
    requests: resourceList('requests', '500m', '512Mi'),
    limits: resourceList('limits', '1000m', '1Gi'),
  }),
  'CPU and memory of the summarizer container. Each value defaults separately, as Helm values merge.',
  [requestWithinLimit('cpu'), requestWithinLimit('memory')],
);

const replicaCount = (description: string, fallback: number, min: number) =>
  z.int().min(min).max(1000).default(fallback).meta({ description });

export const AutoscalingSchema = withRules(
  z.object({
    enabled: z.boolean().default(false).meta({
      description:
        'Create a HorizontalPodAutoscaler (autoscaling/v2) for the Deployment; spec.replicas is then ignored.',
    }),
    minReplicas: replicaCount('Fewest replicas the HPA keeps.', 1, 1),
    maxReplicas: replicaCount(
      'Most replicas the HPA may run; emergency scale-up never goes beyond it.',
      100,
      1,
    ),
    targetCPUUtilizationPercentage: z.int().min(1).max(1000).default(80).meta({
      description: 'Average CPU utilization (percent of requests.cpu) the HPA aims for.',
    }),
    targetMemoryUtilizationPercentage: z.int().min(1).max(1000).optional().meta({
      description:
        'Average memory utilization (percent of requests.memory) the HPA aims for; unset means no memory target.',
    }),
  }),
  'Horizontal pod autoscaling.',
  [
    {
      cel: {
        // has(): the API server also checks the rule against `default: {}` before nested
        // defaults apply.
        rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
        message: 'minReplicas must be less than or equal to maxReplicas',
        fieldPath: '.minReplicas',
      },
      check: (a) => a.minReplicas <= a.maxReplicas,
      path: ['minReplicas'],
    },
  ],
);

export const ServiceSchema = z
  .object({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP').meta({
      description: 'Type of the Service <name>: ClusterIP, NodePort or LoadBalancer.',
    }),
    port: port(
      'Port of the Service <name>; it forwards to the container port 8000 (http).',
      ENV_DEFAULTS.port,
    ),
  })
  .meta({ description: 'The Service in front of the pods.' });

const IngressPathSchema = z
  .object({
    path: z.string().min(1).max(1024).regex(/^\//).default('/').meta({
      description: "URL path, starting with '/'.",
    }),
    pathType: z.enum(['Prefix', 'Exact', 'ImplementationSpecific']).default('Prefix').meta({
      description: 'How the path matches: Prefix, Exact or ImplementationSpecific.',
    }),
  })
  .meta({ description: 'One path routed to the Service.' });

const IngressHostSchema = z
  .object({
    host: withRules(z.string().min(1).max(253), 'Host name the Ingress answers for.', [
      { cel: DNS_HOST_RULE, check: isHost },
    ]),
    paths: z
      .array(IngressPathSchema)
      .min(1)
      .max(16)
      .default([{ path: '/', pathType: 'Prefix' }])
      .meta({ description: 'Paths of this host routed to the Service.' }),
  })
  .meta({ description: 'One host of the Ingress.' });

const IngressTlsSchema = z
  .object({
    secretName: objectName(
      'secretName',
      'Secret holding the TLS certificate and key for these hosts.',
    ),
    hosts: z
      .array(
        withRules(z.string().min(1).max(253), 'A host covered by the certificate.', [
          { cel: DNS_HOST_RULE, check: isHost },
        ]),
      )
      .max(16)
      .optional()
      .meta({ description: 'Hosts covered by the certificate.' }),
  })
  .meta({ description: 'TLS for some hosts of the Ingress.' });

export const IngressSchema = withRules(
  z.object({
    enabled: z
      .boolean()
      .default(false)
      .meta({ description: 'Create an Ingress <name> (networking.k8s.io/v1).' }),
    className: z.string().max(253).default('').meta({
      description: "IngressClass to use; empty means the cluster's default class.",
    }),
    annotations: stringMap(
      'Annotations of the Ingress, e.g. for cert-manager or the ingress controller.',
    ),
    hosts: z
      .array(IngressHostSchema)
      .max(16)
      .default([{ host: 'llmplan.local', paths: [{ path: '/', pathType: 'Prefix' }] }])
      .meta({ description: 'Hosts and paths routed to the Service.' }),
    tls: z.array(IngressTlsSchema).max(16).optional().meta({ description: 'TLS certificates.' }),
  }),
  'Ingress to the Service, created only while enabled.',
  [
    {
      cel: {
        rule: '!has(self.enabled) || !self.enabled || !has(self.hosts) || size(self.hosts) > 0',
        message: 'hosts must list at least one host while ingress is enabled',
        fieldPath: '.hosts',
      },
      check: (i) => !i.enabled || i.hosts.length > 0,
      path: ['hosts'],
    },
  ],
);

export const SecretKeyRefSchema = z
  .object({
    name: objectName('name', 'Name of a Secret in the same namespace.'),
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/)
      .default('api-key')
      .meta({ description: 'Key in the Secret whose value is the LM Studio API key.' }),
  })
  .meta({ description: 'A key of a Secret.' });

export const LmStudioSchema = z
  .object({
    externalName: withRules(
      z.string().max(253).default(''),
      'DNS name of an LM Studio server outside the cluster, e.g. lmstudio.internal.company.com. ' +
        'When set, the operator creates an ExternalName Service <serviceName> pointing at it.',
      [
        {
          cel: {
            rule: "self == '' || !format.dns1123Subdomain().validate(self.endsWith('.') ? self.substring(0, size(self) - 1) : self).hasValue()",
            message: 'externalName must be a DNS name such as lmstudio.internal.company.com',
          },
          check: (v) => v === '' || isDns1123Subdomain(v.endsWith('.') ? v.slice(0, -1) : v),
        },
      ],
    ),
    serviceName: withRules(
      z.string().min(1).max(63).default('lmstudio'),
      'Service the summarizer calls LM Studio through (LMSTUDIO_BASE_URL = http://<serviceName>:<port>/v1).',
      [
        {
          cel: {
            rule: '!format.dns1035Label().validate(self).hasValue()',
            message:
              'serviceName must be a DNS-1035 label (lowercase letters, digits and -, starting with a letter)',
          },
          check: isDns1035Label,
        },
      ],
    ),
    port: port('Port of LM Studio.', 1234),
    apiKeySecretRef: SecretKeyRefSchema.optional().meta({
      description:
        'Secret key holding the LM Studio API key (LMSTUDIO_API_KEY); unset means no key.',
    }),
    timeoutSeconds: z
      .int()
      .min(LIMITS.lmstudioTimeoutSeconds.min)
      .max(LIMITS.lmstudioTimeoutSeconds.max)
      .default(ENV_DEFAULTS.lmstudioTimeoutSeconds)
      .meta({ description: 'Timeout of one LM Studio call, in seconds (LMSTUDIO_TIMEOUT).' }),
    maxRetries: z
      .int()
      .min(LIMITS.lmstudioMaxRetries.min)
      .max(LIMITS.lmstudioMaxRetries.max)
      .default(ENV_DEFAULTS.lmstudioMaxRetries)
      .meta({ description: 'Retries of a failed LM Studio call (LMSTUDIO_MAX_RETRIES).' }),
  })
  .meta({ description: 'How the summarizer reaches LM Studio.' });

export const SummarySchema = z
  .object({
    defaultModel: z.string().min(1).max(256).default(ENV_DEFAULTS.defaultModelName).meta({
      description: 'Model used when a request names none (DEFAULT_MODEL_NAME).',
    }),
    defaultMaxTokens: z
      .int()
      .min(LIMITS.maxTokens.min)
      .max(LIMITS.maxTokens.max)
      .default(ENV_DEFAULTS.defaultMaxTokens)
      .meta({ description: 'max_tokens when a request gives none (DEFAULT_MAX_TOKENS).' }),
    defaultTemperature: z
      .number()
      .min(LIMITS.temperature.min)
      .max(LIMITS.temperature.max)
      .default(ENV_DEFAULTS.defaultTemperature)
      .meta({ description: 'temperature when a request gives none (DEFAULT_TEMPERATURE).' }),
    defaultSummaryType: z.enum(SUMMARY_TYPES).default(ENV_DEFAULTS.defaultSummaryType).meta({
      description: 'summary_type when a request gives none: concise, detailed or bullet_points.',
    }),
    defaultLanguage: z.enum(LANGUAGES).default(ENV_DEFAULTS.defaultLanguage).meta({
      description: 'language when a request gives none: korean, english or japanese.',
    }),
  })
  .meta({ description: 'Defaults of summary requests.' });

export const EnvVarSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^=]+$/)
      .meta({ description: 'Name of the variable.' }),
    value: z.string().max(32768).optional().meta({ description: 'Value of the variable.' }),
    valueFrom: z.record(z.string(), z.unknown()).optional().meta({
      description: 'A corev1 EnvVarSource (secretKeyRef, configMapKeyRef, fieldRef, ...).',
    }),
  })
  .meta({ description: 'A corev1 EnvVar.' });

export const TolerationSchema = z
  .object({
    key: z
      .string()
      .max(316)
      .optional()
      .meta({ description: 'Taint key; empty with operator Exists matches all.' }),
    operator: z
      .string()
      .max(32)
      .optional()
      .meta({ description: 'Exists or Equal (default Equal).' }),
    value: z.string().max(63).optional().meta({ description: 'Taint value to match.' }),
    effect: z.string().max(32).optional().meta({
      description:
        'Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.',
    }),
    tolerationSeconds: z
      .int()
      .optional()
      .meta({ description: 'How long a NoExecute taint is tolerated.' }),
  })
  .meta({ description: 'A corev1 Toleration.' });

const feature = (description: string) => z.boolean().default(true).meta({ description });

export const RemediationSchema = z
  .object({
    enabled: feature(
      'Let the operator remediate failures by itself; false switches every action off.',
    ),
    progressDeadlineSeconds: z.int().min(5).max(86400).default(600).meta({
      description:
        'Seconds a rollout may take to make progress before it is judged failed (Deployment progressDeadlineSeconds).',
    }),
    rollback: z
      .object({ enabled: feature('Roll a failed rollout back to the last healthy revision.') })
      .prefault({})
      .meta({ description: 'Automatic rollback, without editing the spec.' }),
    scaleUp: z
      .object({
        enabled: feature('Raise replicas when pods run but do not keep up.'),
        replicas: z.int().min(1).max(1000).default(5).meta({
          description:
            'Replicas (or HPA minimum) during an emergency scale-up; never above autoscaling.maxReplicas.',
        }),
      })
      .prefault({})
      .meta({ description: 'Emergency scale-up, reverted after cooldownSeconds of health.' }),
    oomMemoryBump: z
      .object({
        enabled: feature('Raise the memory limit after OOMKilled.'),
        factor: z.number().gt(1).max(4).default(1.5).meta({
          description: 'Multiplier applied to the memory limit at each bump; greater than 1.',
        }),
        maxMemory: quantity(
          'maxMemory',
          'The memory limit is never raised above this, e.g. 4Gi.',
        ).default('4Gi'),
      })
      .prefault({})
      .meta({ description: 'Memory limit bump after OOMKilled, up to maxMemory.' }),
    cooldownSeconds: z.int().min(0).max(86400).default(300).meta({
      description: 'Minimum seconds between two remediation actions on this resource.',
    }),
    maxActionsPerHour: z.int().min(1).max(HISTORY_MAX_ITEMS).default(6).meta({
      description: 'At most this many remediation actions in any hour.',
    }),
  })
  .meta({ description: 'What the operator may do by itself when a rollout fails (SPEC §2.4).' });

const reservedLabelsRule = RESERVED_POD_LABELS.map((l) => `!('${l}' in self)`).join(' && ');

export const SpecSchema = z
  .object({
    image: ImageSchema.prefault({}),
    replicas: z.int().min(0).max(1000).default(1).meta({
      description: 'Pods to run; ignored while autoscaling.enabled (the HPA owns the count).',
    }),
    resources: ResourcesSchema.prefault({}),
    autoscaling: AutoscalingSchema.prefault({}),
    service: ServiceSchema.prefault({}),
    ingress: IngressSchema.prefault({}),
    lmstudio: LmStudioSchema.prefault({}),
    summary: SummarySchema.prefault({}),
    debug: z
      .boolean()
      .default(ENV_DEFAULTS.debug)
      .meta({ description: 'Debug logging in the summarizer (DEBUG).' }),
    env: withRules(
      z.array(EnvVarSchema).max(64).optional(),
      'Extra environment variables of the summarizer container, after the operator-managed ones (these win).',
      [
        {
          cel: {
            rule: "self.all(e, e.name != 'PORT')",
            message:
              'env must not set PORT: the container port is fixed at 8000, use service.port instead',
          },
          check: (env) => (env ?? []).every((e) => e.name !== 'PORT'),
        },
      ],
    ),
    podAnnotations: stringMap('Annotations added to the pods.'),
    podLabels: withRules(
      stringMap('Labels added to the pods.', labelValue),
      'Labels added to the pods.',
      [
        {
          cel: {
            rule: reservedLabelsRule,
            message: `podLabels must not set ${RESERVED_POD_LABELS.join(', ')}: the operator owns them`,
          },
          check: (labels) => !RESERVED_POD_LABELS.some((l) => labels !== undefined && l in labels),
        },
      ],
    ),
    nodeSelector: stringMap('Node labels the pods must be scheduled on.', labelValue),
    tolerations: z
      .array(TolerationSchema)
      .max(32)
      .optional()
      .meta({ description: 'Tolerations of the pods.' }),
    affinity: z.record(z.string(), z.unknown()).optional().meta({
      description: 'A corev1 Affinity for the pods; validated when the Deployment is applied.',
    }),
    remediation: RemediationSchema.prefault({}),
    revisionHistoryLimit: z.int().min(1).max(100).default(10).meta({
      description:
        'Revisions kept by the operator (ControllerRevisions) and by the Deployment (ReplicaSets).',
    }),
    paused: z.boolean().default(false).meta({
      description:
        'While true the operator changes nothing and takes no remediation action; status is still reported.',
    }),
  })
  .meta({ description: 'Desired state of the summarization service.' });

export type SummarizerServiceSpec = z.output<typeof SpecSchema>;
export type SummarizerServiceSpecInput = z.input<typeof SpecSchema>;
export type EnvVar = z.output<typeof EnvVarSchema>;
export type Toleration = z.output<typeof TolerationSchema>;
