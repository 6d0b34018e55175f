import { ForgeError } from '../domain/errors.ts';
import { failure } from '../domain/failure.ts';
import type { JobRecord } from '../domain/job.ts';
import type { JobStore } from '../ports/store.ts';
import type { EventBus } from './events.ts';

interface Deps {
  store: JobStore;
  bus: EventBus;
}

function notFound(id: string): ForgeError {
  return new ForgeError(
    'not_found',
    `no job with id ${id}; list jobs with GET /jobs or "forge list"`,
  );
}

/** Cancels a PENDING or RUNNING job. The runner of a running attempt hears the status event and
 *  kills the process tree; the attempt's output is kept. */
export async function cancelJob(
  deps: Deps,
  id: string,
  reason = 'cancelled on request',
): Promise<JobRecord> {
  const record = await deps.store.cancel(id, failure('cancelled', reason));
  if (!record) throw notFound(id);
  deps.bus.publish({
    type: 'job.status',
    jobId: id,
    status: 'CANCELLED',
    attempt: record.attempt_count,
    failure: record.failure,
  });
  return record;
}

/** Puts a FAILED or CANCELLED job back in the queue with a fresh retry budget. */
export async function retryJob(deps: Deps, id: string): Promise<JobRecord> {
  const record = await deps.store.retry(id);
  if (!record) throw notFound(id);
  deps.bus.publish({
    type: 'job.status',
    jobId: id,
    status: 'PENDING',
    attempt: record.attempt_count,
    failure: null,
  });
  deps.bus.publish({ type: 'job.created', jobId: id });
  return record;
}

export async function getJob(deps: Pick<Deps, 'store'>, id: string): Promise<JobRecord> {
  const record = await deps.store.get(id);
  if (!record) throw notFound(id);
  return record;
}
