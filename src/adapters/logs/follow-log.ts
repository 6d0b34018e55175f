/**
 * Following a log within one process: writers announce appends and closes here, followers read
 * from their offset and wait for the next announcement. One server owns a data dir (or a memory
 * store), so a log no writer here holds is finished.
 */
import type { LogChunk } from '../../ports/logs.ts';

/** The most a follower reads at once: what one follower holds in memory. */
export const FOLLOW_CHUNK_BYTES = 64 * 1024;

/** A log some writer holds open: how many writers, and a version bumped on every change. */
class HeldLog {
  writers = 0;
  version = 0;
  private readonly waiters = new Set<() => void>();

  changed(): void {
    this.version++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves on the next change, or when `signal` aborts. */
  nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The logs open for writing in this process, by name. */
export class OpenLogs {
  private readonly held = new Map<string, HeldLog>();

  opened(name: string): void {
    const log = this.held.get(name) ?? new HeldLog();
    this.held.set(name, log);
    log.writers++;
  }

  appended(name: string): void {
    this.held.get(name)?.changed();
  }

  closed(name: string): void {
    const log = this.held.get(name);
    if (!log) return;
    log.writers--;
    if (log.writers === 0) this.held.delete(name);
    log.changed();
  }

  /**
   * Follows log `name` from `offset`: `readAt(at)` gives up to FOLLOW_CHUNK_BYTES from `at` (empty
   * at the end, null when there is no log). Ends once no writer holds the log and it was read to
   * its end, or when `signal` aborts.
   */
  async *follow(
    name: string,
    offset: number,
    signal: AbortSignal,
    readAt: (at: number) => Promise<Buffer | null>,
  ): AsyncGenerator<LogChunk> {
    let at = offset;
    while (!signal.aborted) {
      const held = this.held.get(name);
      const version = held?.version;
      const bytes = await readAt(at);
      if (signal.aborted) return;
      if (bytes && bytes.length > 0) {
        at += bytes.length;
        yield { bytes, end: at };
        continue;
      }
      // Nothing new. An append or close while we read may have come after the read looked.
      if (held && held.version !== version) continue;
      if (!held || held.writers === 0) return;
      await held.nextChange(signal);
    }
  }
}
