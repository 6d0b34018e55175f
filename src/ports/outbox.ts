import type { Job, JobStatus } from '../domain/job.ts';

/**
 * The outbox: deliveries to the world outside (issue comments and labels, chat messages,
 * webhooks, and intake events waiting to be worked) kept in the store, so a forge or chat service
 * being down delays them but never loses them, never fails a job and never blocks one.
 *
 * Deliveries caused by a job's change are written in the same transaction as the change (the
 * store calls its `OutboxRoute` there); others are enqueued. A delivery worker takes due
 * deliveries under a short lease (so one crashed mid-delivery is taken again once the lease
 * expires), and settles each: delivered, retried later, or given up.
 */

/** What a delivery is, before it is stored. */
export interface OutboxItem {
  /** Who delivers it: `issue`, `telegram:<name>`, `webhook:<name>`, `intake:<source>`. */
  sink: string;
  /** What happened, in the sink's words (`queued`, `started`, `finished`, `webhook`, …). */
  event: string;
  /** The job it is about, or null. Deliveries of one sink about one job are delivered in order. */
  job_id: string | null;
  /** With a key, an item whose (sink, key) was enqueued before is dropped (a webhook delivery id). */
  key?: string | null;
  /** Sink-specific data, JSON-serialisable. */
  payload: Record<string, unknown>;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead';

export interface Delivery extends OutboxItem {
  id: number;
  key: string | null;
  state: DeliveryState;
  /** Delivery attempts made so far. */
  attempts: number;
  /** Not before this time (epoch ms, the store's clock). */
  next_at: number;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

/** A job's change, as the outbox route sees it. */
export interface JobChange {
  /** The job after the change. */
  job: Job;
  /** null when the job was just created. */
  from: JobStatus | null;
  to: JobStatus;
}

/** Decides which deliveries a job's change causes. Runs inside the store's transaction: pure,
 *  synchronous, and it must not throw. */
export type OutboxRoute = (change: JobChange) => OutboxItem[];

export type DeliveryOutcome =
  | { ok: true }
  /** `retry_at` (epoch ms) schedules another attempt; null gives up (state `dead`). */
  | { ok: false; error: string; retry_at: number | null };

export interface SinkSummary {
  sink: string;
  pending: number;
  dead: number;
  /** Creation time of the oldest pending delivery, or null. */
  oldest_pending_at: string | null;
  last_error: string | null;
}

export interface Outbox {
  /** Stores deliveries; returns, for each item, whether it was stored (false: its key was seen). */
  enqueue(items: OutboxItem[]): Promise<boolean[]>;
  /** Takes up to `limit` pending deliveries whose time has come, oldest first, leasing them to
   *  `owner` for `leaseMs` and counting an attempt on each. Only the oldest pending delivery of a
   *  (sink, job) is ever taken, so one job's deliveries to one sink happen in order. */
  take(owner: string, leaseMs: number, limit: number): Promise<Delivery[]>;
  /** Records a delivery's outcome; ignored when `owner` no longer holds its lease. */
  settle(id: number, owner: string, outcome: DeliveryOutcome): Promise<void>;
  /** A job's deliveries, oldest first. */
  deliveriesOf(jobId: string): Promise<Delivery[]>;
  /** Per sink: pending and dead counts, the oldest pending one, the last error (for /health). */
  summary(): Promise<SinkSummary[]>;
}
