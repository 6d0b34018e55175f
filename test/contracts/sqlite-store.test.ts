import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/store/sqlite-store.ts';
import type { OutboxRoute } from '../../src/ports/outbox.ts';
import { outboxContract } from './outbox.contract.ts';
import { queueContract } from './queue.contract.ts';
import {
  AGENT_FAILED,
  FAILED,
  LEASE_MS,
  OWNER,
  reopenableHarness,
  spec,
  type TestClock,
} from './store-fixtures.ts';
import { stewardStoreContract } from './steward-store.contract.ts';
import { storeContract, type StoreHarness } from './store.contract.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forge-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function harness(clock: TestClock, route?: OutboxRoute): Promise<StoreHarness> {
  const path = join(tempDir(), 'forge.db');
  const open = () => createSqliteStore({ path, clock: clock.now, ...(route ? { route } : {}) });
  return reopenableHarness(open);
}

storeContract('sqlite store', harness, { durable: true });
stewardStoreContract('sqlite store', harness, true);
queueContract('sqlite queue', harness);
outboxContract('sqlite store', harness, true);

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

it('every state change appends an event to the job log table, in order', async () => {
  const path = join(tempDir(), 'forge.db');
  const store = createSqliteStore({ path });
  const { job } = await store.create(spec());
  await store.claim(OWNER, LEASE_MS, 'local');
  await store.finish({ job_id: job.id, attempt: 1 }, OWNER, FAILED, {
    status: 'FAILED',
    failure: AGENT_FAILED,
  });
  await store.close();
  const db = new DatabaseSync(path);
  const rows = db
    .prepare('SELECT type, data FROM events WHERE job_id = ? ORDER BY seq')
    .all(job.id);
  db.close();
  expect(rows.map((r) => [r.type, JSON.parse(r.data as string) as unknown])).toEqual([
    ['job.created', {}],
    ['job.status', { from: 'PENDING', to: 'RUNNING' }],
    ['attempt.started', { attempt: 1 }],
    ['attempt.finished', { attempt: 1, exit_code: 1, failure: AGENT_FAILED }],
    ['job.status', { from: 'RUNNING', to: 'FAILED', failure: AGENT_FAILED }],
  ]);
});

/** Undoes the v5, v4 and v3 migrations on a current database (a database from before origins,
 *  the outbox, follow-up listing and stewards). */
const TO_V4 = `DROP TABLE stewards; DROP TABLE steward_notes; PRAGMA user_version = 4;`;
const TO_V2 = `${TO_V4} DROP INDEX jobs_parent; DROP INDEX jobs_origin; DROP TABLE outbox; ALTER TABLE jobs DROP COLUMN origin;
  ALTER TABLE jobs DROP COLUMN origin_key; ALTER TABLE jobs DROP COLUMN parent_id;
  PRAGMA user_version = 2;`;

it('a schema 1 database is upgraded in place and its jobs keep working', async () => {
  const path = join(tempDir(), 'forge.db');
  const store = createSqliteStore({ path });
  const { job } = await store.create(spec({ origin: null }));
  await store.close();
  // Make it look like a database written before diff stats and frozen settings existed.
  const db = new DatabaseSync(path);
  db.exec(`${TO_V2} ALTER TABLE attempts DROP COLUMN diff_stat; ALTER TABLE jobs DROP COLUMN settings;
    PRAGMA user_version = 1;`);
  db.close();
  const upgraded = createSqliteStore({ path });
  const record = await upgraded.get(job.id);
  expect(record?.settings).toMatchObject({ env: {}, allowed_domains: [] });
  expect(await upgraded.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 1 });
  await upgraded.close();
});

it('a schema 2 database gains origins and the outbox, and its jobs keep working', async () => {
  const path = join(tempDir(), 'forge.db');
  const store = createSqliteStore({ path });
  const { job } = await store.create(spec({ origin: null }));
  await store.close();
  const db = new DatabaseSync(path);
  db.exec(TO_V2);
  db.close();
  const upgraded = createSqliteStore({ path });
  expect(await upgraded.get(job.id)).toMatchObject({ origin: null, parent_id: null });
  expect(await upgraded.enqueue([{ sink: 's', event: 'e', job_id: job.id, payload: {} }])).toEqual([
    true,
  ]);
  const { job: next } = await upgraded.create(spec({ parent_id: job.id }));
  expect(await upgraded.get(next.id)).toMatchObject({ parent_id: job.id });
  await upgraded.close();
});

it('a schema 4 database gains stewards, and its jobs keep working', async () => {
  const path = join(tempDir(), 'forge.db');
  const store = createSqliteStore({ path });
  const { job } = await store.create(spec({ origin: null }));
  await store.close();
  const db = new DatabaseSync(path);
  db.exec(TO_V4);
  db.close();
  const upgraded = createSqliteStore({ path });
  expect(await upgraded.get(job.id)).toMatchObject({ id: job.id });
  expect(await upgraded.getSteward('ci')).toBeNull();
  expect(
    await upgraded.putSteward(
      { name: 'ci', paused: false, pending: null, last_tick: null, runs: 0, current_job: null },
      null,
    ),
  ).toMatchObject({ name: 'ci', runs: 0 });
  await upgraded.close();
});
