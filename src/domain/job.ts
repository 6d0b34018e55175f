/**
 * Glossary (see DESIGN.md):
 * - task: what a person asks for, in words.
 * - job: one task as Forge tracks it — id (ULID), status, settings, attempts.
 * - attempt: one run of the job's agent in one sandbox; a retry is a new attempt.
 * - profile: a named bundle of settings for a kind of work.
 */
import type { Failure } from './failure.ts';

export const JOB_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

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

/** What a submitter chose, after defaults and profile limits were applied. */
export interface JobSpec {
  task: string;
  agent: string;
  profile: string | null;
  max_retries: number;
  budget_usd: number | null;
  tags: string[];
  source: string;
  inactivity_timeout_ms: number;
  max_duration_ms: number;
}

export interface Job extends JobSpec {
  id: string;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  /** Bumped on every change; the store's compare-and-set guard. */
  revision: number;
  cost_usd: number;
  failure: Failure | null;
  /** Attempts made before the last manual retry; attempts allowed = retry_base + max_retries + 1. */
  retry_base: number;
  /** Number of attempts started so far. */
  attempt_count: number;
}

export interface Attempt {
  number: number;
  sandbox: string;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  /** Last 32 KiB of merged stdout+stderr (UTF-8 safe). */
  output: string;
  /** True exactly when bytes were dropped from the front of `output`. */
  truncated: boolean;
  failure: Failure | null;
  cost_usd: number | null;
  turns: number | null;
  session_id: string | null;
  summary: string | null;
}

export interface JobRecord extends Job {
  attempts: Attempt[];
}

/** Whether a job may start another attempt after `attempt_count` attempts. */
export function hasRetriesLeft(job: Pick<Job, 'attempt_count' | 'retry_base' | 'max_retries'>): boolean {
  return job.attempt_count < job.retry_base + job.max_retries + 1;
}

export const OUTPUT_TAIL_BYTES = 32 * 1024;
