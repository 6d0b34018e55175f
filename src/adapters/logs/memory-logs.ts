/** Attempt logs in memory, for tests: the same contract as the file logs. */
import type { AttemptLogs } from '../../ports/logs.ts';

export function createMemoryLogs(): AttemptLogs {
  const logs = new Map<string, Buffer[]>();
  const name = (key: { job_id: string; attempt: number }) => `${key.job_id}/${key.attempt}`;
  return {
    open(key) {
      const chunks = logs.get(name(key)) ?? [];
      logs.set(name(key), chunks);
      let closed = false;
      return {
        append: (bytes) => {
          if (!closed) chunks.push(Buffer.from(bytes));
        },
        close: () => {
          closed = true;
        },
      };
    },
    read(key, offset, limit) {
      const chunks = logs.get(name(key));
      if (!chunks) return Promise.resolve(null);
      const all = Buffer.concat(chunks);
      return Promise.resolve({
        bytes: Buffer.from(all.subarray(offset, offset + limit)),
        size: all.length,
      });
    },
  };
}
