/**
 * The NATS store's outbox: one KV entry per delivery in `<prefix>_outbox`, keyed `d.<id>` with the
 * id zero-padded so key order is id order. Ids come from a counter in `<prefix>_keys` bumped by
 * compare-and-set; an item's (sink, key) is claimed with `kv.create` on `<prefix>_keys`, which
 * fails when it exists, so a key is stored once. Taking and settling compare-and-set each entry,
 * so two workers never hold one delivery. Picking reads the watch-fed view (kv-view.ts).
 *
 * A job change and its deliveries are one write, as on SQLite: the change stages them inside the
 * job's entry (job-entry.ts `stage`), in the same compare-and-set. Just after, the writer moves
 * them here and takes them out of the entry (`moveStaged`); a writer that died in between leaves
 * them staged, and `take` sweeps them. Moving is exactly-once per staged token: the token's flag
 * key in `<prefix>_keys` records the delivery id it was given before the row is created, so a
 * second mover finishes the first one's row instead of adding another. (JetStream's atomic batch
 * publish, server 2.12+, could write both at once; the staging works on 2.9.)
 */
import type { Delivery, Outbox, OutboxItem } from '../../../ports/outbox.ts';
import { pendingDelivery, summarizeDeliveries } from '../outbox-rows.ts';
import type { Clock } from '../../../ports/store.ts';
import { casUpdate, createOnce, hashKey, isConflict, type Conn } from './connection.ts';
import type { JobEntry, JobSummary, StagedDelivery } from '../job-entry.ts';

export interface DeliveryRow extends Delivery {
  lease: { owner: string; expires: number } | null;
}

type C = Conn<JobEntry, JobSummary, DeliveryRow>;
type Use = <T>(fn: (c: C) => Promise<T>) => Promise<T>;

const SEQ_KEY = 'outbox_seq';
const rowKey = (id: number) => `d.${String(id).padStart(15, '0')}`;
const copy = ({ lease: _lease, ...d }: DeliveryRow): Delivery => structuredClone(d);

