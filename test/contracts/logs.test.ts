import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createFileLogs } from '../../src/adapters/logs/file-logs.ts';
import { createMemoryLogs } from '../../src/adapters/logs/memory-logs.ts';
import { logsContract } from './logs.contract.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

logsContract('file logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forge-logs-'));
  dirs.push(dir);
  return createFileLogs(dir);
});
logsContract('memory logs', createMemoryLogs);
