/**
 * The SummarizerService CustomResourceDefinition, built from the zod schemas (pure).
 * gen-crd.ts writes `renderCrdYaml()` to crds/summarizerservice.yaml; a unit test checks
 * the committed file is byte-for-byte what this returns, so the two cannot drift.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { ConditionType } from './conditions.js';
import { SpecSchema } from './spec.js';
import { StatusSchema } from './status.js';
import { type JsonSchema, toStructuralSchema } from './structural.js';
import {
  CATEGORIES,
  GROUP,
  KIND,
  PLURAL,
  ROOT_RULES,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from './summarizerservice.js';

export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** The structural schema of a zod schema, as the API server will see it. */
export function structuralSchemaOf(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    target: 'openapi-3.0',
    unrepresentable: 'throw',
  });
  return withDefaultsDescribed(toStructuralSchema(json as JsonSchema));
}

/**
 * `kubectl explain` prints descriptions but not defaults: append "Defaults to X." to the
 * description of every field with a scalar default.
 */
export function withDefaultsDescribed(node: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...node };
  const value = node.default;
  if (
    typeof node.description === 'string' &&
    ['string', 'number', 'boolean'].includes(typeof value)
  ) {
    const shown = value === '' ? '""' : String(value);
    out.description = `${node.description} Defaults to ${shown}.`;
  }
  if (node.properties && typeof node.properties === 'object') {
    out.properties = Object.fromEntries(
      Object.entries(node.properties as Record<string, JsonSchema>).map(([k, v]) => [
        k,
        withDefaultsDescribed(v),
      ]),
    );
  }
  if (node.items && typeof node.items === 'object') {
    out.items = withDefaultsDescribed(node.items as JsonSchema);
  }
  return out;
}

export function openApiSchema(): JsonSchema {
  return {
    description:
      'A text-summarization service run by the llmplan operator: one per environment. ' +
      'The operator creates its Deployment, Service, ConfigMap, ServiceAccount and, as configured, ' +
      'HPA, Ingress, PodDisruptionBudget and LM Studio ExternalName Service, and remediates failed rollouts.',
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description: 'APIVersion of this object: llmplan.io/v1alpha1.',
        type: 'string',
      },
      kind: { description: 'Kind of this object: SummarizerService.', type: 'string' },
      // Only name and generateName may be restricted here. Declaring both lets the CEL cost
      // estimator use the bound (the name becomes a Service name: at most 63 characters).
      metadata: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 63 },
          generateName: { type: 'string', maxLength: 58 },
        },
      },
      spec: structuralSchemaOf(SpecSchema),
      status: structuralSchemaOf(StatusSchema),
    },
    'x-kubernetes-validations': ROOT_RULES.map((rule) => ({ ...rule })),
  };
}

const readyStatus = `.status.conditions[?(@.type=="${ConditionType.Ready}")]`;

export function buildCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'llmplan', 'app.kubernetes.io/part-of': 'llmplan' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: [...CATEGORIES],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: openApiSchema() },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: `${readyStatus}.status` },
            // RolledBack, MemoryBumped, ScaledUp… : what the spec alone does not say.
            { name: 'Status', type: 'string', jsonPath: '.status.state' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
            { name: 'ReadyReplicas', type: 'integer', jsonPath: '.status.readyReplicas' },
            { name: 'Revision', type: 'string', jsonPath: '.status.currentRevision' },
            { name: 'Tag', type: 'string', jsonPath: '.spec.image.tag' },
            // Next to the spec's tag: after a rollback they differ.
            { name: 'Serving', type: 'string', jsonPath: '.status.servedImageTag' },
            // From the pods' own /metrics: Calm, Busy, Saturated, BackendSaturated, Unknown.
            { name: 'Load', type: 'string', jsonPath: '.status.load.state' },
            {
              name: 'Saturation',
              type: 'integer',
              jsonPath: '.status.load.saturationPercent',
              priority: 1,
            },
            { name: 'Reason', type: 'string', jsonPath: `${readyStatus}.reason`, priority: 1 },
            { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

const HEADER =
  '# Generated by `npm run gen:crd` from operator/api/*.ts (zod schemas). Do not edit by hand.\n';

export function renderCrdYaml(): string {
  return HEADER + stringify(buildCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}
