import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { getJob } from '../../core/job-actions.ts';
import type { EventBus } from '../../core/events.ts';
import { isTerminal, type JobRecord } from '../../domain/job.ts';
import type { AttemptLogs } from '../../ports/logs.ts';
import type { HttpDeps } from '../app.ts';
import { LineCutter } from '../log-lines.ts';
import { metricsOf } from '../metrics.ts';

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

/** The longest line sent whole; a longer one goes in pieces. With one chunk of the log, this is
 *  all the memory a client costs, however far behind it is. */
export const MAX_EVENT_LINE_BYTES = 256 * 1024;
export const KEEP_ALIVE_MS = 15_000;

/**
 * GET /jobs/{id}/events — Server-Sent Events: `status` and `output` events, each with the id
 * `attempt:offset` a client resumes from (`Last-Event-ID`). Output is followed in the attempts'
 * logs from the client's cursor at the client's pace: a write waits until the client (through
 * the socket) takes it, and only then is the next line read, so no client holds a queue; one that
 * falls behind is simply served later from the log. The stream ends once the job is terminal and
 * its logs are sent, or, when the store or the logs fail, at once (the client resumes).
 */
export function eventRoutes(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get('/jobs/:id/events', async (c) => {
    const initial = await getJob(deps, c.req.param('id'));
    const start = parseCursor(c.req.header('last-event-id') ?? c.req.query('last_event_id'));
    const metrics = deps.metrics ?? metricsOf(deps);
    return streamSSE(c, async (sse) => {
      metrics?.sseOpened();
      const gone = new AbortController();
      sse.onAbort(() => gone.abort());
      const news = watchJob(deps.bus, initial.id);
      try {
        await streamJob(deps, sse, initial, start, news, gone.signal);
      } catch (err) {
        // The stream ends; the client resumes from its last event's id.
        deps.logger.error({ err, jobId: initial.id }, 'live stream failed');
      } finally {
        news.stop();
        gone.abort(); // ends a follow still open
        metrics?.sseClosed();
      }
    });
  });
  return app;
}

async function streamJob(
  deps: HttpDeps,
  sse: SSEStreamingApi,
  initial: JobRecord,
  start: Cursor,
  news: JobNews,
  signal: AbortSignal,
): Promise<void> {
  let record = initial;
  let cursor = start;
  let said = '';
  while (!signal.aborted) {
    news.seen();
    record = (await deps.store.get(record.id)) ?? record;
    const status = `${record.status}/${record.attempt_count}`;
    if (status !== said) {
      await sendStatus(sse, record, cursor);
      said = status;
    }
    const attempt = record.attempts.find((a) => a.number >= cursor.attempt);
    if (attempt) {
      if (attempt.number > cursor.attempt) cursor = { attempt: attempt.number, offset: 0 };
      cursor = await sendLog(sse, deps.logs, record.id, cursor, signal);
      // The record was read before the log: if it said the attempt was over, so was its log.
      const later = record.attempts.find((a) => a.number > attempt.number);
      if (attempt.finished_at !== null && later) {
        cursor = { attempt: later.number, offset: 0 };
        continue;
      }
    }
    if (finished(record) || signal.aborted) return;
    if ((await news.next(signal, KEEP_ALIVE_MS)) === 'quiet') await keepAlive(sse);
  }
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

async function keepAlive(sse: SSEStreamingApi): Promise<void> {
  if (!sse.aborted) await sse.write(': keep-alive\n\n');
}

/**
 * Sends the attempt's log from the cursor, line by line, until the log ends (it is closed, or not
 * open yet) or the client leaves; returns the cursor after the last line sent. A piece after the
 * last newline is sent once the log has ended.
 */
async function sendLog(
  sse: SSEStreamingApi,
  logs: AttemptLogs,
  jobId: string,
  from: Cursor,
  signal: AbortSignal,
): Promise<Cursor> {
  const { attempt } = from;
  let cursor = from;
  const lines = new LineCutter(MAX_EVENT_LINE_BYTES);
  const send = async (text: string, end: number): Promise<void> => {
    cursor = { attempt, offset: end };
    await sse.writeSSE({
      event: 'output',
      id: `${attempt}:${end}`,
      data: JSON.stringify({ attempt, line: text }),
    });
  };
  const followed = logs.follow({ job_id: jobId, attempt }, from.offset, signal);
  const chunks = followed[Symbol.asyncIterator]();
  for (;;) {
    const next = await withKeepAlive(sse, chunks.next());
    if (next.done) break;
    for (const line of lines.push(next.value)) await send(line.text, line.end);
  }
  const rest = signal.aborted ? null : lines.end();
  if (rest) await send(rest.text, rest.end);
  return cursor;
}

/** Waits for `pending`, sending a keep-alive comment whenever the wait passes KEEP_ALIVE_MS. */
async function withKeepAlive<T>(sse: SSEStreamingApi, pending: Promise<T>): Promise<T> {
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<'quiet'>((resolve) => {
      timer = setTimeout(() => resolve('quiet'), KEEP_ALIVE_MS);
    });
    const got = await Promise.race([pending.then((value) => ({ value })), quiet]);
    clearTimeout(timer);
    if (got !== 'quiet') return got.value;
    await keepAlive(sse);
  }
}

/** Whether anything happened to one job since `seen()`: a flag and one waiter, never a queue. */
interface JobNews {
  seen(): void;
  /** Resolves 'news' at once if something happened since `seen()`, else on the next thing, or
   *  'quiet' after `ms`; on abort, at once. */
  next(signal: AbortSignal, ms: number): Promise<'news' | 'quiet'>;
  stop(): void;
}

function watchJob(bus: EventBus, jobId: string): JobNews {
  let news = true;
  let wake: (() => void) | null = null;
  const stop = bus.subscribe((event) => {
    if (event.type === 'job.created' || event.jobId !== jobId) return;
    news = true;
    wake?.();
  });
  return {
    seen: () => (news = false),
    next: (signal, ms) => {
      if (news || signal.aborted) return Promise.resolve('news');
      return new Promise((resolve) => {
        const done = (why: 'news' | 'quiet'): void => {
          wake = null;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(why);
        };
        const onAbort = (): void => done('news');
        const timer = setTimeout(() => done('quiet'), ms);
        wake = () => done('news');
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    stop,
  };
}
