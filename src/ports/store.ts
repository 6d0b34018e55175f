import type { Failure } from '../domain/failure.ts';
import type { Attempt, Job, JobRecord, JobResult, JobSpec, JobStatus } from '../domain/job.ts';
import type { NextState } from '../domain/lifecycle.ts';
import type { Outbox } from './outbox.ts';
import type { StewardStore } from './steward-store.ts';

export type { NextState };

/**
 * The store's ports, shaped by what the core needs rather than by one backend. A backend
 * implements all of them over the same data (see `JobStore`); each use case depends only on the
 * part it uses. Every state change is atomic and guarded (compare-and-set), applies the domain's
 * transition table, and is judged on the store's own clock (injected in tests). All methods throw
 * ForgeError('unavailable') when the backend cannot be used; absence is `null`, never an exception.
 */

export interface ListFilter {
  statuses?: JobStatus[];
  /** A job matches when it carries every tag listed. */
  tags?: string[];
  /** Only the follow-ups of this job (jobs whose `parent_id` it is). */
  parent_id?: string;
  limit: number;
  offset: number;
}

/** Jobs as people and front doors see them: create, read, cancel, retry. */
export interface JobRecords {
  /** Creates a PENDING job. With an idempotency key already used, returns that job and
   *  `created: false` instead. */
  create(spec: JobSpec, idempotencyKey?: string): Promise<{ job: Job; created: boolean }>;
  get(id: string): Promise<JobRecord | null>;
  /** The newest job with this origin key (`originKey`), or null. */
  latestFromOrigin(key: string): Promise<Job | null>;
  /** Newest first. Items carry no attempts. */
  list(filter: ListFilter): Promise<{ jobs: Job[]; total: number }>;
  /** PENDING/RUNNING → CANCELLED. null for unknown; throws ForgeError('conflict') when terminal. */
  cancel(jobId: string, failure: Failure): Promise<JobRecord | null>;
  /** FAILED/CANCELLED → PENDING with a fresh retry budget. null for unknown; throws
   *  ForgeError('conflict') otherwise (also while the last attempt is still closing). */
  retry(jobId: string): Promise<JobRecord | null>;
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
  diff_stat?: string | null;
  /** Set on the job (whatever its status) when the attempt pushed work. */
  job_result?: JobResult | null;
}

/** An attempt left open by a runner that died; returned so its processes can be reaped. */
export interface AbandonedAttempt {
  job_id: string;
  attempt: number;
  sandbox: string;
  sandbox_ref: string | null;
}

/** One attempt a runner is running now, by job and attempt number. */
export interface AttemptKey {
  job_id: string;
  attempt: number;
}

/** The work queue as runners see it: claim under a lease, renew it, finish, recover. */
export interface JobQueue {
  /** Atomically takes the oldest PENDING job whose backoff has passed (FIFO by id), marks it
   *  RUNNING under `owner`'s lease (expiring `leaseMs` from now on the store's clock) and opens
   *  its next attempt. `null` when nothing is ready. */
  claim(owner: string, leaseMs: number, sandbox: string): Promise<Claim | null>;
  /** Extends the lease of `attempt`. False when the job is no longer RUNNING that attempt under
   *  this owner (cancelled, recovered): the runner must stop the attempt. */
  renew(key: AttemptKey, owner: string, leaseMs: number): Promise<boolean>;
  /** Closes the attempt and, when the job is still RUNNING it under `owner`'s lease, moves the
   *  job to `next` (checked against the transition table). A cancelled job keeps its status; a
   *  runner that lost the job cannot close its successor's attempt. Closing twice keeps the first
   *  result. Returns the record afterwards, or null for an unknown job. */
  finish(
    key: AttemptKey,
    owner: string,
    result: AttemptResult,
    next: NextState,
  ): Promise<JobRecord | null>;
  /**
   * Recovers jobs whose runner died: every RUNNING job whose lease expired on the store's clock,
   * or (with `foreignOwners`) whose lease is held by any owner other than `self`, has its open
   * attempt closed as `interrupted` and is retried or failed (`nextAfterAttempt`). Open attempts
   * of already-terminal jobs whose lease is dead are closed too. Leases `self` holds on the
   * attempts in `running` are never recovered, however late their renewal (an event-loop stall
   * or a clock jump must not make a job run twice). Returns the attempts it closed.
   */
  recover(opts: {
    self: string;
    running: readonly AttemptKey[];
    foreignOwners: boolean;
  }): Promise<AbandonedAttempt[]>;
  /**
   * Takes over, instead of interrupting, the RUNNING jobs whose lease is dead (as `recover`
   * judges it, with `running` empty) and whose current attempt is open, ran in `sandbox` and has
   * a sandbox handle: `self` holds their lease from now (`leaseMs`), nothing else changes (no
   * status change, nothing routed). For sandboxes whose attempts outlive the server that started
   * them (a worker pod that dials home), so a restarted server re-attaches to them; run it before
   * `recover`, which then leaves them alone. Oldest first.
   */
  adopt(opts: {
    self: string;
    foreignOwners: boolean;
    sandbox: string;
    leaseMs: number;
  }): Promise<AdoptedAttempt[]>;
}

/** A running attempt taken over by `adopt`. */
export interface AdoptedAttempt extends Claim {
  sandbox_ref: string;
}

/** What a running attempt has produced so far. */
export interface AttemptProgress {
  output: string;
  truncated: boolean;
  cost_usd: number | null;
  turns: number | null;
  session_id: string | null;
}

/** What a runner records about an open attempt while it runs. Both are ignored once the attempt
 *  closed. */
export interface AttemptProgressLog {
  /** Records how the attempt's processes can be found again (for reaping after a crash). */
  setSandboxRef(key: AttemptKey, ref: string): Promise<void>;
  /** Saves the open attempt's progress. The job's `cost_usd` counts an attempt's cost when the
   *  attempt closes (also when recovery closes it). */
  saveProgress(key: AttemptKey, progress: AttemptProgress): Promise<void>;
}

/**
 * Everything one backend provides. Every job status change (create, claim, finish, recover,
 * cancel, retry) calls the store's `OutboxRoute`, when it has one, inside that change's
 * transaction and stores the items it returns, so a change and what it must tell the world are
 * kept together or not at all. A route that throws rolls the whole change back (with every other
 * job the same call changed) and the call rejects with the route's error. A refused change
 * (a conflict, a runner that lost the job) routes nothing.
 */
export interface JobStore extends JobRecords, JobQueue, AttemptProgressLog, Outbox, StewardStore {
  /** Cheap liveness probe for /health; throws when the backend is unusable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The store's clock, in epoch milliseconds: the one clock leases are judged on. */
export type Clock = () => number;

export type { Attempt };