/** Reserves `n` consecutive delivery ids; returns the first. */
async function reserveIds(c: C, n: number): Promise<number> {
  for (;;) {
    const entry = await c.keys.get(SEQ_KEY);
    if (!entry || entry.operation !== 'PUT') {
      if (await createOnce(c.keys, SEQ_KEY, String(n))) return 1;
      continue;
    }
    const last = Number(entry.string());
    try {
      await c.keys.update(SEQ_KEY, String(last + n), entry.revision);
      return last + 1;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

/** Stores items (the store calls this right after a job's change); false: the key was seen. */
export async function addDeliveries(
  c: C,
  clock: Clock,
  items: readonly OutboxItem[],
): Promise<boolean[]> {
  const kept: boolean[] = [];
  for (const item of items) {
    const key = item.key ?? null;
    kept.push(key === null || (await createOnce(c.keys, dedupeKey(item), '1')));
  }
  const count = kept.filter(Boolean).length;
  if (count === 0) return kept;
  let id = await reserveIds(c, count);
  for (const [i, item] of items.entries()) {
    if (!kept[i]) continue;
    const row: DeliveryRow = { ...pendingDelivery(id++, item, clock()), lease: null };
    const revision = await c.outbox.create(rowKey(row.id), JSON.stringify(row));
    c.outboxView.apply(rowKey(row.id), row, revision);
  }
  return kept;
}

/** Per job, so the job's clean-up can find them. */
const movedFlag = (jobId: string, token: string) => `moved.${jobId}.${hashKey(token)}`;

/** Deletes the job's deliveries and the flags of their moving (retention). */
export async function removeDeliveriesOf(c: C, jobId: string): Promise<void> {
  for (const [key, e] of [...c.outboxView.entries]) {
    if (e.value.job_id === jobId) await c.outbox.purge(key);
  }
  const flags: string[] = [];
  for await (const key of await c.keys.keys(`moved.${jobId}.*`)) flags.push(key);
  for (const key of flags) await c.keys.purge(key);
}

const dedupeKey = (item: OutboxItem) => `dedupe.${hashKey(`${item.sink}\u0000${item.key}`)}`;

/** Creates row `id` for `item` unless it exists (a mover before us created it). */
async function ensureRow(c: C, clock: Clock, id: number, item: OutboxItem): Promise<void> {
  const row: DeliveryRow = { ...pendingDelivery(id, item, clock()), lease: null };
  try {
    const revision = await c.outbox.create(rowKey(id), JSON.stringify(row));
    c.outboxView.apply(rowKey(id), row, revision);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** Moves one staged delivery to the outbox, once however many movers try. */
async function moveOnce(
  c: C,
  clock: Clock,
  jobId: string,
  { token, item }: StagedDelivery,
): Promise<void> {
  const flag = movedFlag(jobId, token);
  for (;;) {
    const known = await c.keys.get(flag);
    if (known?.operation === 'PUT') {
      const id = Number(known.string());
      if (id > 0) await ensureRow(c, clock, id, item);
      return;
    }
    if (item.key != null && !(await createOnce(c.keys, dedupeKey(item), token))) {
      const holder = await c.keys.get(dedupeKey(item));
      // Another delivery already used this key: this one is dropped (flag 0), once.
      if (holder?.operation === 'PUT' && holder.string() !== token) {
        await createOnce(c.keys, flag, '0');
        continue;
      }
    }
    const id = await reserveIds(c, 1);
    if (await createOnce(c.keys, flag, String(id))) {
      await ensureRow(c, clock, id, item);
      return;
    }
    // Another mover flagged it first (our id stays unused): finish theirs.
  }
}

/**
 * Moves a job's staged deliveries to the outbox, in order, then takes them out of the entry
 * (only those, by token: a change made meanwhile keeps its own). Safe to run by any number of
 * replicas at once.
 */
export async function moveStaged(
  c: C,
  clock: Clock,
  jobId: string,
  staged: readonly StagedDelivery[],
): Promise<void> {
  if (staged.length === 0) return;
  for (const s of staged) await moveOnce(c, clock, jobId, s);
  const moved = new Set(staged.map((s) => s.token));
  await casUpdate<JobEntry, void>(
    c.jobs,
    jobId,
    (e) => {
      const left = (e.outbox ?? []).filter((s) => !moved.has(s.token));
      if (left.length === (e.outbox ?? []).length) return { write: false, result: undefined };
      if (left.length > 0) e.outbox = left;
      else delete e.outbox;
      return { write: true, result: undefined };
    },
    c.jobView,
  );
}

/** Rows oldest first, from the view. */
const rows = (c: C): DeliveryRow[] =>
  [...c.outboxView.entries.values()].map((e) => e.value).sort((a, b) => a.id - b.id);

/** `sweep` moves deliveries staged in job entries whose writer died; `take` runs it first. */
export function createNatsOutbox(clock: Clock, use: Use, sweep: (c: C) => Promise<void>): Outbox {
  const takeable = (r: DeliveryRow, now: number) =>
    r.state === 'pending' && r.next_at <= now && (r.lease === null || r.lease.expires < now);

  return {
    enqueue: (items) => use((c) => addDeliveries(c, clock, items)),

    take: (owner, leaseMs, limit) =>
      use(async (c) => {
        await sweep(c);
        const now = clock();
        const pending = rows(c).filter((r) => r.state === 'pending');
        const blocked = (row: DeliveryRow) =>
          row.job_id !== null &&
          pending.some((r) => r.id < row.id && r.sink === row.sink && r.job_id === row.job_id);
        const taken: Delivery[] = [];
        for (const candidate of pending.filter((r) => takeable(r, now) && !blocked(r))) {
          if (taken.length >= limit) break;
          const got = await casUpdate<DeliveryRow, Delivery | null>(
            c.outbox,
            rowKey(candidate.id),
            (r) => {
              if (!takeable(r, now)) return { write: false, result: null };
              r.lease = { owner, expires: now + leaseMs };
              r.attempts++;
              return { write: true, result: copy(r) };
            },
            c.outboxView,
          );
          if (got) taken.push(got);
        }
        return taken;
      }),

    settle: (id, owner, outcome) =>
      use(async (c) => {
        await casUpdate<DeliveryRow, void>(
          c.outbox,
          rowKey(id),
          (r) => {
            if (r.state !== 'pending' || r.lease?.owner !== owner) {
              return { write: false, result: undefined };
            }
            r.lease = null;
            if (outcome.ok) {
              r.state = 'delivered';
              r.delivered_at = new Date(clock()).toISOString();
            } else {
              r.last_error = outcome.error;
              if (outcome.retry_at === null) r.state = 'dead';
              else r.next_at = outcome.retry_at;
            }
            return { write: true, result: undefined };
          },
          c.outboxView,
        );
      }),

    deliveriesOf: (jobId) =>
      use((c) =>
        Promise.resolve(
          rows(c)
            .filter((r) => r.job_id === jobId)
            .map(copy),
        ),
      ),

    summary: () => use((c) => Promise.resolve(summarizeDeliveries(rows(c)))),
  };
}
