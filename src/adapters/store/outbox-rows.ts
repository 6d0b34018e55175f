/** What the stores that hold deliveries as rows (memory, NATS) share: a new row, and the backlog. */
import type { Delivery, OutboxItem, SinkSummary } from '../../ports/outbox.ts';

/** A delivery as first stored: pending, due now, never tried. */
export function pendingDelivery(id: number, item: OutboxItem, now: number): Delivery {
  return {
    id,
    sink: item.sink,
    event: item.event,
    job_id: item.job_id,
    key: item.key ?? null,
    payload: structuredClone(item.payload),
    state: 'pending',
    attempts: 0,
    next_at: now,
    last_error: null,
    created_at: new Date(now).toISOString(),
    delivered_at: null,
  };
}

/** The outbox's backlog per sink, from its deliveries in id order (the stores that keep them in
 *  memory share this; SQLite asks SQL). Sinks with nothing pending or dead are left out. */
export function summarizeDeliveries(rows: Iterable<Delivery>): SinkSummary[] {
  const by = new Map<string, SinkSummary>();
  for (const r of rows) {
    if (r.state === 'delivered') continue;
    const s = by.get(r.sink) ?? {
      sink: r.sink,
      pending: 0,
      dead: 0,
      oldest_pending_at: null,
      last_error: null,
    };
    if (r.state === 'pending') {
      s.pending++;
      s.oldest_pending_at ??= r.created_at;
    } else s.dead++;
    if (r.last_error !== null) s.last_error = r.last_error;
    by.set(r.sink, s);
  }
  return [...by.values()].sort((a, b) => (a.sink < b.sink ? -1 : 1));
}
