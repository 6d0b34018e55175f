/**
 * The outbox of the in-memory store: the same contract as the SQLite outbox (the same contract
 * suite runs against both). Synchronous inside, so every method is atomic.
 */
import { pendingDelivery, summarizeDeliveries } from './outbox-rows.ts';
import type { Clock } from '../../ports/store.ts';
import type { Delivery, Outbox, OutboxItem } from '../../ports/outbox.ts';

interface Row extends Delivery {
  lease: { owner: string; expires: number } | null;
}

export interface MemoryOutbox extends Outbox {
  /** Stores items now (called by the store inside a change). */
  add(items: readonly OutboxItem[]): boolean[];
  /** Marks where the outbox is now; calling the result removes every delivery added since. */
  savepoint(): () => void;
}

export function createMemoryOutbox(
  clock: Clock,
  use: <T>(fn: () => T) => Promise<T>,
): MemoryOutbox {
  /** In id order, so a filter keeps deliveries oldest first. */
  const rows: Row[] = [];
  const keys = new Set<string>();
  let nextId = 1;
  const copy = ({ lease: _lease, ...d }: Row): Delivery => structuredClone(d);

  const add = (items: readonly OutboxItem[]): boolean[] =>
    items.map((item) => {
      const key = item.key ?? null;
      if (key !== null) {
        const unique = `${item.sink}\u0000${key}`;
        if (keys.has(unique)) return false;
        keys.add(unique);
      }
      rows.push({ ...pendingDelivery(nextId++, item, clock()), lease: null });
      return true;
    });

  const blocked = (row: Row) =>
    row.job_id !== null &&
    rows.some(
      (r) =>
        r.id < row.id && r.state === 'pending' && r.sink === row.sink && r.job_id === row.job_id,
    );
  const held = (id: number, owner: string) =>
    rows.find((r) => r.id === id && r.state === 'pending' && r.lease?.owner === owner) ?? null;

  const savepoint = () => {
    const length = rows.length;
    return () => {
      for (const r of rows.splice(length)) {
        if (r.key !== null) keys.delete(`${r.sink}\u0000${r.key}`);
      }
    };
  };

  return {
    add,
    savepoint,
    enqueue: (items) => use(() => add(items)),
    take: (owner, leaseMs, limit) =>
      use(() => {
        const now = clock();
        return rows
          .filter(
            (r) =>
              r.state === 'pending' &&
              r.next_at <= now &&
              (r.lease === null || r.lease.expires < now) &&
              !blocked(r),
          )
          .slice(0, limit)
          .map((r) => {
            r.lease = { owner, expires: now + leaseMs };
            r.attempts++;
            return copy(r);
          });
      }),
    settle: (id, owner, outcome) =>
      use(() => {
        const row = held(id, owner);
        if (!row) return;
        row.lease = null;
        if (outcome.ok) {
          row.state = 'delivered';
          row.delivered_at = new Date(clock()).toISOString();
        } else {
          row.last_error = outcome.error;
          if (outcome.retry_at === null) row.state = 'dead';
          else row.next_at = outcome.retry_at;
        }
      }),
    deliveriesOf: (jobId) => use(() => rows.filter((r) => r.job_id === jobId).map(copy)),
    summary: () => use(() => summarizeDeliveries(rows)),
  };
}
