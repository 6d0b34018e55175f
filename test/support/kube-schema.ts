/**
 * Checks Kubernetes objects against the published OpenAPI v3 documents in
 * ../shared/reference/kubernetes (core v1, batch/v1, networking.k8s.io/v1), as strictly as
 * `kubectl apply --validate=strict`: unknown fields, missing required fields, wrong types,
 * out-of-range int32/int64, malformed quantities and base64 are all errors. The fake Kubernetes
 * API answers 422 with these errors, so a manifest Forge builds wrongly fails here as it would on
 * a real cluster.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Gvk {
  group: string;
  version: string;
  kind: string;
}
export interface KubeSchema {
  type?: string;
  format?: string;
  properties?: Record<string, KubeSchema>;
  required?: string[];
  items?: KubeSchema;
  additionalProperties?: KubeSchema | boolean;
  allOf?: KubeSchema[];
  oneOf?: KubeSchema[];
  $ref?: string;
  enum?: unknown[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: Gvk[];
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = resolve(ROOT, '..', 'shared', 'reference', 'kubernetes');
const FILES = [
  'api__v1_openapi.json',
  'apis__batch__v1_openapi.json',
  'apis__networking.k8s.io__v1_openapi.json',
];
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
// The apiserver's own pattern for quantities, plus the grammar it then parses.
const QUANTITY_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** What both schema validators (this one and crd-schema.ts) share. */
export const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

interface Schemas {
  byName: Map<string, KubeSchema>;
  byGvk: Map<string, string>;
}
let cached: Schemas | undefined;

function schemas(): Schemas {
  if (cached) return cached;
  const byName = new Map<string, KubeSchema>();
  const byGvk = new Map<string, string>();
  for (const file of FILES) {
    const path = resolve(DIR, file);
    if (!existsSync(path)) {
      throw new Error(
        `the Kubernetes API schema is missing: expected ${path} (see ../shared/reference/README.md); the fake Kubernetes API cannot check objects without it`,
      );
    }
    const doc = JSON.parse(readFileSync(path, 'utf8')) as {
      components: { schemas: Record<string, KubeSchema> };
    };
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      byName.set(name, schema);
      for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
        byGvk.set(gvkKey(gvk.group, gvk.version, gvk.kind), name);
      }
    }
  }
  cached = { byName, byGvk };
  return cached;
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

/** Problems with a whole object, found by its apiVersion and kind; [] when it is valid. */
export function validateKubeObject(obj: unknown): string[] {
  if (!isObject(obj)) return ['object: expected a JSON object'];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return ['apiVersion and kind: Required value: both must be set to strings'];
  }
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  const name = schemas().byGvk.get(gvkKey(group ?? '', version ?? '', kind));
  if (!name) {
    return [
      `no reference schema for ${apiVersion} ${kind} in ${DIR}: add its OpenAPI v3 document there, or check it part by part with validateAgainst`,
    ];
  }
  return validateAgainst(name, obj);
}

/** Problems with `value` as the named component schema (e.g. 'io.k8s.api.core.v1.PodTemplateSpec'). */
export function validateAgainst(schemaName: string, value: unknown): string[] {
  const schema = schemas().byName.get(schemaName);
  if (!schema) {
    throw new Error(`no schema named ${schemaName} in ${DIR}: use a name from components.schemas`);
  }
  const errors: string[] = [];
  check(schema, value, '', errors, schemaName);
  return errors;
}

