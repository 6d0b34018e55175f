/**
 * Attempt logs as files under the data dir: `<dataDir>/jobs/<id>/attempt-<n>/output.log`.
 * Appends are synchronous writes, so a line is readable as soon as `append` returns; followers
 * are woken by the appends of this process, which owns the data dir.
 */
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttemptLog, AttemptLogs, LogRange } from '../../ports/logs.ts';
import type { AttemptKey } from '../../ports/store.ts';
import { FOLLOW_CHUNK_BYTES, OpenLogs } from './follow-log.ts';

export function attemptLogPath(dataDir: string, key: AttemptKey): string {
  return join(dataDir, 'jobs', key.job_id, `attempt-${key.attempt}`, 'output.log');
}

export function createFileLogs(dataDir: string): AttemptLogs {
  const writers = new OpenLogs();

  async function read(key: AttemptKey, offset: number, limit: number): Promise<LogRange | null> {
    const file = await open(attemptLogPath(dataDir, key)).catch(() => null);
    if (!file) return null;
    try {
      const { size } = await file.stat();
      const length = Math.max(0, Math.min(limit, size - offset));
      const bytes = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await file.read(bytes, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return { bytes: bytes.subarray(0, got), size };
    } finally {
      await file.close();
    }
  }

  return {
    open(key): AttemptLog {
      const path = attemptLogPath(dataDir, key);
      mkdirSync(join(path, '..'), { recursive: true });
      const fd = openSync(path, 'a');
      let size = fstatSync(fd).size;
      let closed = false;
      writers.opened(path);
      return {
        append: (bytes) => {
          if (closed) return size;
          for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
          size += bytes.length;
          writers.appended(path);
          return size;
        },
        close: () => {
          if (closed) return;
          closed = true;
          closeSync(fd);
          writers.closed(path);
        },
      };
    },

    read,

    follow(key, offset, signal) {
      return writers.follow(attemptLogPath(dataDir, key), offset, signal, async (at) => {
        const range = await read(key, at, FOLLOW_CHUNK_BYTES);
        return range ? range.bytes : null;
      });
    },
  };
}
