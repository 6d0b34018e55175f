/**
 * Reading fields of Kubernetes objects as the API or a watch delivered them: untrusted shapes
 * (a watch hands over raw JSON, a list hands over deserialised objects with Dates), so every
 * read checks its type and absence is `undefined`, never a throw.
 */

/** The value at `path` under `value`, or undefined when any step is missing or not an object. */
export function field(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function text(value: unknown, ...path: string[]): string | undefined {
  const found = field(value, ...path);
  return typeof found === 'string' ? found : undefined;
}

export function count(value: unknown, ...path: string[]): number | undefined {
  const found = field(value, ...path);
  return typeof found === 'number' && Number.isFinite(found) ? found : undefined;
}

export function list(value: unknown, ...path: string[]): unknown[] {
  const found = field(value, ...path);
  return Array.isArray(found) ? found : [];
}

/** A time field (an ISO string from a watch, a Date from a list) in ms, or undefined. */
export function time(value: unknown, ...path: string[]): number | undefined {
  const found = field(value, ...path);
  const ms =
    found instanceof Date ? found.getTime() : typeof found === 'string' ? Date.parse(found) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The condition of `type` in `status.conditions`, when its status is "True" or `status`. */
export function condition(obj: unknown, type: string, status = 'True'): unknown {
  return list(obj, 'status', 'conditions').find(
    (c) => text(c, 'type') === type && text(c, 'status') === status,
  );
}

export function nameOf(obj: unknown): string {
  return text(obj, 'metadata', 'name') ?? '(unnamed)';
}

/** "Reason: message", or whichever of them is there; '' when neither. */
export function reasonAndMessage(obj: unknown): string {
  const reason = text(obj, 'reason')?.trim();
  const message = text(obj, 'message')?.trim();
  if (reason && message) return `${reason}: ${message}`;
  return reason ?? message ?? '';
}
