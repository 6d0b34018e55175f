import type { AttemptKey } from './store.ts';

/**
 * One attempt's log while it is written: appends in order, then one close. `append` must have
 * made the bytes readable (through `AttemptLogs.read`, from any process serving the API) by the
 * time it returns, because the live stream announces each line's offset right after and a client
 * may resume from it at once.
 */
export interface AttemptLog {
  append(bytes: Buffer): void;
  close(): void;
}

/** What `read` returns: bytes from the offset asked for, and the log's size at that moment. */
export interface LogRange {
  bytes: Buffer;
  size: number;
}

/**
 * The full output logs of attempts, the source of truth for `GET /jobs/{id}/log` and the live
 * stream. The runner writes; front doors read by byte range, so the process serving the API need
 * not be the one running the attempt. Throws ForgeError('unavailable') when the backend cannot be
 * used.
 */
export interface AttemptLogs {
  /** Opens the attempt's log for appending, creating it (an existing log is appended to). */
  open(key: AttemptKey): AttemptLog;
  /** Up to `limit` bytes of the log from byte `offset` (fewer at its end, none past it), and its
   *  size; null when the attempt has no log. */
  read(key: AttemptKey, offset: number, limit: number): Promise<LogRange | null>;
}
