/**
 * The outbox in the job store's SQLite file (the `outbox` table). Deliveries a job's change causes
 * are inserted by the store inside that change's transaction (`insertItems`); the rest of the port
 * is here. A taken delivery is leased, so a server that died mid-delivery has it taken again once
 * the lease expires; only the oldest pending delivery of a (sink, job) is ever taken, so one job's
 * deliveries to one sink go out in order.
 */
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import type {
  Delivery,
  DeliveryState,
  Outbox,
  OutboxItem,
  SinkSummary,
} from '../../ports/outbox.ts';

const SQL = {
  insert: `INSERT INTO outbox (sink, event, job_id, key, payload, state, attempts, next_at,
    created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (sink, key) DO NOTHING`,
  // The partial index keeps take() off the delivered rows (left to itself the planner walks the
  // whole table in id order); the due rows it finds are then sorted oldest first.
  due: `SELECT * FROM outbox o INDEXED BY outbox_pending WHERE state = 'pending' AND next_at <= :now
    AND (lease_expires_at IS NULL OR lease_expires_at < :now)
    AND (job_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox p WHERE p.job_id = o.job_id
      AND p.sink = o.sink AND p.state = 'pending' AND p.id < o.id))
    ORDER BY id LIMIT :limit`,
  lease: `UPDATE outbox SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
    WHERE id = ? RETURNING *`,
  delivered: `UPDATE outbox SET state = 'delivered', delivered_at = ?, lease_owner = NULL,
    lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND state = 'pending'`,
  again: `UPDATE outbox SET next_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
    WHERE id = ? AND lease_owner = ? AND state = 'pending'`,
  dead: `UPDATE outbox SET state = 'dead', last_error = ?, lease_owner = NULL,
    lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND state = 'pending'`,
  ofJob: `SELECT * FROM outbox WHERE job_id = ? ORDER BY id`,
  summary: `SELECT sink, SUM(state = 'pending') AS pending, SUM(state = 'dead') AS dead,
    MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest_pending_at,
    (SELECT e.last_error FROM outbox e WHERE e.sink = o.sink AND e.state <> 'delivered'
      AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS last_error
    FROM outbox o WHERE state <> 'delivered' GROUP BY sink ORDER BY sink`,
} as const;

interface OutboxRow {
  id: number;
  sink: string;
  event: string;
  job_id: string | null;
  key: string | null;
  payload: string;
  state: DeliveryState;
  attempts: number;
  next_at: number;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

function toDelivery(row: OutboxRow): Delivery {
  return {
    id: row.id,
    sink: row.sink,
    event: row.event,
    job_id: row.job_id,
    key: row.key,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state,
    attempts: row.attempts,
    next_at: row.next_at,
    last_error: row.last_error,
    created_at: row.created_at,
    delivered_at: row.delivered_at,
  };
}

export interface SqliteAccess {
  stmt(sql: string): StatementSync;
  tx<T>(fn: () => T): T;
  call<T>(fn: () => T): Promise<T>;
  clock(): number;
}

/** Inserts items inside the caller's transaction; returns, per item, whether it was stored. */
export function insertItems(db: SqliteAccess, items: readonly OutboxItem[]): boolean[] {
  const now = db.clock();
  const at = new Date(now).toISOString();
  return items.map(
    (item) =>
      Number(
        db
          .stmt(SQL.insert)
          .run(
            item.sink,
            item.event,
            item.job_id,
            item.key ?? null,
            JSON.stringify(item.payload),
            now,
            at,
          ).changes,
      ) > 0,
  );
}

export function createSqliteOutbox(db: SqliteAccess): Outbox {
  const rows = (sql: string, ...params: SQLInputValue[]) =>
    db.stmt(sql).all(...params) as unknown as OutboxRow[];
  return {
    enqueue: (items) => db.call(() => db.tx(() => insertItems(db, items))),

    take: (owner, leaseMs, limit) =>
      db.call(() => {
        // Most looks find nothing due (every job change wakes the worker): find that out with a
        // read, without taking the write lock.
        if (db.stmt(SQL.due).all({ now: db.clock(), limit: 1 }).length === 0) return [];
        return db.tx(() => {
          const now = db.clock();
          const due = db.stmt(SQL.due).all({ now, limit }) as unknown as OutboxRow[];
          return due.map((row) =>
            toDelivery(
              db.stmt(SQL.lease).get(owner, now + leaseMs, row.id) as unknown as OutboxRow,
            ),
          );
        });
      }),

    settle: (id, owner, outcome) =>
      db.call(() => {
        if (outcome.ok) db.stmt(SQL.delivered).run(new Date(db.clock()).toISOString(), id, owner);
        else if (outcome.retry_at !== null)
          db.stmt(SQL.again).run(outcome.retry_at, outcome.error, id, owner);
        else db.stmt(SQL.dead).run(outcome.error, id, owner);
      }),

    deliveriesOf: (jobId) => db.call(() => rows(SQL.ofJob, jobId).map(toDelivery)),

    summary: () =>
      db.call(() =>
        (db.stmt(SQL.summary).all() as unknown as SinkSummary[]).map((s) => ({
          sink: s.sink,
          pending: Number(s.pending),
          dead: Number(s.dead),
          oldest_pending_at: s.oldest_pending_at,
          last_error: s.last_error,
        })),
      ),
  };
}
