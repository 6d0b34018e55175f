/** Attempt logs in memory, for tests: the same contract as the file logs. */
import type { AttemptLogs } from '../../ports/logs.ts';
import type { AttemptKey } from '../../ports/store.ts';
import { FOLLOW_CHUNK_BYTES, OpenLogs } from './follow-log.ts';

/** One log's bytes in a buffer that doubles as it fills, so appends and reads stay cheap. */
class GrowingBuffer {
  private buf = Buffer.alloc(1024);
  size = 0;

  append(bytes: Buffer): void {
    if (this.size + bytes.length > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.size + bytes.length));
      this.buf.copy(bigger, 0, 0, this.size);
      this.buf = bigger;
    }
    bytes.copy(this.buf, this.size);
    this.size += bytes.length;
  }

  /** A copy of bytes [from, from + limit), cut at the end. */
  slice(from: number, limit: number): Buffer {
    const start = Math.min(from, this.size);
    return Buffer.from(this.buf.subarray(start, Math.min(this.size, start + limit)));
  }
}

export function createMemoryLogs(): AttemptLogs {
  const logs = new Map<string, GrowingBuffer>();
  const writers = new OpenLogs();
  const name = (key: AttemptKey): string => `${key.job_id}/${key.attempt}`;

  return {
    open(key) {
      const log = logs.get(name(key)) ?? new GrowingBuffer();
      logs.set(name(key), log);
      let closed = false;
      writers.opened(name(key));
      return {
        append: (bytes) => {
          if (closed) return log.size;
          log.append(bytes);
          writers.appended(name(key));
          return log.size;
        },
        close: () => {
          if (closed) return;
          closed = true;
          writers.closed(name(key));
        },
      };
    },

    read(key, offset, limit) {
      const log = logs.get(name(key));
      return Promise.resolve(log ? { bytes: log.slice(offset, limit), size: log.size } : null);
    },

    follow(key, offset, signal) {
      return writers.follow(name(key), offset, signal, (at) =>
        Promise.resolve(logs.get(name(key))?.slice(at, FOLLOW_CHUNK_BYTES) ?? null),
      );
    },
  };
}
