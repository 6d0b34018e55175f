/** URL and body plumbing of the fake apiserver: which resource a path names, JSON in and out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceType } from './resources.ts';
import { badRequest, KubeError } from './status.ts';

export interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

export function parseRoute(path: string, types: ResourceType[]): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api') [version, rest] = [parts[1], parts.slice(2)];
  else if (parts[0] === 'apis') [group, version, rest] = [parts[1] ?? '', parts[2], parts.slice(3)];
  else throw notFoundPath(path);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  const [plural, name, sub] = rest;
  const type = types.find((t) => t.group === group && t.version === version && t.plural === plural);
  if (!type || rest.length > 3) throw notFoundPath(path);
  return {
    type,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name ? { name } : {}),
    ...(sub ? { sub } : {}),
  };
}

export function notFoundPath(path: string): KubeError {
  return new KubeError(
    404,
    `the server could not find the requested resource (${path}): the fake cluster serves pods, secrets, configmaps, events and batch/v1 jobs, plus resources passed to startFakeKube`,
    'NotFound',
  );
}

export function isWatch(q: URLSearchParams): boolean {
  const w = q.get('watch');
  return w === 'true' || w === '1';
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest(`the request body is not JSON: ${text.slice(0, 80)}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
