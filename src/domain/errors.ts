/** The one error type of Forge. `code` is machine-readable; the HTTP layer maps each code to a
 *  status in one exhaustive table, so adding a code without a status fails to compile. */
export type ErrorCode =
  | 'invalid_request'
  | 'payload_too_large'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'method_not_allowed'
  | 'unavailable'
  | 'config'
  | 'internal';

export class ForgeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForgeError';
    this.code = code;
  }
}

export function isForgeError(err: unknown): err is ForgeError {
  return err instanceof ForgeError;
}
