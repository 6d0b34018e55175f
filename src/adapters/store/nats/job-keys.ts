/**
 * The NATS store's keys bucket (`<prefix>_keys`) for jobs: `idem.<sha of the key>` holds the job
 * id an idempotency key was used for (taken with `kv.create`, which fails when the key exists),
 * and `origin.<sha of originKey>` the newest job id of an origin. Keys are hashed because KV keys
 * allow only a few characters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ForgeError } from '../../../domain/errors.ts';
import { originKey, type Job } from '../../../domain/job.ts';
import { createOnce, hashKey, isConflict, type Conn } from './connection.ts';
import type { JobEntry, JobSummary } from '../job-entry.ts';
import type { DeliveryRow } from './nats-outbox.ts';

type C = Conn<JobEntry, JobSummary, DeliveryRow>;

export const idemKey = (key: string) => `idem.${hashKey(key)}`;
export const originIndexKey = (key: string) => `origin.${hashKey(key)}`;
const jobOf = (e: JobEntry): Job => structuredClone(e.job);

export async function readEntry(c: C, id: string): Promise<JobEntry | null> {
  const e = await c.jobs.get(id);
  return e?.operation === 'PUT' ? e.json<JobEntry>() : null;
}

/** The job an idempotency key was used for, waiting briefly for a create still under way. */
export async function byIdempotencyKey(c: C, key: string): Promise<Job | null> {
  const e = await c.keys.get(idemKey(key));
  if (e?.operation !== 'PUT') return null;
  for (let i = 0; i < 40; i++) {
    const entry = await readEntry(c, e.string());
    if (entry) return jobOf(entry);
    await sleep(25);
  }
  throw new ForgeError(
    'unavailable',
    `idempotency key ${key} points at job ${e.string()}, which was never stored (a server died while creating it); submit with another key`,
  );
}

/** Moves the origin's newest-job pointer to `id` unless a newer job holds it. */
export async function pointOrigin(c: C, key: string, id: string): Promise<void> {
  for (;;) {
    const e = await c.keys.get(originIndexKey(key));
    if (e?.operation !== 'PUT') {
      if (await createOnce(c.keys, originIndexKey(key), id)) return;
      continue;
    }
    if (e.string() >= id) return;
    try {
      await c.keys.update(originIndexKey(key), id, e.revision);
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

/** Drops the keys that name a job being deleted: its idempotency key, and its origin's pointer
 *  when that still points at it. */
export async function forgetKeysOf(c: C, entry: JobEntry): Promise<void> {
  const { job } = entry;
  if (entry.idempotency_key !== null) {
    const e = await c.keys.get(idemKey(entry.idempotency_key));
    if (e?.operation === 'PUT' && e.string() === job.id)
      await c.keys.purge(idemKey(entry.idempotency_key));
  }
  if (job.origin) {
    const key = originIndexKey(originKey(job.origin));
    const e = await c.keys.get(key);
    if (e?.operation === 'PUT' && e.string() === job.id) {
      await c.keys.purge(key, { previousSeq: e.revision }).catch((err: unknown) => {
        if (!isConflict(err)) throw err;
      });
    }
  }
}
