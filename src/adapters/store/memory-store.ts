/**
 * The job store in memory: the same contract as the SQLite store (it runs the same contract
 * suites), for fast tests of the runner and the front doors. Nothing survives the process. Every
 * method runs synchronously to completion, so each is atomic like a transaction.
 */
import { ForgeError } from '../../domain/errors.ts';
import type { Failure } from '../../domain/failure.ts';
import { newJobId } from '../../domain/ids.ts';
import {
  originKey,
  type Attempt,
  type Job,
  type JobRecord,
  type JobStatus,
} from '../../domain/job.ts';
import type { OutboxRoute } from '../../ports/outbox.ts';
import { createMemoryOutbox } from './memory-outbox.ts';
import { canTransition, nextAfterAttempt } from '../../domain/lifecycle.ts';
import type {
  AbandonedAttempt,
  AdoptedAttempt,
  AttemptKey,
  AttemptResult,
  Clock,
  JobStore,
} from '../../ports/store.ts';

interface Entry {
  job: Job;
  attempts: Attempt[];
  sandboxRefs: Map<number, string>;
  lease: { owner: string; expires: number } | null;
  notBefore: number;
}

const clone = <T>(value: T): T => structuredClone(value);

export interface MemoryStoreOptions {
  /** The clock leases are judged on (default: this machine's wall clock). */
  clock?: Clock;
  /** The deliveries each job change causes, stored with the change. A route that throws undoes
   *  the whole change (every job and delivery it touched) and the call rejects with its error. */
  route?: OutboxRoute;
}

