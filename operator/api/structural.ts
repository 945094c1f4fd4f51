/**
 * Turns the JSON Schema zod emits (target openapi-3.0, io input) into a Kubernetes
 * *structural* schema, the only kind apiextensions.k8s.io/v1 accepts:
 * - every node has a `type`, except int-or-string and preserve-unknown-fields nodes;
 * - no `$ref`, `$schema`, `additionalProperties: false`, and no `anyOf` other than the
 *   exact int-or-string form;
 * - free-form maps and values (`additionalProperties: {}`, `{}`) become
 *   `x-kubernetes-preserve-unknown-fields: true`, so the API server does not prune them.
 * Pure: input is not modified. Anything it cannot express is an error, not a guess.
 */

export type JsonSchema = { [key: string]: unknown };

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);
const DROPPED_KEYS = new Set(['$schema', '$id', 'id', 'title']);
const SCHEMA_MAP_KEYS = ['properties'] as const;

/** Keys printed first, so the YAML reads description → type → constraints → children. */
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'x-kubernetes-int-or-string',
  'anyOf',
  'default',
  'enum',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'items',
];

export class NonStructuralSchemaError extends Error {
  constructor(path: string, reason: string) {
    super(`${path || '<root>'}: ${reason}`);
    this.name = 'NonStructuralSchemaError';
  }
}

function isObject(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function orderKeys(node: JsonSchema): JsonSchema {
  const rank = (k: string) => {
    const i = KEY_ORDER.indexOf(k);
    return i === -1 ? KEY_ORDER.length : i;
  };
  const keys = Object.keys(node).sort(
    (a, b) => rank(a) - rank(b) || (rank(a) === KEY_ORDER.length ? a.localeCompare(b) : 0),
  );
  return Object.fromEntries(keys.map((k) => [k, node[k]]));
}

/** `anyOf: [{type: integer, ...}, {type: string, ...}]` → the one form Kubernetes allows. */
function normalizeIntOrString(node: JsonSchema, path: string): JsonSchema {
  const out: JsonSchema = { ...node };
  const branches = Array.isArray(node.anyOf) ? node.anyOf.filter(isObject) : [];
  // Constraints of a branch are hoisted: the API server applies string checks only to
  // strings and numeric checks only to numbers, so they keep their meaning.
  for (const branch of branches) {
    for (const [key, value] of Object.entries(branch)) {
      if (key === 'type') continue;
      if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(value as number))
        continue;
      if (key in out && out[key] !== value) {
        throw new NonStructuralSchemaError(path, `int-or-string branches disagree on ${key}`);
      }
      out[key] = value;
    }
  }
  delete out.type;
  out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  out['x-kubernetes-int-or-string'] = true;
  return out;
}

function structuralNode(input: JsonSchema, path: string): JsonSchema {
  if ('$ref' in input)
    throw new NonStructuralSchemaError(path, '$ref is not allowed; inline the schema');
  let node: JsonSchema = { ...input };
  for (const key of DROPPED_KEYS) delete node[key];

  if (node['x-kubernetes-int-or-string'] === true) node = normalizeIntOrString(node, path);
  else if ('anyOf' in node || 'oneOf' in node || 'allOf' in node) {
    throw new NonStructuralSchemaError(path, 'unions other than int-or-string are not structural');
  }

  if (node.type === 'integer' || node.type === 'number') {
    for (const bound of ['minimum', 'maximum'] as const) {
      if (SAFE_INTEGER_BOUNDS.has(node[bound] as number)) delete node[bound];
    }
  }
  // zod spells the date-time check as a long regex; Kubernetes has the format.
  if (node.format === 'date-time') delete node.pattern;
  if ('const' in node) {
    node.enum = [node.const];
    delete node.const;
  }

  const additional = node.additionalProperties;
  if (additional === false) delete node.additionalProperties;
  else if (additional === true || (isObject(additional) && Object.keys(additional).length === 0)) {
    delete node.additionalProperties;
    node['x-kubernetes-preserve-unknown-fields'] = true;
  }
  // An object without declared fields that zod emitted as `properties: {}` is free-form.
  if (isObject(node.properties) && Object.keys(node.properties).length === 0)
    delete node.properties;

  const untyped = !('type' in node);
  if (untyped && node['x-kubernetes-int-or-string'] !== true) {
    if (Object.keys(node).some((k) => k !== 'description' && k !== 'default')) {
      throw new NonStructuralSchemaError(path, 'a node needs a type');
    }
    node['x-kubernetes-preserve-unknown-fields'] = true;
  }

  for (const mapKey of SCHEMA_MAP_KEYS) {
    const map = node[mapKey];
    if (isObject(map)) {
      node[mapKey] = Object.fromEntries(
        Object.entries(map).map(([name, child]) => {
          if (!isObject(child))
            throw new NonStructuralSchemaError(`${path}.${name}`, 'not a schema');
          return [name, structuralNode(child, `${path}.${name}`)];
        }),
      );
    }
  }
  if (isObject(node.additionalProperties)) {
    node.additionalProperties = structuralNode(node.additionalProperties, `${path}[*]`);
  }
  if (isObject(node.items)) node.items = structuralNode(node.items, `${path}[]`);
  else if ('items' in node)
    throw new NonStructuralSchemaError(path, 'items must be a single schema');
  return orderKeys(node);
}

/** The structural form of a JSON Schema emitted by `z.toJSONSchema`. */
export function toStructuralSchema(schema: JsonSchema): JsonSchema {
  return structuralNode(schema, '');
}
