/**
 * A store of N finished jobs, made through the store's own API (create → claim → finishAttempt,
 * or create → cancel) so the rows are exactly what Forge writes. Seeding 100,000 jobs is ~300,000
 * transactions (~30 s), so the result is cached under the temp dir, keyed by N and a hash of the
 * store's source: a changed store makes a fresh seed.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../src/adapters/store/sqlite-store.ts';
import { freezeSettings } from '../src/core/agent-settings.ts';
import type { JobSpec } from '../src/domain/job.ts';

const SOURCES = [
  '../src/adapters/store/sqlite-store.ts',
  '../src/adapters/store/sqlite-schema.ts',
  './seed-store.ts',
];
export const SEED_OUTPUT = Array.from(
  { length: 12 },
  (_, i) => `step ${i}: did a thing to a file, ran the tests, all green\n`,
).join('');

/** Puts a seeded `forge.db` into `dataDir`; returns whether it came from the cache. */
export async function seedStore(
  dataDir: string,
  jobs: number,
  log: (m: string) => void,
): Promise<{ cached: boolean; seconds: number }> {
  const t0 = Date.now();
  const hash = createHash('sha256');
  for (const source of SOURCES) hash.update(await readFile(new URL(source, import.meta.url)));
  const cacheDir = join(tmpdir(), 'forge-bench-cache');
  const cached = join(cacheDir, `store-${jobs}-${hash.digest('hex').slice(0, 12)}.db`);
  const hit = await stat(cached).then(
    () => true,
    () => false,
  );
  if (!hit) {
    await mkdir(cacheDir, { recursive: true });
    // Made in memory-backed /dev/shm when there is one: the commits are what takes the time.
    const workDir = await stat('/dev/shm').then(
      () => '/dev/shm',
      () => cacheDir,
    );
    const work = join(workDir, `forge-bench-seed-${process.pid}.db`);
    try {
      await fill(work, jobs, log);
      await copyFile(work, `${cached}.tmp`);
      await rename(`${cached}.tmp`, cached);
    } finally {
      for (const suffix of ['', '-wal', '-shm']) await rm(`${work}${suffix}`, { force: true });
    }
  }
  await mkdir(dataDir, { recursive: true });
  await copyFile(cached, join(dataDir, 'forge.db'));
  return { cached: hit, seconds: (Date.now() - t0) / 1000 };
}

/** 70% succeeded, 20% failed (with an attempt each), 10% cancelled before they ran. */
async function fill(path: string, jobs: number, log: (m: string) => void): Promise<void> {
  const store = createSqliteStore({ path });
  try {
    for (let i = 0; i < jobs; i++) {
      const { job } = await store.create(benchSpec(i));
      if (i % 10 === 9) {
        await store.cancel(job.id, { category: 'cancelled', message: 'cancelled on request' });
        continue;
      }
      const claim = await store.claim('seed', 60_000, 'local');
      if (claim?.job.id !== job.id)
        throw new Error('seeding: claimed another job than the one just created');
      const failed = i % 10 < 2;
      await store.finish(
        { job_id: job.id, attempt: claim.attempt },
        'seed',
        {
          exit_code: failed ? 1 : 0,
          output: SEED_OUTPUT,
          truncated: false,
          failure: failed
            ? {
                category: 'agent_error',
                message: 'the agent exited with code 1; its last output lines say why',
              }
            : null,
        },
        failed
          ? {
              status: 'FAILED',
              failure: { category: 'agent_error', message: 'the agent exited with code 1' },
            }
          : { status: 'SUCCEEDED' },
      );
      if ((i + 1) % 20_000 === 0) log(`seeded ${i + 1}/${jobs} jobs`);
    }
  } finally {
    await store.close();
  }
}

/** The spec of the i-th seeded job (shared with the NATS seed). */
export function benchSpec(i: number): JobSpec {
  return {
    task: `fix the flaky test number ${i} in the date parser and make sure the suite passes`,
    agent: 'noop',
    profile: null,
    max_retries: 0,
    budget_usd: 5,
    tags: i % 4 === 0 ? ['nightly'] : [],
    source: 'bench',
    inactivity_timeout_ms: 600_000,
    max_duration_ms: 7_200_000,
    model: null,
    max_turns: null,
    repo: null,
    settings: freezeSettings(undefined, []),
    origin: null,
    parent_id: null,
  };
}