export function createMemoryStore(opts: MemoryStoreOptions = {}): JobStore {
  const clock = opts.clock ?? Date.now;
  let jobs = new Map<string, Entry>();
  let byKey = new Map<string, string>();
  let closed = false;

  const use = <T>(fn: () => T): Promise<T> => {
    if (closed) {
      return Promise.reject(
        new ForgeError('unavailable', 'the in-memory job store is closed; restart the server'),
      );
    }
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const outbox = createMemoryOutbox(clock, use);
  /** Runs a job change like a transaction. Only a route can throw once a change has begun, so
   *  without one there is nothing to undo; with one, the jobs are copied first and put back (with
   *  the outbox) when it throws. */
  const change = <T>(fn: () => T): Promise<T> =>
    use(() => {
      if (!opts.route) return fn();
      const saved = { jobs: clone(jobs), byKey: new Map(byKey), undoOutbox: outbox.savepoint() };
      try {
        return fn();
      } catch (err) {
        ({ jobs, byKey } = saved);
        saved.undoOutbox();
        throw err;
      }
    });
  const routeChange = (job: Job, from: JobStatus | null, to: JobStatus) => {
    if (opts.route) outbox.add(opts.route({ job: clone(job), from, to }));
  };
  const recordOf = (e: Entry): JobRecord => clone({ ...e.job, attempts: e.attempts });
  const move = (e: Entry, to: JobStatus, failure: Failure | null, notBefore = 0) => {
    if (!canTransition(e.job.status, to)) return;
    const from = e.job.status;
    e.job.status = to;
    e.job.failure = failure;
    e.notBefore = notBefore;
    touch(e);
    routeChange(e.job, from, to);
  };
  const touch = (e: Entry) => {
    e.job.revision++;
    e.job.updated_at = iso(clock());
  };
  const openAttempt = (e: Entry, n: number) =>
    e.attempts.find((a) => a.number === n && a.finished_at === null) ?? null;
  /** Closes the attempt if still open; only the call that closes it counts its cost. */
  const close = (e: Entry, n: number, r: AttemptResult) => {
    const a = openAttempt(e, n);
    if (!a) return;
    Object.assign(a, {
      finished_at: iso(clock()),
      exit_code: r.exit_code,
      output: r.output,
      truncated: r.truncated,
      failure: r.failure,
      cost_usd: r.cost_usd ?? null,
      turns: r.turns ?? null,
      session_id: r.session_id ?? null,
      summary: r.summary ?? null,
      diff_stat: r.diff_stat ?? null,
    });
    if (r.cost_usd != null) e.job.cost_usd += r.cost_usd;
    if (r.job_result) e.job.result = clone(r.job_result);
    touch(e);
  };
  const interrupt = (e: Entry, a: Attempt, failure: Failure, out: AbandonedAttempt[]) => {
    a.finished_at = iso(clock());
    a.failure = failure;
    if (a.cost_usd != null) e.job.cost_usd += a.cost_usd;
    touch(e);
    out.push({
      job_id: e.job.id,
      attempt: a.number,
      sandbox: a.sandbox,
      sandbox_ref: e.sandboxRefs.get(a.number) ?? null,
    });
  };
  const leaseDead = (e: Entry, now: number, self: string, foreign: boolean) =>
    e.lease === null || e.lease.expires < now || (foreign && e.lease.owner !== self);

  return {
    create: (spec, key) =>
      change(() => {
        const known = key === undefined ? undefined : byKey.get(key);
        if (known !== undefined) return { job: clone(jobs.get(known)!.job), created: false };
        const now = clock();
        const job: Job = {
          ...clone(spec),
          tags: [...new Set(spec.tags)],
          id: newJobId(now),
          status: 'PENDING',
          created_at: iso(now),
          updated_at: iso(now),
          revision: 1,
          cost_usd: 0,
          failure: null,
          retry_base: 0,
          attempt_count: 0,
          result: null,
        };
        jobs.set(job.id, { job, attempts: [], sandboxRefs: new Map(), lease: null, notBefore: 0 });
        if (key !== undefined) byKey.set(key, job.id);
        routeChange(job, null, 'PENDING');
        return { job: clone(job), created: true };
      }),

    get: (id) =>
      use(() => {
        const e = jobs.get(id);
        return e ? recordOf(e) : null;
      }),

    latestFromOrigin: (key) =>
      use(() => {
        let latest: Job | null = null;
        for (const { job } of jobs.values())
          if (job.origin && originKey(job.origin) === key && (!latest || job.id > latest.id))
            latest = job;
        return latest ? clone(latest) : null;
      }),

    list: (filter) =>
      use(() => {
        const matches = [...jobs.values()]
          .map((e) => e.job)
          .filter((j) => !filter.statuses?.length || filter.statuses.includes(j.status))
          .filter((j) => (filter.tags ?? []).every((t) => j.tags.includes(t)))
          .filter((j) => filter.parent_id === undefined || j.parent_id === filter.parent_id)
          .sort((a, b) => (a.id < b.id ? 1 : -1));
        const page = matches.slice(filter.offset, filter.offset + filter.limit);
        return { jobs: page.map(clone), total: matches.length };
      }),

    cancel: (id, failure) =>
      change(() => {
        const e = jobs.get(id);
        if (!e) return null;
        if (!canTransition(e.job.status, 'CANCELLED')) {
          throw new ForgeError(
            'conflict',
            `job ${id} is already ${e.job.status}; only PENDING or RUNNING jobs can be cancelled`,
          );
        }
        // The lease stays, so the runner can still close its attempt.
        move(e, 'CANCELLED', failure);
        return recordOf(e);
      }),

    retry: (id) =>
      change(() => {
        const e = jobs.get(id);
        if (!e) return null;
        const { status } = e.job;
        if (status === 'RUNNING' || !canTransition(status, 'PENDING')) {
          const hint =
            status === 'SUCCEEDED'
              ? 'submit a new job to run the task again'
              : 'cancel it first if you want it to start over';
          throw new ForgeError(
            'conflict',
            `job ${id} is ${status}; only FAILED or CANCELLED jobs can be retried (${hint})`,
          );
        }
        if (e.attempts.some((a) => a.finished_at === null)) {
          throw new ForgeError(
            'conflict',
            `job ${id} is ${status} but its last attempt is still stopping; retry again in a few seconds`,
          );
        }
        e.job.retry_base = e.job.attempt_count;
        e.lease = null;
        move(e, 'PENDING', null);
        return recordOf(e);
      }),

    claim: (owner, leaseMs, sandbox) =>
      change(() => {
        const now = clock();
        const next = [...jobs.values()]
          .filter((e) => e.job.status === 'PENDING' && e.notBefore <= now)
          .sort((a, b) => (a.job.id < b.job.id ? -1 : 1))[0];
        if (!next) return null;
        const attempt = ++next.job.attempt_count;
        next.lease = { owner, expires: now + leaseMs };
        move(next, 'RUNNING', null);
        next.attempts.push({
          number: attempt,
          sandbox,
          started_at: iso(now),
          finished_at: null,
          exit_code: null,
          output: '',
          truncated: false,
          failure: null,
          cost_usd: null,
          turns: null,
          session_id: null,
          summary: null,
          diff_stat: null,
        });
        return { job: clone(next.job), attempt };
      }),

    renew: (key, owner, leaseMs) =>
      use(() => {
        const e = jobs.get(key.job_id);
        if (!e || !holds(e, key, owner)) return false;
        e.lease = { owner, expires: clock() + leaseMs };
        return true;
      }),

    setSandboxRef: (key, ref) =>
      use(() => {
        const e = jobs.get(key.job_id);
        if (e) e.sandboxRefs.set(key.attempt, ref);
      }),

    saveProgress: (key, p) =>
      use(() => {
        const a = jobs.get(key.job_id) && openAttempt(jobs.get(key.job_id)!, key.attempt);
        if (a) Object.assign(a, clone(p));
      }),

    finish: (key, owner, result, next) =>
      change(() => {
        const e = jobs.get(key.job_id);
        if (!e) return null;
        // The current attempt belongs to the lease holder (cancel keeps the lease for this), so
        // a runner that lost the job cannot close its successor's attempt.
        if (e.lease?.owner === owner || key.attempt !== e.job.attempt_count) {
          close(e, key.attempt, result);
        }
        if (holds(e, key, owner)) {
          e.lease = null;
          if (next.status === 'PENDING') move(e, 'PENDING', null, clock() + next.retry_after_ms);
          else move(e, next.status, next.status === 'FAILED' ? next.failure : null);
        }
        return recordOf(e);
      }),

    recover: ({ self, running, foreignOwners }) =>
      change(() => {
        const now = clock();
        const mine = new Set(running.map((r) => `${r.job_id}/${r.attempt}`));
        const abandoned: AbandonedAttempt[] = [];
        const sorted = [...jobs.values()].sort((a, b) => (a.job.id < b.job.id ? -1 : 1));
        for (const e of sorted) {
          if (!leaseDead(e, now, self, foreignOwners)) continue;
          const stillRuns = (n: number) => e.lease?.owner === self && mine.has(`${e.job.id}/${n}`);
          const open = e.attempts.filter((a) => a.finished_at === null && !stillRuns(a.number));
          if (e.job.status === 'RUNNING') {
            if (stillRuns(e.job.attempt_count)) continue;
            const failure: Failure = {
              category: 'interrupted',
              message: `the Forge server stopped while this attempt ran (lease expired); the attempt was interrupted`,
            };
            for (const a of open) interrupt(e, a, failure, abandoned);
            e.lease = null;
            const next = nextAfterAttempt(e.job, e.job.attempt_count, failure, 0);
            if (next.status === 'PENDING') move(e, 'PENDING', null);
            else if (next.status === 'FAILED') move(e, 'FAILED', next.failure);
          } else {
            const message = `the Forge server stopped before this attempt closed (the job was already ${e.job.status}); the attempt was interrupted`;
            for (const a of open) interrupt(e, a, { category: 'interrupted', message }, abandoned);
          }
        }
        return abandoned;
      }),

    adopt: ({ self, foreignOwners, sandbox, leaseMs }) =>
      use(() => {
        const now = clock();
        const adopted: AdoptedAttempt[] = [];
        const sorted = [...jobs.values()].sort((a, b) => (a.job.id < b.job.id ? -1 : 1));
        for (const e of sorted) {
          if (e.job.status !== 'RUNNING' || !leaseDead(e, now, self, foreignOwners)) continue;
          const n = e.job.attempt_count;
          const open = e.attempts.find((a) => a.number === n && a.finished_at === null);
          const ref = e.sandboxRefs.get(n);
          if (open?.sandbox !== sandbox || ref === undefined) continue;
          e.lease = { owner: self, expires: now + leaseMs };
          adopted.push({ job: structuredClone(e.job), attempt: n, sandbox_ref: ref });
        }
        return adopted;
      }),

    enqueue: (items) => outbox.enqueue(items),
    take: (owner, leaseMs, limit) => outbox.take(owner, leaseMs, limit),
    settle: (id, owner, outcome) => outbox.settle(id, owner, outcome),
    deliveriesOf: (jobId) => outbox.deliveriesOf(jobId),
    summary: () => outbox.summary(),

    ping: () => use(() => undefined),

    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** Whether `owner` holds the lease on the job while it runs `key.attempt`. */
function holds(e: Entry, key: AttemptKey, owner: string): boolean {
  return (
    e.job.status === 'RUNNING' && e.lease?.owner === owner && e.job.attempt_count === key.attempt
  );
}
