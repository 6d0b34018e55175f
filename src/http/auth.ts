import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ForgeConfig } from '../config.ts';
import { errorBody } from './errors.ts';

type Role = 'admin' | 'operator' | 'viewer';

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

/** Bearer-token auth when `server.tokens` is configured; `/health` stays open for probes. */
export function bearerAuth(tokens: ForgeConfig['server']['tokens']): MiddlewareHandler {
  return async (c, next) => {
    if (tokens.length === 0 || c.req.path === '/health') return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      return c.json(
        errorBody(
          'unauthorized',
          'missing bearer token: send "Authorization: Bearer <token>" (set FORGE_TOKEN for the CLI)',
        ),
        401,
      );
    }
    const token = tokens.find((t) => sameSecret(t.token, match[1]!.trim()));
    if (!token)
      return c.json(
        errorBody('unauthorized', 'invalid token: check FORGE_TOKEN against server.tokens'),
        401,
      );
    if (!allowed(token.role, c.req.method)) {
      return c.json(
        errorBody(
          'forbidden',
          `token "${token.name}" has role ${token.role}, which may only read; use an operator or admin token`,
        ),
        403,
      );
    }
    return next();
  };
}
