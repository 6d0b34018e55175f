import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ForgeError, type ErrorCode } from '../domain/errors.ts';

/** Every error code has exactly one status; a new code without one fails to compile. */
export const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  config: 500,
  internal: 500,
  unavailable: 503,
};

export function errorBody(code: ErrorCode, message: string): { error: string; code: ErrorCode } {
  return { error: message, code };
}

/** Maps any thrown value to the JSON error shape; unexpected errors are logged, not leaked. */
export function errorResponse(c: Context, err: unknown, log?: (err: unknown) => void): Response {
  if (err instanceof ForgeError)
    return c.json(errorBody(err.code, err.message), STATUS_BY_CODE[err.code]);
  log?.(err);
  return c.json(errorBody('internal', 'internal error; see the server log for details'), 500);
}
