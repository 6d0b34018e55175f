import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { getJob } from '../../core/job-actions.ts';
import { isTerminal, type JobRecord } from '../../domain/job.ts';
import type { AttemptLogs } from '../../ports/logs.ts';
import type { HttpDeps } from '../app.ts';

/** A position in a job's output: attempt number and byte offset in that attempt's log. */
interface Cursor {
  attempt: number;
  offset: number;
}

function parseCursor(raw: string | undefined): Cursor {
  const match = /^(\d+):(\d+)$/.exec(raw?.trim() ?? '');
  return match
    ? { attempt: Number(match[1]), offset: Number(match[2]) }
    : { attempt: 1, offset: 0 };
}

/** All attempts closed and the job terminal: nothing more will be said. */
const finished = (r: JobRecord): boolean =>
  isTerminal(r.status) && r.attempts.every((a) => a.finished_at !== null);

/** How much of a log one read takes; a line longer than this is sent in pieces. */
const READ_BYTES = 256 * 1024;
const KEEP_ALIVE_MS = 15_000;

/**
 * GET /jobs/{id}/events — Server-Sent Events: `status` and `output` events. Output is read from
 * the attempts' logs from the client's cursor (`Last-Event-ID`, `attempt:offset`) on; events on
 * the bus only wake the stream up to read again. So a client holds no queue: one that reads
 * slowly is simply served later from the log, with memory bounded by one read, and a client that
 * reconnects resumes exactly at its cursor. The stream ends once the job is terminal and its
 * attempts are closed.
 */
export function eventRoutes(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get('/jobs/:id/events', async (c) => {
    const initial = await getJob(deps, c.req.param('id'));
    const start = parseCursor(c.req.header('last-event-id') ?? c.req.query('last_event_id'));
    return streamSSE(c, async (sse) => {
      let dirty = true;
      let wake: () => void = () => {};
      const unsubscribe = deps.bus.subscribe((event) => {
        if (event.type === 'job.created' || event.jobId !== initial.id) return;
        dirty = true;
        wake();
      });
      const closed = new Promise<void>((resolve) => sse.onAbort(resolve));
      try {
        let record = initial;
        let cursor = start;
        let sent = '';
        while (!sse.aborted) {
          dirty = false;
          record = (await deps.store.get(initial.id)) ?? record;
          const status = `${record.status}/${record.attempt_count}`;
          if (status !== sent) {
            await sendStatus(sse, record, cursor);
            sent = status;
          }
          cursor = await sendOutput(sse, deps.logs, record, cursor);
          if (finished(record)) break;
          if (!dirty) await idle(sse, closed, (resolve) => (wake = resolve));
        }
      } finally {
        unsubscribe();
      }
    });
  });
  return app;
}

/** Waits for a wake-up, the client leaving, or the keep-alive interval (then sends a comment). */
async function idle(
  sse: SSEStreamingApi,
  closed: Promise<void>,
  setWake: (resolve: () => void) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const woken = new Promise<void>((resolve) => setWake(resolve));
  const quiet = new Promise<'quiet'>(
    (resolve) => (timer = setTimeout(() => resolve('quiet'), KEEP_ALIVE_MS)),
  );
  const why = await Promise.race([woken, closed, quiet]);
  clearTimeout(timer);
  if (why === 'quiet' && !sse.aborted) await sse.write(': keep-alive\n\n');
}

async function sendStatus(sse: SSEStreamingApi, record: JobRecord, cursor: Cursor): Promise<void> {
  await sse.writeSSE({
    event: 'status',
    id: `${cursor.attempt}:${cursor.offset}`,
    data: JSON.stringify({
      status: record.status,
      attempt: record.attempt_count,
      ...(record.failure ? { failure: record.failure } : {}),
    }),
  });
}

/** Sends every whole line the logs hold after `from`, attempt by attempt; returns the cursor
 *  after the last line sent. An attempt's log is read to its end before the next one starts,
 *  and a later attempt is only begun once the earlier one is closed. */
async function sendOutput(
  sse: SSEStreamingApi,
  logs: AttemptLogs,
  record: JobRecord,
  from: Cursor,
): Promise<Cursor> {
  let cursor = from;
  for (const attempt of record.attempts) {
    if (attempt.number < cursor.attempt) continue;
    if (attempt.number > cursor.attempt) cursor = { attempt: attempt.number, offset: 0 };
    const key = { job_id: record.id, attempt: attempt.number };
    for (;;) {
      const range = await logs.read(key, cursor.offset, READ_BYTES);
      if (!range || range.bytes.length === 0 || sse.aborted) break;
      const bytes = range.bytes;
      // Whole lines only; a piece without a newline waits, unless it fills a whole read.
      const end = bytes.length === READ_BYTES ? bytes.length : bytes.lastIndexOf(10) + 1;
      if (end === 0) break;
      const base = cursor.offset;
      let at = 0;
      while (at < end) {
        const nl = bytes.indexOf(10, at);
        const lineEnd = nl === -1 || nl >= end ? end : nl;
        const line = bytes.toString('utf8', at, lineEnd);
        at = lineEnd === end ? end : lineEnd + 1;
        cursor = { attempt: attempt.number, offset: base + at };
        await sse.writeSSE({
          event: 'output',
          id: `${cursor.attempt}:${cursor.offset}`,
          data: JSON.stringify({ attempt: attempt.number, line }),
        });
      }
    }
    if (attempt.finished_at === null) break;
  }
  return cursor;
}
