import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { ForgeError } from '../../domain/errors.ts';
import { JOB_STATUSES, type JobStatus } from '../../domain/job.ts';
import { cancelJob, getJob, retryJob } from '../../core/job-actions.ts';
import { attemptLogPath } from '../../core/run-attempt.ts';
import { submitJob } from '../../core/submit-job.ts';
import type { ListFilter } from '../../ports/store.ts';
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

function listParam(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseListQuery(query: Record<string, string | undefined>): ListFilter {
  const statuses = listParam(query.status).map((s) => {
    const upper = s.toUpperCase();
    if (!JOB_STATUSES.includes(upper as JobStatus)) {
      throw new ForgeError(
        'invalid_request',
        `status: "${s}" is not a job status; use ${JOB_STATUSES.join(', ')}`,
      );
    }
    return upper as JobStatus;
  });
  const tags = listParam(query.tags);
  return {
    ...(statuses.length ? { statuses } : {}),
    ...(tags.length ? { tags } : {}),
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

  app.get('/jobs/:id', async (c) => c.json(jobRecord(await getJob(deps, c.req.param('id')))));

  app.post('/jobs/:id/cancel', async (c) =>
    c.json(jobRecord(await cancelJob(deps, c.req.param('id')))),
  );

  app.post('/jobs/:id/retry', async (c) =>
    c.json(jobRecord(await retryJob(deps, c.req.param('id')))),
  );

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
    const path = attemptLogPath(deps.dataDir, record.id, attempt);
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    const headers = {
      'content-type': 'text/plain; charset=utf-8',
      'x-forge-log-size': String(size),
      'x-forge-attempt': String(attempt),
    };
    if (offset >= size) return c.body('', 200, headers);
    const stream = Readable.toWeb(
      createReadStream(path, { start: offset, end: size - 1 }),
    ) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, headers);
  });

  return app;
}
