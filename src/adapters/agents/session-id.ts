/**
 * A session id comes from the agent's own output, which a task (or a repository's content) can
 * steer, and is later joined into a path and passed back on a command line (`--resume`). Only a
 * plain name is kept: letters and digits first, then letters, digits, ".", "_" or "-", at most 128
 * characters, no "..". That covers the UUIDs Claude Code and Codex print and goose's
 * `20260115_3`; anything else is ignored, and the attempt simply cannot be resumed.
 */
const SAFE_SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isSafeSessionId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_SESSION_ID.test(value) && !value.includes('..');
}

/** The value when it is a safe session id, else undefined. */
export function safeSessionId(value: unknown): string | undefined {
  return isSafeSessionId(value) ? value : undefined;
}
