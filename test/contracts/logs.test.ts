import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileLogs } from '../../src/adapters/logs/file-logs.ts';
import { createMemoryLogs } from '../../src/adapters/logs/memory-logs.ts';
import { logsContract } from './logs.contract.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forge-logs-'));
  dirs.push(dir);
  return dir;
}

logsContract('file logs', () => createFileLogs(tempDir()));
logsContract('memory logs', createMemoryLogs);

describe('file logs after a restart', () => {
  it('end a follow of a log the previous server left open at its end', async () => {
    const dir = tempDir();
    const key = { job_id: '01JOBLOGS0000000000000000B', attempt: 1 };
    const crashed = createFileLogs(dir).open(key);
    crashed.append(Buffer.from('before the crash\n'));
    const got: string[] = [];
    for await (const chunk of createFileLogs(dir).follow(key, 0, new AbortController().signal))
      got.push(chunk.bytes.toString());
    expect(got.join('')).toBe('before the crash\n');
    crashed.close();
  });
});
