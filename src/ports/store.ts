import type { Failure } from '../domain/failure.ts';
import type { Attempt, Job, JobRecord, JobResult, JobSpec, JobStatus } from '../domain/job.ts';

export interface ListFilter {
  statuses?: JobStatus[];
  /** A job matches when it carries every tag listed. */
  tags?: string[];
  limit: number;
  offset: number;
}

export interface Claim {
  job: Job;
  attempt: number;
}

/** What closing an attempt records. */
export interface AttemptResult {
  exit_code: number | null;
  output: string;
  truncated: boolean;
  failure: Failure | null;
  cost_usd?: number | null;
  turns?: number | null;
  session_id?: string | null;
  summary?: string | null;
  /** Set on the job (whatever its status) when the attempt pushed work. */
  job_result?: JobResult | null;
}

/** What a running attempt has produced so far. */
export interface AttemptProgress {
  output: string;
  truncated: boolean;
  cost_usd: number | null;
  turns: number | null;
  session_id: string | null;
}

/** Where the job goes after its attempt closed. Applied only while the job is still RUNNING under
 *  the caller's lease; otherwise (cancelled meanwhile, lease lost) only the attempt is closed. */
export type NextState =
  | { status: 'SUCCEEDED' }
  | { status: 'FAILED'; failure: Failure }
  | { status: 'PENDING'; not_before: number };

/** An attempt left open by a runner that died; returned so its process can be reaped. */
export interface AbandonedAttempt {
  job_id: string;
  attempt: number;
  sandbox: string;
  sandbox_ref: string | null;
}

export interface StoredEvent {
  seq: number;
  job_id: string;
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/**
 * Durable jobs, attempts and an append-only event log, with a queue on top.
 * Every state change is atomic and guarded (compare-and-set on status): a cancel can never be
 * overwritten by a late runner write. All methods throw ForgeError('unavailable') when the backend
 * cannot be used; absence is `null`, never an exception.
 */
export interface JobStore {
  /** Creates a PENDING job. With an idempotency key already used, returns that job and
   *  `created: false` instead. */
  create(spec: JobSpec, idempotencyKey?: string): Promise<{ job: Job; created: boolean }>;
  get(id: string): Promise<JobRecord | null>;
  /** Newest first. Items carry no attempts. */
  list(filter: ListFilter): Promise<{ jobs: Job[]; total: number }>;
  /** Atomically takes the oldest PENDING job whose backoff has passed (FIFO by id), marks it
   *  RUNNING under `owner`'s lease and opens its next attempt. `null` when nothing is ready. */
  claim(owner: string, leaseMs: number, sandbox: string, now?: number): Promise<Claim | null>;
  /** Extends the lease. False when the job is no longer RUNNING under this owner (cancelled,
   *  recovered): the runner must stop the attempt. */
  renewLease(jobId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Records how the attempt's process can be found again (for reaping after a crash). */
  setSandboxRef(jobId: string, attempt: number, ref: string): Promise<void>;
  /** Saves the open attempt's progress while it runs (ignored once it closed). The job's
   *  `cost_usd` counts an attempt's cost when the attempt closes (also when recovery closes it). */
  saveProgress(jobId: string, attempt: number, progress: AttemptProgress): Promise<void>;
  /** Closes an open attempt and, when the job is still RUNNING under `owner`, moves it to `next`.
   *  Returns the record afterwards, or null for an unknown job. */
  finishAttempt(
    jobId: string,
    owner: string,
    attempt: number,
    result: AttemptResult,
    next: NextState,
  ): Promise<JobRecord | null>;
  /** PENDING/RUNNING → CANCELLED. null for unknown; throws ForgeError('conflict') when terminal. */
  cancel(jobId: string, failure: Failure): Promise<JobRecord | null>;
  /** FAILED/CANCELLED → PENDING with a fresh retry budget. null for unknown; throws
   *  ForgeError('conflict') otherwise. */
  retry(jobId: string): Promise<JobRecord | null>;
  /**
   * Recovers jobs whose runner died: every RUNNING job whose lease expired before `now`, or
   * (with `foreignOwners`) whose lease is held by any owner other than `self`, has its open attempt
   * closed as `interrupted` and goes back to PENDING when retries are left, else FAILED. Open
   * attempts of already-terminal jobs are closed too. Returns the attempts it closed.
   */
  recover(opts: { now: number; self: string; foreignOwners: boolean }): Promise<AbandonedAttempt[]>;
  /** Appends to the job's event log (e.g. `pr.opened`). */
  appendEvent(jobId: string, type: string, data: Record<string, unknown>): Promise<void>;
  /** The job's event log, oldest first. */
  events(jobId: string): Promise<StoredEvent[]>;
  /** Cheap liveness probe for /health; throws when the backend is unusable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { Attempt };
