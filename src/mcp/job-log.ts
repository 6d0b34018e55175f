/** An attempt's full log for MCP: a byte range (get_job_log) and the end (the log resource). */
import { getJob } from '../core/job-actions.ts';
import { ForgeError } from '../domain/errors.ts';
import type { JobRecord } from '../domain/job.ts';
import type { McpDeps } from './mcp-server.ts';

export const DEFAULT_LOG_BYTES = 64 * 1024;
export const MAX_LOG_BYTES = 1024 * 1024;
/** How much of the log the `forge://jobs/{id}/log` resource holds: its end. */
export const LOG_RESOURCE_BYTES = 256 * 1024;

function inRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ForgeError(
      'invalid_request',
      `${name}: "${value}" must be a whole number from ${min} to ${max}`,
    );
  return value;
}

function startedJob(record: JobRecord): JobRecord {
  if (record.attempts.length === 0)
    throw new ForgeError('not_found', `no log yet: job ${record.id} has not started an attempt`);
  return record;
}

/** Up to `limit` bytes from `offset`, as text, with the offset to read on from. */
export async function readLogRange(
  deps: McpDeps,
  args: {
    id: string;
    attempt?: number | undefined;
    offset?: number | undefined;
    limit?: number | undefined;
  },
): Promise<Record<string, unknown>> {
  const record = startedJob(await getJob(deps, args.id));
  const count = record.attempts.length;
  const attempt = inRange('attempt', args.attempt ?? count, 1, count);
  const offset = inRange('offset', args.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = inRange('limit', args.limit ?? DEFAULT_LOG_BYTES, 1, MAX_LOG_BYTES);
  const range = await deps.logs.read({ job_id: record.id, attempt }, offset, limit);
  const bytes = range?.bytes ?? Buffer.alloc(0);
  const size = range?.size ?? 0;
  return {
    attempt,
    offset,
    next_offset: offset + bytes.length,
    size,
    text: bytes.toString('utf8'),
  };
}

/** The end of the latest attempt's log (at most LOG_RESOURCE_BYTES), marked when cut. */
export async function latestLogText(deps: McpDeps, id: string): Promise<string> {
  const record = startedJob(await getJob(deps, id));
  const key = { job_id: record.id, attempt: record.attempts.length };
  const size = (await deps.logs.read(key, 0, 0))?.size ?? 0;
  const from = Math.max(0, size - LOG_RESOURCE_BYTES);
  const bytes = (await deps.logs.read(key, from, size - from))?.bytes ?? Buffer.alloc(0);
  const text = bytes.toString('utf8');
  return from > 0 ? `[first ${from} bytes left out; read them with get_job_log]\n${text}` : text;
}
