import type { Logger } from 'pino';
import type { Sandbox } from '../ports/sandbox.ts';
import type { AttemptKey, JobQueue, JobRecords } from '../ports/store.ts';
import type { EventBus } from './events.ts';

/**
 * Finds jobs whose runner died (lease expired, or — at start-up with an exclusive data dir — any
 * other owner; never an attempt this runner still runs), kills what is left of their processes, and lets the store close their attempts as
 * `interrupted` and retry or fail them. Run from the runner's loop, so nothing is claimed between
 * the store's recovery and the reaping of the old process.
 */
export async function recoverAbandoned(
  deps: {
    store: JobQueue & Pick<JobRecords, 'get'>;
    sandbox: Sandbox;
    bus: EventBus;
    logger: Logger;
    owner: string;
  },
  opts: { foreignOwners: boolean; running: readonly AttemptKey[] },
): Promise<number> {
  const abandoned = await deps.store.recover({ self: deps.owner, ...opts });
  for (const item of abandoned) {
    if (item.sandbox_ref)
      await deps.sandbox.reap(item.sandbox_ref, { jobId: item.job_id, attempt: item.attempt });
    const record = await deps.store.get(item.job_id);
    if (record) {
      deps.bus.publish({
        type: 'job.status',
        jobId: record.id,
        status: record.status,
        attempt: item.attempt,
        failure: record.failure,
      });
    }
    deps.logger.warn(
      { jobId: item.job_id, attempt: item.attempt, status: record?.status },
      'recovered interrupted attempt',
    );
  }
  return abandoned.length;
}

/** Asks the sandbox to remove what it holds for attempts the store no longer has open. */
export async function collectOrphans(deps: {
  store: Pick<JobRecords, 'get'>;
  sandbox: Sandbox;
  logger: Logger;
}): Promise<number> {
  if (!deps.sandbox.collectOrphans) return 0;
  const removed = await deps.sandbox.collectOrphans(async ({ jobId, attempt }) => {
    const record = await deps.store.get(jobId);
    return !!record?.attempts.some((a) => a.number === attempt && a.finished_at === null);
  });
  if (removed > 0) deps.logger.info({ removed }, 'removed sandbox leftovers of finished attempts');
  return removed;
}
