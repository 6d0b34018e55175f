import { Hono } from 'hono';
import { ForgeError } from '../../domain/errors.ts';
import { JOB_STATUSES, type JobStatus } from '../../domain/job.ts';
import { followUpJob } from '../../core/follow-up.ts';
import { cancelJob, getJob, retryJob } from '../../core/job-actions.ts';
import { submitJob } from '../../core/submit-job.ts';
import type { AttemptKey, ListFilter } from '../../ports/store.ts';
import type { HttpDeps } from '../app.ts';
import { jobRecord, jobSummary } from '../serialize.ts';

function intParam(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ForgeError(
      'invalid_request',
      `${name}: "${raw}" must be a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

/** The most values a list filter takes, and the longest value: a query is untrusted input. */
export const MAX_FILTER_VALUES = 20;
export const MAX_FILTER_CHARS = 100;

function listParam(name: string, raw: string | undefined): string[] {
  const values = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (values.length > MAX_FILTER_VALUES) {
    throw new ForgeError(
      'invalid_request',
      `${name}: ${values.length} values is over the limit of ${MAX_FILTER_VALUES}; filter on fewer`,
    );
  }
  const long = values.find((v) => v.length > MAX_FILTER_CHARS);
  if (long !== undefined) {
    throw new ForgeError(
      'invalid_request',
      `${name}: a value of ${long.length} characters is over the limit of ${MAX_FILTER_CHARS}`,
    );
  }
  return values;
}

export function parseListQuery(query: Record<string, string | undefined>): ListFilter {
  const statuses = listParam('status', query.status).map((s) => {
    const upper = s.toUpperCase();
    if (!JOB_STATUSES.includes(upper as JobStatus)) {
      throw new ForgeError(
        'invalid_request',
        `status: "${s}" is not a job status; use ${JOB_STATUSES.join(', ')}`,
      );
    }
    return upper as JobStatus;
  });
  const tags = listParam('tags', query.tags);
  const parent = query.parent_id?.trim();
  if (parent !== undefined && (parent.length === 0 || parent.length > MAX_FILTER_CHARS)) {
    throw new ForgeError('invalid_request', 'parent_id: give one job id');
  }
  return {
    ...(statuses.length ? { statuses } : {}),
    ...(tags.length ? { tags } : {}),
    ...(parent ? { parent_id: parent } : {}),
    limit: intParam('limit', query.limit, 20, 1, 100),
    offset: intParam('offset', query.offset, 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

function readJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ForgeError(
      'invalid_request',
      'request body is not valid JSON; send {"task": "..."} with Content-Type: application/json',
    );
  }
}

export function jobRoutes(deps: HttpDeps): Hono {
  const app = new Hono();

  app.post('/jobs', async (c) => {
    const body = readJsonBody(await c.req.text());
    const { job, created } = await submitJob(deps, body, c.req.header('idempotency-key'));
    return c.json(
      { id: job.id, status: created ? 'PENDING' : job.status, created_at: job.created_at },
      created ? 202 : 200,
    );
  });

  app.get('/jobs', async (c) => {
    const { jobs, total } = await deps.store.list(parseListQuery(c.req.query()));
    return c.json({ jobs: jobs.map(jobSummary), total });
  });

  app.get('/jobs/:id', async (c) => {
    const record = await getJob(deps, c.req.param('id'));
    // The chain onwards: the jobs that follow this one up, oldest first.
    const { jobs } = await deps.store.list({ parent_id: record.id, limit: 100, offset: 0 });
    return c.json({
      ...jobRecord(record),
      ...(jobs.length ? { follow_ups: jobs.map((j) => j.id).reverse() } : {}),
    });
  });

  app.post('/jobs/:id/cancel', async (c) =>
    c.json(jobRecord(await cancelJob(deps, c.req.param('id')))),
  );

  app.post('/jobs/:id/retry', async (c) =>
    c.json(jobRecord(await retryJob(deps, c.req.param('id')))),
  );

  /** The next piece of work on a finished job's branch (core/follow-up.ts). */
  app.post('/jobs/:id/follow-up', async (c) => {
    const body = readJsonBody(await c.req.text());
    const job = await followUpJob(deps, c.req.param('id'), body);
    return c.json(
      { id: job.id, status: job.status, created_at: job.created_at, parent_id: job.parent_id },
      202,
    );
  });

  /** What Forge told the world about the job (issue comments, chat, webhooks), and how it went. */
  app.get('/jobs/:id/deliveries', async (c) => {
    const record = await getJob(deps, c.req.param('id'));
    const deliveries = await deps.store.deliveriesOf(record.id);
    return c.json({
      deliveries: deliveries.map((d) => ({
        id: d.id,
        sink: d.sink,
        event: d.event,
        state: d.state,
        attempts: d.attempts,
        last_error: d.last_error,
        created_at: d.created_at,
        delivered_at: d.delivered_at,
        ...(d.state === 'pending' ? { next_at: new Date(d.next_at).toISOString() } : {}),
      })),
    });
  });

  app.get('/jobs/:id/output', async (c) => {
    const record = await getJob(deps, c.req.param('id'));
    const latest = record.attempts.at(-1);
    if (!latest)
      throw new ForgeError(
        'not_found',
        `no output available: job ${record.id} has not started an attempt yet (status ${record.status})`,
      );
    return c.json({
      attempt: latest.number,
      status: record.status,
      ...(latest.exit_code !== null ? { exit_code: latest.exit_code } : {}),
      output: latest.output,
      truncated: latest.truncated,
    });
  });

  app.get('/jobs/:id/log', async (c) => {
    const record = await getJob(deps, c.req.param('id'));
    if (record.attempts.length === 0)
      throw new ForgeError('not_found', `no log yet: job ${record.id} has not started an attempt`);
    const attempt = intParam(
      'attempt',
      c.req.query('attempt'),
      record.attempts.length,
      1,
      record.attempts.length,
    );
    const offset = intParam('offset', c.req.query('offset'), 0, 0, Number.MAX_SAFE_INTEGER);
    const key = { job_id: record.id, attempt };
    const first = await deps.logs.read(key, offset, LOG_CHUNK_BYTES);
    const size = first?.size ?? 0;
    const headers = {
      'content-type': 'text/plain; charset=utf-8',
      'x-forge-log-size': String(size),
      'x-forge-attempt': String(attempt),
    };
    if (!first || offset >= size) return c.body('', 200, headers);
    return c.body(logStream(deps, key, offset, size, first.bytes), 200, headers);
  });

  return app;
}

/** How much of a log one read takes: a log of any size is sent in pieces of this. */
const LOG_CHUNK_BYTES = 1024 * 1024;

/** The log from `offset` to `size` (its size when the request came), read piece by piece as the
 *  client takes it. */
function logStream(
  deps: HttpDeps,
  key: AttemptKey,
  offset: number,
  size: number,
  first: Buffer,
): ReadableStream<Uint8Array> {
  let at = offset;
  let next: Buffer | null = first;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const piece =
        next ?? (await deps.logs.read(key, at, Math.min(LOG_CHUNK_BYTES, size - at)))?.bytes;
      next = null;
      if (!piece || piece.length === 0) return controller.close();
      const bytes = piece.subarray(0, Math.max(0, size - at));
      at += bytes.length;
      controller.enqueue(bytes);
      if (at >= size) controller.close();
    },
  });
}
