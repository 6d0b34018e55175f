import { formatDuration } from '../domain/duration.ts';
import { failure, type Failure } from '../domain/failure.ts';
import type { Job } from '../domain/job.ts';

/** Why Forge stopped an attempt from the outside (the reason its `stop` controller aborts with). */
export type StopReason =
  'cancelled' | 'shutdown' | 'lease_lost' | 'max_duration' | 'inactivity' | 'budget';

/** Why Forge stopped an attempt, as the failure a person reads. */
export function stopFailure(reason: StopReason, job: Job): Failure {
  switch (reason) {
    case 'cancelled':
      return failure('cancelled', 'cancelled on request');
    case 'shutdown':
      return failure(
        'interrupted',
        'the Forge server shut down while this attempt ran; it will be retried',
      );
    case 'lease_lost':
      return failure(
        'interrupted',
        'this server lost its lease on the job (cancelled or recovered elsewhere)',
      );
    case 'max_duration':
      return failure(
        'max_duration',
        `the attempt ran longer than max_duration (${formatDuration(job.max_duration_ms)}) and was stopped; raise max_duration or split the task`,
      );
    case 'inactivity':
      return failure(
        'inactivity',
        `the agent printed nothing for ${formatDuration(job.inactivity_timeout_ms)} (inactivity_timeout) and was stopped`,
      );
    case 'budget':
      return failure(
        'budget_exceeded',
        `the job spent more than its budget of $${job.budget_usd ?? 0}; raise budget_usd to continue`,
      );
  }
}

/** How the runner steers one attempt from the outside. */
export interface AttemptControl {
  /** Stops the agent; aborted with a StopReason. */
  stop: AbortController;
  /** Aborted when the job is no longer this attempt's to complete (cancelled, or its lease lost):
   *  the work is still committed and pushed, so nothing is lost, but no pull request is opened or
   *  updated. Separate from `stop` because a stop for another reason must not hide a later cancel. */
  withdrawn: AbortController;
}
