/**
 * labelSelector and fieldSelector as the apiserver parses them: `a=b`, `a==b`, `a!=b`, `a`, `!a`,
 * `a in (x,y)`, `a notin (x,y)` for labels; `path=value` / `path!=value` on dotted object paths
 * (metadata.name, metadata.namespace, status.phase, spec.nodeName) for fields.
 */
import { badRequest } from './status.ts';
import type { KubeObject } from './resources.ts';

export type Matcher = (obj: KubeObject) => boolean;

/** Splits on commas outside parentheses. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const SET = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/;
const EQUALITY = /^([^!=\s]+)\s*(==|=|!=)\s*([^=\s]*)$/;
const EXISTS = /^(!?)([A-Za-z0-9][-A-Za-z0-9_./]*)$/;

function labelRequirement(req: string): (labels: Record<string, string>) => boolean {
  let m = SET.exec(req);
  if (m) {
    const [, key = '', op, list = ''] = m;
    const values = list.split(',').map((v) => v.trim());
    return op === 'in'
      ? (l) => l[key] !== undefined && values.includes(l[key])
      : (l) => l[key] === undefined || !values.includes(l[key]);
  }
  m = EQUALITY.exec(req);
  if (m) {
    const [, key = '', op, value] = m;
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  m = EXISTS.exec(req);
  if (m) {
    const [, not, key = ''] = m;
    return not ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
  }
  throw badRequest(
    `unable to parse requirement: found '${req}', expected: key=value, key!=value, key in (a,b), key notin (a,b), key or !key`,
  );
}

export function labelMatcher(selector: string | null): Matcher {
  const reqs = requirements(selector ?? '').map(labelRequirement);
  return (obj) => reqs.every((r) => r(obj.metadata.labels ?? {}));
}

export function fieldMatcher(selector: string | null): Matcher {
  const reqs = requirements(selector ?? '').map((req) => {
    const m = EQUALITY.exec(req);
    if (!m) throw badRequest(`invalid field selector: '${req}': use path=value or path!=value`);
    const [, path = '', op, value] = m;
    const get = (obj: KubeObject): string => {
      let v: unknown = obj;
      for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : '';
    };
    return op === '!=' ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
  });
  return (obj) => reqs.every((r) => r(obj));
}
