import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildCrd, openApiSchema, renderCrdYaml, withDefaultsDescribed } from './crd.js';
import type { JsonSchema } from './structural.js';
import { parseSummarizerService } from './summarizerservice.js';

const crdsDir = fileURLToPath(new URL('../../crds/', import.meta.url));
const crdPath = `${crdsDir}summarizerservice.yaml`;

type Visit = (node: JsonSchema, path: string) => void;
function walk(node: JsonSchema, path: string, visit: Visit): void {
  visit(node, path);
  const props = node.properties as Record<string, JsonSchema> | undefined;
  for (const [name, child] of Object.entries(props ?? {})) walk(child, `${path}.${name}`, visit);
  if (node.items) walk(node.items as JsonSchema, `${path}[]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    walk(node.additionalProperties as JsonSchema, `${path}[*]`, visit);
  }
}

/** Structural defaulting as the API server does it: absent fields get `default`, then recurse. */
function applyDefaults(value: unknown, schema: JsonSchema): unknown {
  if (Array.isArray(value) && schema.items)
    return value.map((v) => applyDefaults(v, schema.items as JsonSchema));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, child] of Object.entries(
    (schema.properties ?? {}) as Record<string, JsonSchema>,
  )) {
    if (out[name] === undefined && child.default !== undefined)
      out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(out[name], child);
  }
  return out;
}

describe('crds/summarizerservice.yaml', () => {
  it('is exactly what the generator produces (run `npm run gen:crd` after changing operator/api)', () => {
    expect(readFileSync(crdPath, 'utf8')).toBe(renderCrdYaml());
  });

  it('is also the Helm chart’s CRD (charts/llmplan-operator/crds/, written by the same generator)', () => {
    const chartCrd = fileURLToPath(
      new URL('../../charts/llmplan-operator/crds/summarizerservice.yaml', import.meta.url),
    );
    expect(readFileSync(chartCrd, 'utf8')).toBe(renderCrdYaml());
  });

  it('is the only manifest in crds/: `kubectl apply -f crds/` reads every *.yaml, *.yml and *.json there', () => {
    const manifests = readdirSync(crdsDir).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(manifests).toEqual(['summarizerservice.yaml']);
    const kinds = parseAllDocuments(readFileSync(crdPath, 'utf8')).map((d) => d.get('kind'));
    expect(kinds).toEqual(['CustomResourceDefinition']);
    // kustomize reads `Kustomization` (one of its three file names), kubectl -f does not.
    expect(parse(readFileSync(`${crdsDir}Kustomization`, 'utf8'))).toMatchObject({
      kind: 'Kustomization',
      resources: ['summarizerservice.yaml'],
    });
  });

  it('round-trips through YAML to the built object', () => {
    expect(parse(renderCrdYaml())).toEqual(buildCrd());
  });

  it('names the resource as docs/resource.md says, with status and scale subresources', () => {
    const crd = buildCrd() as { spec: Record<string, unknown> };
    expect(crd.spec.group).toBe('llmplan.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: 'SummarizerService',
      plural: 'summarizerservices',
      singular: 'summarizerservice',
      shortNames: ['sumsvc'],
      categories: ['llmplan'],
    });
    const [version] = crd.spec.versions as Record<string, unknown>[];
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
    expect(version?.subresources).toEqual({
      status: {},
      scale: {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
      },
    });
    const columns = (version!.additionalPrinterColumns as { name: string; jsonPath: string }[]).map(
      (c) => c.name,
    );
    expect(columns).toEqual([
      'Ready',
      'Status',
      'Replicas',
      'ReadyReplicas',
      'Revision',
      'Tag',
      'Serving',
      'Load',
      'Saturation',
      'Reason',
      'Endpoint',
      'Age',
    ]);
  });
});

describe('the openAPIV3Schema', () => {
  const schema = openApiSchema();

  it('is structural: typed nodes, no refs, no closed objects, no foreign unions', () => {
    walk(schema, '', (node, path) => {
      expect(node, path).not.toHaveProperty('$ref');
      expect(node, path).not.toHaveProperty('$schema');
      expect(node.additionalProperties, path).not.toBe(false);
      const special =
        node['x-kubernetes-int-or-string'] === true ||
        node['x-kubernetes-preserve-unknown-fields'] === true;
      if (!special) expect(node.type, `${path} has a type`).toBeTypeOf('string');
      if (node.anyOf) expect(node.anyOf, path).toEqual([{ type: 'integer' }, { type: 'string' }]);
      if (node.properties && node.additionalProperties)
        throw new Error(`${path}: properties and additionalProperties`);
    });
  });

  it('describes every field under spec and status, for kubectl explain', () => {
    const missing: string[] = [];
    walk(schema, '', (node, path) => {
      if (/^\.(spec|status)/.test(path) && !path.endsWith('[*]') && !node.description)
        missing.push(path);
    });
    expect(missing).toEqual([]);
  });

  it('bounds every list and string a CEL rule iterates over (cost budget)', () => {
    walk(schema, '', (node, path) => {
      if (node.type === 'array') expect(node.maxItems, `${path} maxItems`).toBeTypeOf('number');
      if (node.type === 'object' && node.additionalProperties) {
        expect(node.maxProperties, `${path} maxProperties`).toBeTypeOf('number');
      }
      const rules = node['x-kubernetes-validations'] as { rule: string }[] | undefined;
      if (rules && node.type === 'string')
        expect(node.maxLength, `${path} maxLength`).toBeTypeOf('number');
    });
  });

  it('uses regular expressions RE2 (the API server) understands', () => {
    walk(schema, '', (node, path) => {
      if (typeof node.pattern !== 'string') return;
      expect(() => new RegExp(node.pattern as string), path).not.toThrow();
      expect(node.pattern, `${path}: no lookaround or backreference`).not.toMatch(
        /\(\?[=!<]|\\[1-9]/,
      );
    });
  });

  it('carries a message on every CEL rule', () => {
    walk(schema, '', (node, path) => {
      for (const rule of (node['x-kubernetes-validations'] ?? []) as Record<string, string>[]) {
        expect(rule.message ?? rule.messageExpression, `${path}: ${rule.rule}`).toBeTruthy();
      }
    });
  });

  it('defaults exactly what parseSummarizerService defaults', () => {
    const inputs = [
      { spec: {} },
      {
        spec: {
          resources: { requests: { cpu: '250m' } },
          ingress: { enabled: true, hosts: [{ host: 'a.b' }] },
        },
      },
      { spec: { autoscaling: { enabled: true }, remediation: { scaleUp: { enabled: false } } } },
    ];
    for (const input of inputs) {
      const obj = {
        apiVersion: 'llmplan.io/v1alpha1',
        kind: 'SummarizerService',
        metadata: { name: 'x' },
        ...input,
      };
      expect(applyDefaults(obj, schema)).toEqual(parseSummarizerService(obj));
    }
  });
});

describe('withDefaultsDescribed', () => {
  it('appends scalar defaults to descriptions, recursively', () => {
    const out = withDefaultsDescribed({
      type: 'object',
      properties: {
        a: { description: 'A.', type: 'integer', default: 3 },
        b: { description: 'B.', type: 'string', default: '' },
        c: { description: 'C.', type: 'object', default: {} },
        d: { type: 'array', items: { description: 'D.', type: 'boolean', default: false } },
      },
    });
    expect(out.properties).toEqual({
      a: { description: 'A. Defaults to 3.', type: 'integer', default: 3 },
      b: { description: 'B. Defaults to "".', type: 'string', default: '' },
      c: { description: 'C.', type: 'object', default: {} },
      d: {
        type: 'array',
        items: { description: 'D. Defaults to false.', type: 'boolean', default: false },
      },
    });
  });
});
