/**
 * The job store on one SQLite file (node:sqlite). Every multi-step change runs in one
 * `BEGIN IMMEDIATE` transaction, so stores sharing the file serialise on the write lock instead of
 * failing halfway; each status change is also guarded in SQL (status, revision) so a late runner
 * write can never undo a cancel. The events table and the outbox deliveries a change causes are
 * written in the same transactions, so neither ever disagrees with the state.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { ForgeError } from '../../domain/errors.ts';
import type { Failure } from '../../domain/failure.ts';
import { originKey, type JobRecord, type JobStatus } from '../../domain/job.ts';
import { newJobId } from '../../domain/ids.ts';
import { canTransition, nextAfterAttempt } from '../../domain/lifecycle.ts';
import type {
  AbandonedAttempt,
  AdoptedAttempt,
  AttemptResult,
  Clock,
  JobStore,
} from '../../ports/store.ts';
import type { OutboxRoute } from '../../ports/outbox.ts';
import { JOB_SQL as SQL, listQueries } from './sqlite-job-queries.ts';
import { createSqliteOutbox, insertItems, type SqliteAccess } from './sqlite-outbox.ts';
import { createSqliteStewards } from './sqlite-stewards.ts';
import {
  openDatabase,
  toAttempt,
  toJob,
  toStoreError,
  type AttemptRow,
  type JobRow,
  type OrphanRow,
} from './sqlite-schema.ts';

export interface SqliteStoreOptions {
  /** A database file, or `:memory:` (tests). */
  path: string;
  /** The clock leases are judged on (default: this machine's wall clock). */
  clock?: Clock;
  /** The deliveries each job change causes, stored in the change's transaction. A route that
   *  throws rolls the change back. */
  route?: OutboxRoute;
}

