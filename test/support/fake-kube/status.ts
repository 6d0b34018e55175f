/** Errors of the fake Kubernetes API, shaped as the apiserver's `Status` objects. */
import type { ResourceType } from './resources.ts';

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class KubeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: number,
    message: string,
    reason = REASONS[code] ?? 'Unknown',
    details?: Record<string, unknown>,
  ) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `jobs.batch` or `pods`: how the apiserver names a resource in messages. */
export function qualified(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}

function details(type: ResourceType, name: string): Record<string, unknown> {
  return { name, ...(type.group ? { group: type.group } : {}), kind: type.plural };
}

export function notFound(type: ResourceType, name: string): KubeError {
  return new KubeError(
    404,
    `${qualified(type)} "${name}" not found`,
    'NotFound',
    details(type, name),
  );
}

export function alreadyExists(type: ResourceType, name: string): KubeError {
  return new KubeError(
    409,
    `${qualified(type)} "${name}" already exists`,
    'AlreadyExists',
    details(type, name),
  );
}

export function conflict(type: ResourceType, name: string): KubeError {
  return new KubeError(
    409,
    `Operation cannot be fulfilled on ${qualified(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    'Conflict',
    details(type, name),
  );
}

/** 422 as the apiserver words it: `Job.batch "x" is invalid: [a: …, b: …]`. */
export function invalid(type: ResourceType, name: string, errors: string[]): KubeError {
  const kind = type.group ? `${type.kind}.${type.group}` : type.kind;
  const list = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
  return new KubeError(422, `${kind} "${name}" is invalid: ${list}`, 'Invalid', {
    name,
    ...(type.group ? { group: type.group } : {}),
    kind: type.kind,
    causes: errors.map((message) => ({
      reason: 'FieldValueInvalid',
      message,
      field: message.split(':', 1)[0],
    })),
  });
}

export function expired(requested: string, oldest: number): KubeError {
  return new KubeError(410, `too old resource version: ${requested} (${oldest})`, 'Expired');
}

export function badRequest(message: string): KubeError {
  return new KubeError(400, message, 'BadRequest');
}
