import { open } from 'node:fs/promises';
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { ForgeEvent } from '../../core/events.ts';
import { getJob } from '../../core/job-actions.ts';
import { LineSplitter } from '../../core/line-splitter.ts';
import { attemptLogPath } from '../../core/run-attempt.ts';
import { isTerminal, type JobRecord } from '../../domain/job.ts';
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

const after = (a: Cursor, b: Cursor): boolean =>
  a.attempt > b.attempt || (a.attempt === b.attempt && a.offset > b.offset);

/** All attempts closed and the job terminal: nothing more will be said. */
const finished = (r: JobRecord): boolean =>
  isTerminal(r.status) && r.attempts.every((a) => a.finished_at !== null);

/**
 * GET /jobs/{id}/events — Server-Sent Events: `status` and `output` events. Output comes from the
 * attempts' log files first (from `Last-Event-ID`, an `attempt:offset` cursor), then live from the
 * bus; the stream ends once the job is terminal and its attempts are closed.
 */
export function eventRoutes(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get('/jobs/:id/events', async (c) => {
    const initial = await getJob(deps, c.req.param('id'));
    const start = parseCursor(c.req.header('last-event-id') ?? c.req.query('last_event_id'));
    return streamSSE(c, async (sse) => {
      const queue: ForgeEvent[] = [];
      let notify: (() => void) | null = null;
      const unsubscribe = deps.bus.subscribe((event) => {
        if (event.type === 'job.created' || event.jobId !== initial.id) return;
        queue.push(event);
        notify?.();
      });
      const closed = new Promise<void>((resolve) => sse.onAbort(resolve));
      try {
        let record = (await deps.store.get(initial.id)) ?? initial;
        let cursor = start;
        await sendStatus(sse, record, cursor);
        cursor = await replay(sse, deps.dataDir, record, cursor);
        while (!sse.aborted && !finished(record)) {
          if (queue.length === 0) {
            const wake = new Promise<void>((resolve) => (notify = resolve));
            const keepAlive = setTimeout(() => notify?.(), 15_000);
            await Promise.race([wake, closed]);
            clearTimeout(keepAlive);
            notify = null;
            if (queue.length === 0 && !sse.aborted) await sse.write(': keep-alive\n\n');
          }
          for (const event of queue.splice(0)) {
            if (event.type === 'attempt.output') {
              const at = { attempt: event.attempt, offset: event.offset };
              if (!after(at, cursor)) continue;
              cursor = at;
              await sse.writeSSE({
                event: 'output',
                id: `${at.attempt}:${at.offset}`,
                data: JSON.stringify({ attempt: event.attempt, line: event.line }),
              });
            } else if (event.type === 'job.status') {
              record = (await deps.store.get(initial.id)) ?? record;
              await sendStatus(sse, record, cursor);
            }
          }
        }
      } finally {
        unsubscribe();
      }
    });
  });
  return app;
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

/** Sends what the log files hold after `from`; returns the cursor after the last line sent. */
async function replay(
  sse: SSEStreamingApi,
  dataDir: string,
  record: JobRecord,
  from: Cursor,
): Promise<Cursor> {
  let cursor = from;
  for (const attempt of record.attempts) {
    if (attempt.number < from.attempt) continue;
    let offset = attempt.number === from.attempt ? from.offset : 0;
    const file = await open(attemptLogPath(dataDir, record.id, attempt.number)).catch(() => null);
    if (!file) continue;
    try {
      const splitter = new LineSplitter(Number.MAX_SAFE_INTEGER);
      for await (const chunk of file.createReadStream({ start: offset, autoClose: false })) {
        for (const line of splitter.push(chunk as Buffer)) {
          offset += Buffer.byteLength(line) + 1;
          cursor = { attempt: attempt.number, offset };
          await sse.writeSSE({
            event: 'output',
            id: `${attempt.number}:${offset}`,
            data: JSON.stringify({ attempt: attempt.number, line }),
          });
        }
      }
    } finally {
      await file.close();
    }
  }
  return cursor;
}
