/**
 * The NATS store's outbox: one KV entry per delivery in `<prefix>_outbox`, keyed `d.<id>` with the
 * id zero-padded so key order is id order. Ids come from a counter in `<prefix>_keys` bumped by
 * compare-and-set; an item's (sink, key) is claimed with `kv.create` on `<prefix>_keys`, which
 * fails when it exists, so a key is stored once. Taking and settling compare-and-set each entry,
 * so two workers never hold one delivery. Picking reads the watch-fed view (kv-view.ts).
 *
 * Not one transaction with the job's change as on SQLite: the store writes a change's deliveries
 * right after the job's compare-and-set succeeded, so a crash between the two loses them. Writing
 * the deliveries inside the job's entry (moved out by a sweeper) or publishing both in one
 * JetStream atomic batch (server 2.12+) would close that gap.
 */
import type { Delivery, Outbox, OutboxItem } from '../../../ports/outbox.ts';
import { pendingDelivery, summarizeDeliveries } from '../outbox-rows.ts';
import type { Clock } from '../../../ports/store.ts';
import { casUpdate, createOnce, hashKey, isConflict, type Conn } from './connection.ts';
import type { JobEntry, JobSummary } from './job-entry.ts';

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
    kept.push(
      key === null ||
        (await createOnce(c.keys, `dedupe.${hashKey(`${item.sink}\u0000${key}`)}`, '1')),
    );
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

/** Rows oldest first, from the view. */
const rows = (c: C): DeliveryRow[] =>
  [...c.outboxView.entries.values()].map((e) => e.value).sort((a, b) => a.id - b.id);

export function createNatsOutbox(clock: Clock, use: Use): Outbox {
  const takeable = (r: DeliveryRow, now: number) =>
    r.state === 'pending' && r.next_at <= now && (r.lease === null || r.lease.expires < now);

  return {
    enqueue: (items) => use((c) => addDeliveries(c, clock, items)),

    take: (owner, leaseMs, limit) =>
      use(async (c) => {
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
