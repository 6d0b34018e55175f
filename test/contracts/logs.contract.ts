/** The behaviour every attempt logs backend must show, run unchanged against each adapter. */
import { describe, expect, it } from 'vitest';
import type { AttemptLogs } from '../../src/ports/logs.ts';

export function logsContract(name: string, make: () => AttemptLogs): void {
  describe(name, () => {
    const key = { job_id: '01JOBLOGS0000000000000000A', attempt: 1 };

    it('reads back what was appended, by byte range, with the size', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('first line\n'));
      log.append(Buffer.from('sécond\n'));
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

    it('keeps any bytes as they are, invalid UTF-8 included', async () => {
      const logs = make();
      const log = logs.open(key);
      const bytes = Buffer.from([0x80, 0xff, 0x00, 0x0a, 0xc3]);
      log.append(bytes);
      log.close();
      expect((await logs.read(key, 0, 100))?.bytes).toEqual(bytes);
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

    it('ignores appends after close, and a reopened log is appended to', async () => {
      const logs = make();
      const log = logs.open(key);
      log.append(Buffer.from('a\n'));
      log.close();
      log.append(Buffer.from('late\n'));
      const again = logs.open(key);
      again.append(Buffer.from('b\n'));
      again.close();
      expect((await logs.read(key, 0, 100))?.bytes.toString()).toBe('a\nb\n');
    });
  });
}
