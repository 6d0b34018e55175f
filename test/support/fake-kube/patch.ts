/**
 * PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch treated as a merge patch (so a
 * list in it replaces the stored list instead of merging by key — the one simplification), and
 * JSON patch (RFC 6902: add, remove, replace, test).
 */
import { badRequest, KubeError } from './status.ts';

type Json = unknown;

export function applyPatch(target: Json, contentType: string, patch: Json): Json {
  const type = contentType.split(';', 1)[0]?.trim();
  if (
    type === 'application/merge-patch+json' ||
    type === 'application/strategic-merge-patch+json'
  ) {
    return mergePatch(target, patch);
  }
  if (type === 'application/json-patch+json') return jsonPatch(target, patch);
  throw new KubeError(
    415,
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType || 'none'})`,
  );
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

interface Op {
  op: string;
  path: string;
  value?: Json;
}

function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be an array of operations');
  let doc = structuredClone(target);
  for (const op of ops as Op[]) doc = applyOp(doc, op);
  return doc;
}

function applyOp(doc: Json, { op, path, value }: Op): Json {
  const parts = path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  if (last === undefined) return op === 'remove' ? undefined : value;
  let parent: Json = doc;
  for (const part of parts) parent = (parent as Record<string, Json> | undefined)?.[part];
  if (typeof parent !== 'object' || parent === null) {
    throw new KubeError(
      422,
      `the server rejected our request due to an error in our request: doc is missing path: "${path}"`,
      'Invalid',
    );
  }
  const container = parent as Record<string, Json>;
  const list = Array.isArray(parent) ? (parent as Json[]) : undefined;
  const index = last === '-' ? (list?.length ?? 0) : Number(last);
  switch (op) {
    case 'add':
      if (list) list.splice(index, 0, value);
      else container[last] = value;
      return doc;
    case 'replace':
    case 'remove':
      if (!(last in container)) {
        throw new KubeError(
          422,
          `the server rejected our request due to an error in our request: doc is missing key: "${path}"`,
          'Invalid',
        );
      }
      if (op === 'replace') container[last] = value;
      else if (list) list.splice(index, 1);
      else delete container[last];
      return doc;
    case 'test':
      if (JSON.stringify(container[last]) !== JSON.stringify(value)) {
        throw new KubeError(
          422,
          `the server rejected our request due to an error in our request: testing value ${path} failed`,
          'Invalid',
        );
      }
      return doc;
    default:
      throw badRequest(
        `unsupported JSON patch operation "${op}": use add, remove, replace or test`,
      );
  }
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
