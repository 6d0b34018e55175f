import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ForgeConfig } from '../config.ts';
import { errorBody } from './errors.ts';

export type Role = 'admin' | 'operator' | 'viewer';

/** What each role may do: viewers read, operators also submit/cancel/retry, admins everything. */
function allowed(role: Role, method: string): boolean {
  if (role === 'admin' || role === 'operator') return true;
  return method === 'GET' || method === 'HEAD';
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The caller a bearer token names, or why the request is refused (a message for a 401). */
export type BearerCheck = { ok: true; name: string; role: Role } | { ok: false; message: string };

/** Checks an `Authorization` header against `server.tokens` (in constant time per token). */
export function checkBearer(
  tokens: ForgeConfig['server']['tokens'],
  header: string | undefined,
): BearerCheck {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) {
    return {
      ok: false,
      message:
        'missing bearer token: send "Authorization: Bearer <token>" (set FORGE_TOKEN for the CLI)',
    };
  }
  const token = tokens.find((t) => sameSecret(t.token, match[1]!.trim()));
  if (!token)
    return { ok: false, message: 'invalid token: check FORGE_TOKEN against server.tokens' };
  return { ok: true, name: token.name, role: token.role };
}

/** Whether a role may change things (submit, cancel, retry), not only read. */
export function mayWrite(role: Role): boolean {
  return allowed(role, 'POST');
}

/** Why a token of a read-only role is refused a change. */
export function readOnlyMessage(name: string, role: Role): string {
  return `token "${name}" has role ${role}, which may only read; use an operator or admin token`;
}

/** Bearer-token auth when `server.tokens` is configured; `/health` stays open for probes. */
export function bearerAuth(tokens: ForgeConfig['server']['tokens']): MiddlewareHandler {
  return async (c, next) => {
    if (tokens.length === 0 || c.req.path === '/health') return next();
    const caller = checkBearer(tokens, c.req.header('authorization'));
    if (!caller.ok) return c.json(errorBody('unauthorized', caller.message), 401);
    if (!allowed(caller.role, c.req.method)) {
      return c.json(errorBody('forbidden', readOnlyMessage(caller.name, caller.role)), 403);
    }
    return next();
  };
}
