import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/store/sqlite-store.ts';
import type { JobStore } from '../../src/ports/store.ts';
import { storeContract } from './store.contract.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forge-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

storeContract('sqlite store', () => {
  const path = join(tempDir(), 'forge.db');
  const opened: JobStore[] = [createSqliteStore({ path })];
  return Promise.resolve({
    store: opened[0] as JobStore,
    reopen: () => {
      const store = createSqliteStore({ path });
      opened.push(store);
      return Promise.resolve(store);
    },
    cleanup: async () => {
      for (const store of opened) await store.close();
    },
  });
});

it('opening a file that is not a SQLite database fails as unavailable, naming the file', () => {
  const path = join(tempDir(), 'notes.txt');
  writeFileSync(path, 'these are my notes, not a database\n'.repeat(200));
  expect(() => createSqliteStore({ path })).toThrow(
    expect.objectContaining({
      code: 'unavailable',
      message: expect.stringContaining(`${path} is not a SQLite database`) as unknown,
    }),
  );
});

it('creates the directory of a new database file', async () => {
  const store = createSqliteStore({ path: join(tempDir(), 'data', 'nested', 'forge.db') });
  await expect(store.ping()).resolves.toBeUndefined();
  await store.close();
});