export function createSqliteStore(opts: SqliteStoreOptions): JobStore {
  const { path } = opts;
  const clock = opts.clock ?? Date.now;
  const isoNow = () => new Date(clock()).toISOString();
  let db: DatabaseSync;
  try {
    db = openDatabase(path);
  } catch (err) {
    throw toStoreError(err, path);
  }
  const stmts = new Map<string, StatementSync>();
  // Every statement is prepared once and reused; list() variants are keyed by their SQL text.
  const stmt = (sql: string): StatementSync => {
    let s = stmts.get(sql);
    if (s === undefined) stmts.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const one = <T>(sql: string, ...params: SQLInputValue[]) =>
    stmt(sql).get(...params) as T | undefined;
  const named = (sql: string, params: Record<string, SQLInputValue>) =>
    stmt(sql).run(params).changes;

  const call = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(toStoreError(err, path));
    }
  };
  const tx = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (err) {
      if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  };

  const access: SqliteAccess = { stmt, tx, call, clock };
  /** Stores what a job's change must tell the world, in the change's transaction. */
  const routeChange = (jobId: string, from: JobStatus | null, to: JobStatus) => {
    if (!opts.route) return;
    const row = jobRow(jobId);
    if (row === undefined) return;
    insertItems(access, opts.route({ job: toJob(row), from, to }));
  };
  const event = (jobId: string, type: string, at: string, data: Record<string, unknown>) => {
    stmt(SQL.insertEvent).run(jobId, type, at, JSON.stringify(data));
  };
  const statusEvent = (
    jobId: string,
    at: string,
    from: JobStatus,
    to: JobStatus,
    failure: Failure | null,
  ) => {
    event(jobId, 'job.status', at, failure === null ? { from, to } : { from, to, failure });
    routeChange(jobId, from, to);
  };
  const jobRow = (id: string) => one<JobRow>(SQL.jobById, id);
  const record = (id: string): JobRecord | null => {
    const row = jobRow(id);
    if (row === undefined) return null;
    const attempts = (stmt(SQL.attemptsOf).all(id) as unknown as AttemptRow[]).map(toAttempt);
    return { ...toJob(row), attempts };
  };
  /** Moves a RUNNING job on, guarded by the revision read in this transaction. */
  const leaveRunning = (
    row: JobRow,
    at: string,
    to: JobStatus,
    failure: Failure | null,
    notBefore = 0,
  ) => {
    if (!canTransition(row.status, to)) return;
    const changed = named(SQL.leaveRunning, {
      id: row.id,
      revision: row.revision,
      to,
      failure: failure === null ? null : JSON.stringify(failure),
      not_before: notBefore,
      at,
    });
    if (changed > 0) statusEvent(row.id, at, 'RUNNING', to, failure);
  };
  /** Closes the attempt if still open. Only the call that closes it counts its cost, so a repeated
   *  finish adds nothing. */
  const closeAttempt = (jobId: string, attempt: number, result: AttemptResult, at: string) => {
    const closed = named(SQL.closeAttempt, {
      job_id: jobId,
      number: attempt,
      at,
      exit_code: result.exit_code,
      output: result.output,
      truncated: result.truncated ? 1 : 0,
      failure: result.failure === null ? null : JSON.stringify(result.failure),
      cost_usd: result.cost_usd ?? null,
      turns: result.turns ?? null,
      session_id: result.session_id ?? null,
      summary: result.summary ?? null,
      diff_stat: result.diff_stat ?? null,
    });
    if (closed === 0) return;
    const { exit_code, failure } = result;
    event(jobId, 'attempt.finished', at, { attempt, exit_code, failure });
    if (result.cost_usd != null) stmt(SQL.addCost).run(result.cost_usd, at, jobId);
    if (result.job_result) stmt(SQL.setResult).run(JSON.stringify(result.job_result), at, jobId);
  };
  const interrupt = (row: AttemptRow, at: string, failure: Failure, out: AbandonedAttempt[]) => {
    stmt(SQL.interruptAttempt).run(at, JSON.stringify(failure), row.job_id, row.number);
    // What the attempt spent before it was cut off is still spent.
    if (row.cost_usd != null) stmt(SQL.addCost).run(row.cost_usd, at, row.job_id);
    event(row.job_id, 'attempt.finished', at, { attempt: row.number, exit_code: null, failure });
    out.push({
      job_id: row.job_id,
      attempt: row.number,
      sandbox: row.sandbox,
      sandbox_ref: row.sandbox_ref,
    });
  };

  return {
    create: (spec, idempotencyKey) =>
      call(() =>
        tx(() => {
          if (idempotencyKey !== undefined) {
            const existing = one<JobRow>(SQL.jobByKey, idempotencyKey);
            if (existing !== undefined) return { job: toJob(existing), created: false };
          }
          const at = isoNow();
          const row = stmt(SQL.insertJob).get({
            id: newJobId(),
            task: spec.task,
            agent: spec.agent,
            profile: spec.profile,
            max_retries: spec.max_retries,
            budget_usd: spec.budget_usd,
            tags: JSON.stringify(spec.tags),
            source: spec.source,
            inactivity_timeout_ms: spec.inactivity_timeout_ms,
            max_duration_ms: spec.max_duration_ms,
            model: spec.model,
            max_turns: spec.max_turns,
            repo: spec.repo === null ? null : JSON.stringify(spec.repo),
            settings: JSON.stringify(spec.settings),
            origin: spec.origin === null ? null : JSON.stringify(spec.origin),
            origin_key: spec.origin === null ? null : originKey(spec.origin),
            parent_id: spec.parent_id,
            at,
            key: idempotencyKey ?? null,
          }) as unknown as JobRow;
          for (const tag of new Set(spec.tags)) stmt(SQL.insertTag).run(tag, row.id);
          event(row.id, 'job.created', at, {});
          routeChange(row.id, null, 'PENDING');
          return { job: toJob(row), created: true };
        }),
      ),

    get: (id) => call(() => record(id)),

    latestFromOrigin: (key) =>
      call(() => {
        const row = one<JobRow>(SQL.latestFromOrigin, key);
        return row === undefined ? null : toJob(row);
      }),

    list: (filter) =>
      call(() => {
        const q = listQueries(filter);
        const rows = stmt(q.page).all(
          ...q.pageParams,
          filter.limit,
          filter.offset,
        ) as unknown as JobRow[];
        const { total } = stmt(q.count).get(...q.countParams) as { total: number };
        return { jobs: rows.map(toJob), total };
      }),

    claim: (owner, leaseMs, sandbox) =>
      call(() =>
        tx(() => {
          const now = clock();
          const at = new Date(now).toISOString();
          const claimed = stmt(SQL.claimNext).get({ owner, expires: now + leaseMs, at, now }) as
            JobRow | undefined;
          if (claimed === undefined) return null;
          const attempt = claimed.attempt_count;
          stmt(SQL.insertAttempt).run(claimed.id, attempt, sandbox, at);
          statusEvent(claimed.id, at, 'PENDING', 'RUNNING', null);
          event(claimed.id, 'attempt.started', at, { attempt });
          return { job: toJob(claimed), attempt };
        }),
      ),

    renew: (key, owner, leaseMs) =>
      call(
        () =>
          Number(
            stmt(SQL.renewLease).run(clock() + leaseMs, key.job_id, owner, key.attempt).changes,
          ) > 0,
      ),

    setSandboxRef: (key, ref) =>
      call(() => {
        stmt(SQL.setSandboxRef).run(ref, key.job_id, key.attempt);
      }),

    saveProgress: (key, p) =>
      call(() => {
        stmt(SQL.saveProgress).run(
          p.output,
          p.truncated ? 1 : 0,
          p.cost_usd,
          p.turns,
          p.session_id,
          key.job_id,
          key.attempt,
        );
      }),

    finish: ({ job_id: jobId, attempt }, owner, result, next) =>
      call(() =>
        tx(() => {
          const before = jobRow(jobId);
          if (before === undefined) return null;
          const at = isoNow();
          // The current attempt belongs to the lease holder (cancel keeps the lease for this), so
          // a runner that lost the job cannot close its successor's attempt.
          if (before.lease_owner === owner || attempt !== before.attempt_count) {
            closeAttempt(jobId, attempt, result, at);
          }
          const row = jobRow(jobId);
          // The attempt number check keeps a stale runner from moving a later attempt's job.
          if (
            row?.status === 'RUNNING' &&
            row.lease_owner === owner &&
            row.attempt_count === attempt
          ) {
            if (next.status === 'PENDING')
              leaveRunning(row, at, 'PENDING', null, clock() + next.retry_after_ms);
            else leaveRunning(row, at, next.status, next.status === 'FAILED' ? next.failure : null);
          }
          return record(jobId);
        }),
      ),

    cancel: (jobId, failure) =>
      call(() =>
        tx(() => {
          const row = jobRow(jobId);
          if (row === undefined) return null;
          if (!canTransition(row.status, 'CANCELLED')) {
            throw new ForgeError(
              'conflict',
              `job ${jobId} is already ${row.status}; only PENDING or RUNNING jobs can be cancelled`,
            );
          }
          const at = isoNow();
          stmt(SQL.cancel).run(JSON.stringify(failure), at, jobId);
          statusEvent(jobId, at, row.status, 'CANCELLED', failure);
          return record(jobId);
        }),
      ),

    retry: (jobId) =>
      call(() =>
        tx(() => {
          const row = jobRow(jobId);
          if (row === undefined) return null;
          if (row.status === 'RUNNING' || !canTransition(row.status, 'PENDING')) {
            const hint =
              row.status === 'SUCCEEDED'
                ? 'submit a new job to run the task again'
                : 'cancel it first if you want it to start over';
            throw new ForgeError(
              'conflict',
              `job ${jobId} is ${row.status}; only FAILED or CANCELLED jobs can be retried (${hint})`,
            );
          }
          // Two open attempts at once would break "none runs twice"; the runner closes it within
          // seconds of the cancel, recovery once its lease expires.
          if (stmt(SQL.openAttempts).get(jobId) !== undefined) {
            throw new ForgeError(
              'conflict',
              `job ${jobId} is ${row.status} but its last attempt is still stopping; retry again in a few seconds`,
            );
          }
          const at = isoNow();
          stmt(SQL.retry).run(at, jobId);
          statusEvent(jobId, at, row.status, 'PENDING', null);
          return record(jobId);
        }),
      ),

    recover: ({ self, running, foreignOwners }) =>
      call(() =>
        tx(() => {
          const now = clock();
          const at = new Date(now).toISOString();
          const guard = { now, self, foreign: foreignOwners ? 1 : 0 };
          const mine = new Set(running.map((r) => `${r.job_id}/${r.attempt}`));
          const stillRuns = (owner: string | null, jobId: string, attempt: number) =>
            owner === self && mine.has(`${jobId}/${attempt}`);
          const abandoned: AbandonedAttempt[] = [];
          for (const row of stmt(SQL.stuckRunning).all(guard) as unknown as JobRow[]) {
            if (stillRuns(row.lease_owner, row.id, row.attempt_count)) continue;
            const failure: Failure = { category: 'interrupted', message: whyInterrupted(row, now) };
            for (const open of stmt(SQL.openAttempts).all(row.id) as unknown as AttemptRow[]) {
              interrupt(open, at, failure, abandoned);
            }
            // Counting the attempt's cost bumped the revision leaveRunning is guarded by.
            const after = jobRow(row.id) ?? row;
            const next = nextAfterAttempt(toJob(after), after.attempt_count, failure, 0);
            if (next.status === 'PENDING') leaveRunning(after, at, 'PENDING', null);
            else if (next.status === 'FAILED') leaveRunning(after, at, 'FAILED', next.failure);
          }
          for (const row of stmt(SQL.orphanAttempts).all(guard) as unknown as OrphanRow[]) {
            if (stillRuns(row.lease_owner, row.job_id, row.number)) continue;
            const message = `the Forge server stopped before this attempt closed (the job was already ${row.job_status}); the attempt was interrupted`;
            interrupt(row, at, { category: 'interrupted', message }, abandoned);
          }
          return abandoned;
        }),
      ),

    adopt: ({ self, foreignOwners, sandbox, leaseMs }) =>
      call(() =>
        tx(() => {
          const now = clock();
          const guard = { now, self, foreign: foreignOwners ? 1 : 0 };
          const adopted: AdoptedAttempt[] = [];
          for (const row of stmt(SQL.stuckRunning).all(guard) as unknown as JobRow[]) {
            const open = (stmt(SQL.openAttempts).all(row.id) as unknown as AttemptRow[]).find(
              (a) => a.number === row.attempt_count,
            );
            if (open?.sandbox !== sandbox || open.sandbox_ref === null) continue;
            const taken = stmt(SQL.adoptLease).run({
              self,
              expires: now + leaseMs,
              id: row.id,
              revision: row.revision,
            });
            if (Number(taken.changes) === 0) continue;
            const job = toJob({ ...row, lease_owner: self, lease_expires_at: now + leaseMs });
            adopted.push({ job, attempt: open.number, sandbox_ref: open.sandbox_ref });
          }
          return adopted;
        }),
      ),

    ...createSqliteOutbox(access),
    ...createSqliteStewards(access),

    ping: () =>
      call(() => {
        stmt(SQL.ping).get();
      }),

    close: () =>
      call(() => {
        if (db.isOpen) db.close();
      }),
  };
}

function whyInterrupted(row: JobRow, now: number): string {
  const cause =
    row.lease_expires_at === null || row.lease_expires_at < now
      ? 'lease expired'
      : `its runner ${row.lease_owner ?? '?'} belongs to a server that is no longer running`;
  return `the Forge server stopped while this attempt ran (${cause}); the attempt was interrupted`;
}
