/**
 * A cap on the attempts open at once across every replica sharing the NATS store (the store's
 * `maxRunning` option), so N replicas never run more than `maxRunning` attempts together.
 *
 * Design:
 * - Slots are keys `slot.<n>` (0 <= n < maxRunning) in the keys bucket. A slot's value names its
 *   holder, `<jobId>/<attempt>@<taken at, epoch ms on the store's clock>`.
 * - claim takes a slot with `kv.create` (fails when the key exists) for the attempt it is about to
 *   open (the job's `attempt_count + 1` as read), then compare-and-sets the job to RUNNING with
 *   the revision it read, once. When that write loses (or the route throws) it gives the slot
 *   back; no free slot means nothing can be claimed. So an attempt only opens while holding a
 *   slot, and at most `maxRunning` slots exist.
 * - The slot is given back (deleted, guarded by its revision) when its attempt closes: in finish
 *   (whatever the job's status: a cancelled job's attempt holds its slot until its runner closes
 *   it) and in recover, for each attempt it interrupts.
 * - Stale slots: a crash can leave a slot behind (between taking it and writing the job, or
 *   between closing the attempt and giving the slot back). A claimer that finds every slot taken
 *   reads each holder's job and takes over (`kv.update` with the slot's revision, so only one
 *   claimer wins it) a slot whose job no longer exists or whose attempt is closed. A holder whose
 *   attempt is not open yet may be a claim still under way; it is stale only once older than
 *   CLAIM_GRACE_MS, and even then the taker first rewrites the job unchanged with the revision it
 *   read (a fence): a late claimer's compare-and-set, based on an older revision, then fails, so
 *   it cannot open the attempt on a slot that was taken from it.
 * - A slot whose holder's attempt is open is live, whoever else holds a slot for it. Finishing
 *   gives back every slot naming the attempt.
 */
import { ForgeError } from '../../../domain/errors.ts';
import { isConflict, type Conn } from './connection.ts';
import type { JobEntry, JobSummary } from '../job-entry.ts';
import type { DeliveryRow } from './nats-outbox.ts';

type C = Conn<JobEntry, JobSummary, DeliveryRow>;

/** How long a slot may name an attempt that is not open yet before it counts as abandoned. */
export const CLAIM_GRACE_MS = 60_000;

export interface Slot {
  key: string;
  revision: number;
}

interface Holder {
  jobId: string;
  attempt: number;
  takenAt: number;
}

const slotKey = (n: number) => `slot.${n}`;
const holderOf = (jobId: string, attempt: number, takenAt: number) =>
  `${jobId}/${attempt}@${takenAt}`;

function parseHolder(value: string): Holder | null {
  const m = /^([^/]+)\/(\d+)@(-?\d+)$/.exec(value);
  return m ? { jobId: m[1]!, attempt: Number(m[2]), takenAt: Number(m[3]) } : null;
}

export function validateMaxRunning(maxRunning: number | undefined): void {
  if (maxRunning === undefined) return;
  if (!Number.isInteger(maxRunning) || maxRunning < 1) {
    throw new ForgeError(
      'config',
      `maxRunning must be a whole number of at least 1 (got ${String(maxRunning)}); set limits.max_concurrent to one`,
    );
  }
}

/** Whether the slot's holder can no longer be (or become) a running attempt, judged on its job.
 *  May fence the job (see the design above); then the caller must take the slot over at once. */
async function stale(c: C, holder: Holder | null, now: number): Promise<boolean> {
  if (!holder) return true;
  const kvEntry = await c.jobs.get(holder.jobId);
  if (kvEntry?.operation !== 'PUT') return true;
  const entry = kvEntry.json<JobEntry>();
  const attempt = entry.attempts.find((a) => a.number === holder.attempt);
  if (attempt) return attempt.finished_at !== null;
  if (entry.job.attempt_count >= holder.attempt) return true; // never opened, never will be
  // Not opened yet: maybe a claim under way.
  if (now - holder.takenAt < CLAIM_GRACE_MS) return false;
  const done = c.jobView.writing(holder.jobId);
  try {
    const revision = await c.jobs.update(holder.jobId, JSON.stringify(entry), kvEntry.revision);
    c.jobView.apply(holder.jobId, entry, revision);
    return true;
  } catch (err) {
    if (isConflict(err)) return false; // the job moved on; look again next time
    throw err;
  } finally {
    done();
  }
}

/** Takes a free (or stale) slot for `jobId`'s attempt `attempt`; null when all are in use. */
export async function takeSlot(
  c: C,
  maxRunning: number,
  jobId: string,
  attempt: number,
  now: number,
): Promise<Slot | null> {
  const value = holderOf(jobId, attempt, now);
  const taken: number[] = [];
  for (let n = 0; n < maxRunning; n++) {
    try {
      return { key: slotKey(n), revision: await c.keys.create(slotKey(n), value) };
    } catch (err) {
      if (!isConflict(err)) throw err;
      taken.push(n);
    }
  }
  for (const n of taken) {
    const e = await c.keys.get(slotKey(n));
    if (e?.operation !== 'PUT') {
      // Freed since: take it if nobody else does first.
      try {
        return { key: slotKey(n), revision: await c.keys.create(slotKey(n), value) };
      } catch (err) {
        if (!isConflict(err)) throw err;
        continue;
      }
    }
    if (!(await stale(c, parseHolder(e.string()), now))) continue;
    try {
      return { key: slotKey(n), revision: await c.keys.update(slotKey(n), value, e.revision) };
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  return null;
}

/** Gives a slot back, unless it was taken over since. */
export async function releaseSlot(c: C, slot: Slot): Promise<void> {
  try {
    await c.keys.delete(slot.key, { previousSeq: slot.revision });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** Gives back every slot naming `jobId`'s attempt `attempt` (call once the attempt closed). */
export async function releaseSlotsOf(
  c: C,
  maxRunning: number,
  jobId: string,
  attempt: number,
): Promise<void> {
  const slots = await Promise.all(
    Array.from({ length: maxRunning }, (_, n) => c.keys.get(slotKey(n))),
  );
  for (const e of slots) {
    if (e?.operation !== 'PUT') continue;
    const holder = parseHolder(e.string());
    if (holder?.jobId === jobId && holder.attempt === attempt) {
      await releaseSlot(c, { key: e.key, revision: e.revision });
    }
  }
}
