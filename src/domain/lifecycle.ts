/**
 * The job lifecycle's rules, applied by every store and by the runner: which status changes are
 * allowed, and — the one place this is decided — whether a closed attempt's job is retried or
 * fails.
 */
import { isRetryable, type Failure } from './failure.ts';
import type { Job, JobStatus } from './job.ts';

/** Allowed status changes. RUNNING → PENDING is a retry (or a release on shutdown);
 *  FAILED/CANCELLED → PENDING is a manual retry. */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  PENDING: ['RUNNING', 'CANCELLED', 'FAILED'],
  RUNNING: ['PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  SUCCEEDED: [],
  FAILED: ['PENDING'],
  CANCELLED: ['PENDING'],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Where a job goes after its attempt closed. */
export type NextState =
  | { status: 'SUCCEEDED' }
  | { status: 'FAILED'; failure: Failure }
  /** Back in the queue, claimable `retry_after_ms` from now on the store's clock. */
  | { status: 'PENDING'; retry_after_ms: number };

type RetryBudget = Pick<Job, 'retry_base' | 'max_retries'>;

/** Attempts a job may make in all (since its last manual retry, plus those before it). */
export function attemptsAllowed(job: RetryBudget): number {
  return job.retry_base + job.max_retries + 1;
}

/** Whether a job may start another attempt after `attempt_count` attempts. */
export function hasRetriesLeft(job: RetryBudget & Pick<Job, 'attempt_count'>): boolean {
  return job.attempt_count < attemptsAllowed(job);
}

/**
 * The job's next state after attempt number `attempt` ended with `failure` (null: it succeeded).
 * A retryable failure goes back to PENDING (after `retryAfterMs`) while attempts are left; once
 * they are used up the job fails, and its failure says so and what to do.
 */
export function nextAfterAttempt(
  job: RetryBudget,
  attempt: number,
  failure: Failure | null,
  retryAfterMs: number,
): NextState {
  if (failure === null) return { status: 'SUCCEEDED' };
  if (!isRetryable(failure.category)) return { status: 'FAILED', failure };
  const allowed = attemptsAllowed(job);
  if (attempt < allowed) return { status: 'PENDING', retry_after_ms: retryAfterMs };
  return {
    status: 'FAILED',
    failure: {
      category: failure.category,
      message: `${failure.message}, and no retries are left (${attempt} of ${allowed} attempts used); retry the job to run it again`,
    },
  };
}
