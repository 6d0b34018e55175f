import type { AttemptKey } from './store.ts';

/**
 * One attempt's log while it is written: appends in order, then one close. The runner is the only
 * writer; every output line goes through `append`, so it is cheap and synchronous.
 */
export interface AttemptLog {
  /**
   * Appends `bytes` (any bytes, kept as they are) and returns the log's size after them: the
   * offset a reader resumes from. By the time it returns the bytes are readable through
   * `AttemptLogs.read` and `follow`, from any process serving the API, because the live stream
   * announces that offset right after. After `close` it stores nothing and returns the log's size.
   * Throws when the backend cannot store them (disk full).
   */
  append(bytes: Buffer): number;
  /** Ends the log: followers end once they have every byte. Closing twice does nothing. */
  close(): void;
}

/** What `read` returns: bytes from the offset asked for, and the log's size at that moment. */
export interface LogRange {
  bytes: Buffer;
  size: number;
}

/** A piece of a followed log and the byte offset just after it (a resume cursor). */
export interface LogChunk {
  bytes: Buffer;
  end: number;
}

/**
 * The full output logs of attempts, the source of truth for `GET /jobs/{id}/log` and the live
 * stream. The runner writes; front doors read and follow by byte offset and never open files, so
 * the process serving the API need not be the one running the attempt. Throws
 * ForgeError('unavailable') when the backend cannot be used.
 */
export interface AttemptLogs {
  /** Opens the attempt's log for appending, creating it (an existing log is appended to). */
  open(key: AttemptKey): AttemptLog;
  /** Up to `limit` bytes of the log from byte `offset` (fewer at its end, none past it), and its
   *  size; null when the attempt has no log. */
  read(key: AttemptKey, offset: number, limit: number): Promise<LogRange | null>;
  /**
   * The log from byte `offset` on, as it grows: non-empty chunks in order (of a size the backend
   * chooses), each with the offset after it; between appends it waits, holding no more than one
   * chunk. It ends, without throwing, once the log is closed and every byte was yielded, or
   * promptly when `signal` aborts, waiting or not. A log no writer holds counts as closed: one
   * never opened ends at once, one whose writer died without closing it ends at its current end.
   * (The file backend knows its writers because one server owns a data dir; a backend shared by
   * several servers must close the log of an attempt whose runner died.)
   */
  follow(key: AttemptKey, offset: number, signal: AbortSignal): AsyncIterable<LogChunk>;
}
