/**
 * How the summarizer is reached and how it reaches LM Studio: spec.service, spec.ingress
 * and spec.lmstudio (docs/resource.md#network-and-lm-studio). Part of the SummarizerService
 * schema in spec.ts.
 */
import { z } from 'zod';
import { ENV_DEFAULTS, LIMITS } from '../../contract/env.js';
import {
  isDns1035Label,
  isDns1123Subdomain,
  objectName,
  port,
  stringMap,
  withRules,
} from './schema-helpers.js';

const DNS_HOST_RULE = {
  rule: "!format.dns1123Subdomain().validate(self.startsWith('*.') ? self.substring(2) : self).hasValue()",
  message: "host must be a DNS name such as llmplan.company.com (a leading '*.' is allowed)",
};
const isHost = (h: string) => isDns1123Subdomain(h.startsWith('*.') ? h.slice(2) : h);

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
    maxConcurrency: z
      .int()
      .min(LIMITS.lmstudioMaxConcurrency.min)
      .max(LIMITS.lmstudioMaxConcurrency.max)
      .default(ENV_DEFAULTS.lmstudioMaxConcurrency)
      .meta({
        description:
          "LM Studio calls in flight at once per pod (LMSTUDIO_MAX_CONCURRENCY); further requests wait in the pod's queue. LM Studio runs about 4 predictions at once: replicas × maxConcurrency beyond what it runs only queues there.",
      }),
  })
  .meta({ description: 'How the summarizer reaches LM Studio.' });
