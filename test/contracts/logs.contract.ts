/** The behaviour every attempt logs backend must show, run unchanged against each adapter. */
import { describe, expect, it } from 'vitest';
import type { AttemptLogs, LogChunk } from '../../src/ports/logs.ts';

const key = { job_id: '01JOBLOGS0000000000000000A', attempt: 1 };

/** A follower driven step by step, so a test can append between its reads. */
function follower(logs: AttemptLogs, offset: number, signal = new AbortController().signal) {
  const chunks = logs.follow(key, offset, signal)[Symbol.asyncIterator]();
  return {
    next: () => chunks.next(),
    /** Reads until `end` is reached; the bytes in between and the end of each chunk. */
    async until(end: number): Promise<{ bytes: Buffer; ends: number[] }> {
      const got: LogChunk[] = [];
      while ((got.at(-1)?.end ?? offset) < end) {
        const step = await chunks.next();
        if (step.done) throw new Error(`follow ended at ${got.at(-1)?.end ?? offset}, not ${end}`);
        got.push(step.value);
      }
      return { bytes: Buffer.concat(got.map((c) => c.bytes)), ends: got.map((c) => c.end) };
    },
  };
}

async function all(chunks: AsyncIterable<LogChunk>): Promise<Buffer> {
  const got: Buffer[] = [];
  for await (const chunk of chunks) got.push(chunk.bytes);
  return Buffer.concat(got);
}

export function logsContract(name: string, make: () => AttemptLogs): void {
  describe(name, () => {
    it('reads back what was appended, by byte range, with the size', async () => {
      const logs = make();
      const log = logs.open(key);
      expect(log.append(Buffer.from('first line\n'))).toBe(11);
      expect(log.append(Buffer.from('sécond\n'))).toBe(19);
      expect((await logs.read(key, 0, 1000))?.bytes.toString()).toBe('first line\nsécond\n');
      expect(await logs.read(key, 6, 4)).toEqual({ bytes: Buffer.from('line'), size: 19 });
      expect(await logs.read(key, 19, 10)).toEqual({ bytes: Buffer.alloc(0), size: 19 });
      expect(await logs.read(key, 500, 10)).toEqual({ bytes: Buffer.alloc(0), size: 19 });
      log.close();
    });

    it('makes an append readable as soon as it returns, before the log is closed', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('live\n'));
      expect((await logs.read(key, 0, 100))?.bytes.toString()).toBe('live\n');
      log.close();
    });

    it('keeps any bytes as they are, invalid UTF-8 included, read or followed', async () => {
      const logs = make();
      const log = logs.open(key);
      const bytes = Buffer.from([0x80, 0xff, 0x00, 0x0a, 0xc3]);
      log.append(bytes);
      log.close();
      expect((await logs.read(key, 0, 100))?.bytes).toEqual(bytes);
      expect(await all(logs.follow(key, 0, new AbortController().signal))).toEqual(bytes);
    });

    it('returns null for an attempt without a log, and keeps attempts apart', async () => {
      const logs = make();
      expect(await logs.read(key, 0, 10)).toBeNull();
      const log = logs.open({ ...key, attempt: 2 });
      log.append(Buffer.from('two\n'));
      log.close();
      expect(await logs.read(key, 0, 10)).toBeNull();
      expect((await logs.read({ ...key, attempt: 2 }, 0, 10))?.size).toBe(4);
    });

    it('ignores appends after close, and a reopened log is appended to at its end', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('a\n'));
      log.close();
      expect(log.append(Buffer.from('late\n'))).toBe(2);
      const again = logs.open(key);
      expect(again.append(Buffer.from('b\n'))).toBe(4);
      again.close();
      expect((await logs.read(key, 0, 100))?.bytes.toString()).toBe('a\nb\n');
    });

    it('follows from a cursor: the bytes after it, then each append as it comes', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('one\ntwo\n'));
      const f = follower(logs, 4);
      expect((await f.until(8)).bytes.toString()).toBe('two\n');
      const pending = f.next(); // waits: nothing new yet
      const end = log.append(Buffer.from('three\n'));
      const step = await pending;
      expect(step.done).toBe(false);
      expect(step.value).toEqual({ bytes: Buffer.from('three\n'), end });
      log.close();
    });

    it('ends a follow once the log is closed, after its last bytes', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('a\n'));
      const f = follower(logs, 0);
      await f.until(2);
      const pending = f.next();
      log.append(Buffer.from('b\n'));
      log.close();
      expect((await pending).value).toEqual({ bytes: Buffer.from('b\n'), end: 4 });
      expect((await f.next()).done).toBe(true);
    });

    it('ends a waiting follow when its signal aborts, without throwing', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('a\n'));
      const stop = new AbortController();
      const f = follower(logs, 2, stop.signal);
      const pending = f.next();
      stop.abort();
      expect((await pending).done).toBe(true);
      log.close();
    });

    it('ends a follow of a log nobody writes at its end, and of a missing log at once', async () => {
      const logs = make();
      expect(await all(logs.follow(key, 0, new AbortController().signal))).toEqual(Buffer.alloc(0));
      const log = logs.open(key);
      log.append(Buffer.from('done\n'));
      log.close();
      const signal = new AbortController().signal;
      expect((await all(logs.follow(key, 0, signal))).toString()).toBe('done\n');
      expect((await all(logs.follow(key, 2, signal))).toString()).toBe('ne\n');
      expect(await all(logs.follow(key, 99, signal))).toEqual(Buffer.alloc(0));
    });

    it('follows a log of several megabytes whole, in order, with increasing ends', async () => {
      const logs = make();
      const log = logs.open(key);
      const line = Buffer.from(`${'x'.repeat(99)}\n`);
      for (let i = 0; i < 30_000; i++) log.append(line);
      const f = follower(logs, 0);
      const half = await f.until(3_000_000);
      for (let i = 0; i < 30_000; i++) log.append(line);
      const rest = await f.until(6_000_000);
      log.close();
      expect((await f.next()).done).toBe(true);
      const ends = [...half.ends, ...rest.ends];
      expect(ends).toEqual([...ends].sort((a, b) => a - b));
      expect(ends.at(-1)).toBe(6_000_000);
      const expected = Buffer.concat(Array.from({ length: 60_000 }, () => line));
      expect(Buffer.concat([half.bytes, rest.bytes]).equals(expected)).toBe(true);
    });
  });
}
