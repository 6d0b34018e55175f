/**
 * Checks custom resources against their CustomResourceDefinition's `openAPIV3Schema`, as the
 * apiserver does for a structural schema: unknown fields are errors (pruning would drop them
 * silently; strict field validation, the kubectl default, refuses them) except under
 * `x-kubernetes-preserve-unknown-fields`, and types, required fields, enums, formats, bounds and
 * patterns are checked. `metadata` is checked against the core ObjectMeta schema from
 * kube-schema.ts. `applyCrdDefaults` fills in `default` values as the apiserver does on decode.
 * CEL rules (`x-kubernetes-validations`) are not evaluated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  at,
  DATE_TIME_RE,
  describe,
  isObject,
  join,
  validateAgainst,
  type KubeSchema,
} from './kube-schema.ts';

export interface CrdSchema extends KubeSchema {
  properties?: Record<string, CrdSchema>;
  items?: CrdSchema;
  additionalProperties?: CrdSchema | boolean;
  anyOf?: CrdSchema[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

export interface Crd {
  group: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  version: string;
  schema: CrdSchema;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Reads one version of a CRD file (path relative to the repository root, or absolute). */
export function loadCrd(file: string, version: string): Crd {
  const path = resolve(ROOT, file);
  if (!existsSync(path)) {
    throw new Error(
      `the CustomResourceDefinition is missing: expected ${path} (see ../shared/reference/README.md)`,
    );
  }
  const doc = parse(readFileSync(path, 'utf8')) as {
    spec: {
      group: string;
      scope: string;
      names: { kind: string; plural: string };
      versions: Array<{ name: string; schema: { openAPIV3Schema: CrdSchema } }>;
    };
  };
  const v = doc.spec.versions.find((x) => x.name === version);
  if (!v) {
    throw new Error(
      `${path} has no version ${version}: use one of ${doc.spec.versions.map((x) => x.name).join(', ')}`,
    );
  }
  return {
    group: doc.spec.group,
    kind: doc.spec.names.kind,
    plural: doc.spec.names.plural,
    namespaced: doc.spec.scope === 'Namespaced',
    version,
    schema: v.schema.openAPIV3Schema,
  };
}

/** Problems with a whole custom resource; [] when it is valid. */
export function validateCustomResource(crd: Crd, obj: unknown): string[] {
  if (!isObject(obj)) return ['(root): expected a JSON object'];
  const apiVersion = `${crd.group}/${crd.version}`;
  if (obj.apiVersion !== apiVersion || obj.kind !== crd.kind) {
    return [
      `apiVersion and kind: expected ${apiVersion} ${crd.kind}, got ${String(obj.apiVersion)} ${String(obj.kind)}`,
    ];
  }
  const errors: string[] = [];
  const { metadata, ...rest } = obj;
  if (metadata !== undefined) {
    errors.push(...validateAgainst(OBJECT_META, metadata).map((e) => `metadata.${e}`));
  }
  check(crd.schema, { ...rest, metadata: {} }, '', errors);
  return errors;
}

/** Fills in absent fields that have a schema `default`, in place, as the apiserver's decoder does. */
export function applyCrdDefaults(schema: CrdSchema, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyCrdDefaults(schema.items, item);
    return;
  }
  if (!isObject(value) || !schema.properties) return;
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (value[key] === undefined && sub.default !== undefined)
      value[key] = structuredClone(sub.default);
    if (value[key] !== undefined) applyCrdDefaults(sub, value[key]);
  }
}

function check(schema: CrdSchema, value: unknown, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  if (schema['x-kubernetes-int-or-string']) {
    if (!Number.isInteger(value) && typeof value !== 'string')
      errors.push(`${at(path)}: expected integer or string, got ${describe(value)}`);
    else if (typeof value === 'string') checkStringRules(schema, value, path, errors);
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(
      `${at(path)}: Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`,
    );
  }
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string')
        return void errors.push(`${at(path)}: expected string, got ${describe(value)}`);
      return checkStringRules(schema, value, path, errors);
    case 'integer':
    case 'number':
      return checkNumber(schema, value, path, errors);
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

function checkObject(schema: CrdSchema, value: unknown, path: string, errors: string[]): void {
  if (!isObject(value))
    return void errors.push(`${at(path)}: expected object, got ${describe(value)}`);
  for (const key of schema.required ?? []) {
    if (value[key] === undefined || value[key] === null)
      errors.push(`${join(path, key)}: Required value`);
  }
  const { properties, additionalProperties } = schema;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const sub = properties?.[key] ?? (isObject(additionalProperties) ? additionalProperties : null);
    if (sub) check(sub, v, join(path, key), errors);
    else if (!preserve && additionalProperties !== true)
      errors.push(`${join(path, key)}: unknown field "${key}"`);
  }
}

function checkStringRules(schema: CrdSchema, value: string, path: string, errors: string[]): void {
  if (schema.format === 'date-time' && !DATE_TIME_RE.test(value)) {
    errors.push(
      `${at(path)}: expected an RFC 3339 date-time like 2006-01-02T15:04:05Z, got ${JSON.stringify(value)}`,
    );
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength)
    errors.push(`${at(path)}: Too long: may not be longer than ${schema.maxLength}`);
  if (schema.minLength !== undefined && value.length < schema.minLength)
    errors.push(`${at(path)}: Invalid value: should be at least ${schema.minLength} chars long`);
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
    errors.push(
      `${at(path)}: Invalid value: ${JSON.stringify(value)}: should match '${schema.pattern}'`,
    );
}

function checkNumber(schema: CrdSchema, value: unknown, path: string, errors: string[]): void {
  const integer = schema.type === 'integer';
  if (typeof value !== 'number' || (integer && !Number.isInteger(value)))
    return void errors.push(`${at(path)}: expected ${schema.type}, got ${describe(value)}`);
  if (schema.format === 'int32' && (value < -(2 ** 31) || value > 2 ** 31 - 1))
    errors.push(`${at(path)}: ${value} does not fit in int32`);
  if (schema.format === 'int64' && !Number.isSafeInteger(value))
    errors.push(`${at(path)}: ${value} does not fit in int64 exactly`);
  if (schema.minimum !== undefined && value < schema.minimum)
    errors.push(
      `${at(path)}: Invalid value: ${value}: should be greater than or equal to ${schema.minimum}`,
    );
  if (schema.maximum !== undefined && value > schema.maximum)
    errors.push(
      `${at(path)}: Invalid value: ${value}: should be less than or equal to ${schema.maximum}`,
    );
}