function check(
  schema: KubeSchema,
  value: unknown,
  path: string,
  errors: string[],
  name?: string,
): void {
  // The apiserver decodes a JSON null as "unset" (and JSON has no undefined); required-ness is
  // checked by the parent.
  if (value === null || value === undefined) return;
  if (schema.$ref) {
    const refName = schema.$ref.replace('#/components/schemas/', '');
    const target = schemas().byName.get(refName);
    if (!target) throw new Error(`dangling $ref ${schema.$ref} in ${DIR}`);
    check(target, value, path, errors, refName);
  }
  for (const part of schema.allOf ?? []) check(part, value, path, errors);
  if (name === QUANTITY) return checkQuantity(value, path, errors);
  if (schema.oneOf) return checkOneOf(schema.oneOf, value, path, errors);
  if (schema['x-kubernetes-int-or-string']) {
    if (!Number.isInteger(value) && typeof value !== 'string') {
      errors.push(`${at(path)}: expected integer or string, got ${describe(value)}`);
    }
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(
      `${at(path)}: Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`,
    );
  }
  switch (schema.type) {
    case 'string':
      return checkString(schema, value, path, errors);
    case 'integer':
      return checkInteger(schema, value, path, errors);
    case 'number':
      if (typeof value !== 'number')
        errors.push(`${at(path)}: expected number, got ${describe(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean')
        errors.push(`${at(path)}: expected boolean, got ${describe(value)}`);
      return;
    case 'array':
      if (!Array.isArray(value))
        return void errors.push(`${at(path)}: expected array, got ${describe(value)}`);
      value.forEach(
        (item, i) => schema.items && check(schema.items, item, `${path}[${i}]`, errors),
      );
      return;
    case 'object':
      return checkObject(schema, value, path, errors);
  }
}

function checkObject(schema: KubeSchema, value: unknown, path: string, errors: string[]): void {
  if (!isObject(value))
    return void errors.push(`${at(path)}: expected object, got ${describe(value)}`);
  const { properties, additionalProperties } = schema;
  for (const key of schema.required ?? []) {
    if (value[key] === undefined || value[key] === null)
      errors.push(`${join(path, key)}: Required value`);
  }
  if (properties) {
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const sub = properties[key];
      if (sub) check(sub, v, join(path, key), errors);
      else if (!schema['x-kubernetes-preserve-unknown-fields'])
        errors.push(`${join(path, key)}: unknown field "${key}"`);
    }
  } else if (typeof additionalProperties === 'object') {
    for (const [key, v] of Object.entries(value))
      check(additionalProperties, v, join(path, key), errors);
  }
  // An object schema with neither properties nor additionalProperties (FieldsV1, RawExtension)
  // is free-form in the reference too.
}

function checkString(schema: KubeSchema, value: unknown, path: string, errors: string[]): void {
  if (typeof value !== 'string')
    return void errors.push(`${at(path)}: expected string, got ${describe(value)}`);
  if (schema.format === 'byte' && !BASE64_RE.test(value)) {
    errors.push(
      `${at(path)}: illegal base64 data: encode the value with base64 (or use stringData)`,
    );
  }
  if (schema.format === 'date-time' && !DATE_TIME_RE.test(value)) {
    errors.push(
      `${at(path)}: expected an RFC 3339 date-time like 2006-01-02T15:04:05Z, got ${JSON.stringify(value)}`,
    );
  }
}

function checkInteger(schema: KubeSchema, value: unknown, path: string, errors: string[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return void errors.push(`${at(path)}: expected integer, got ${describe(value)}`);
  }
  if (schema.format === 'int32' && (value < -(2 ** 31) || value > 2 ** 31 - 1)) {
    errors.push(`${at(path)}: ${value} does not fit in int32`);
  }
  if (schema.format === 'int64' && !Number.isSafeInteger(value)) {
    errors.push(`${at(path)}: ${value} does not fit in int64 exactly`);
  }
}

function checkQuantity(value: unknown, path: string, errors: string[]): void {
  if (typeof value === 'number') return;
  if (typeof value !== 'string')
    return void errors.push(
      `${at(path)}: expected quantity (string or number), got ${describe(value)}`,
    );
  if (!QUANTITY_RE.test(value)) {
    errors.push(
      `${at(path)}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got ${JSON.stringify(value)} (write e.g. "512Mi", "2Gi", "500m")`,
    );
  }
}

function checkOneOf(options: KubeSchema[], value: unknown, path: string, errors: string[]): void {
  for (const option of options) {
    const sub: string[] = [];
    check(option, value, path, sub);
    if (sub.length === 0) return;
  }
  errors.push(
    `${at(path)}: expected ${options.map((o) => o.type).join(' or ')}, got ${describe(value)}`,
  );
}

export function join(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}
export function at(path: string): string {
  return path || '(root)';
}
export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return `integer ${String(value)}`;
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value;
}
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
