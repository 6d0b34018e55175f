/**
 * The job store in memory: the same contract as the SQLite store (it runs the same contract
 * suites), for fast tests of the runner and the front doors. Nothing survives the process. Every
 * method runs synchronously to completion, so each is atomic like a transaction. Each job is a
 * `JobEntry` changed by the same functions as the NATS store's (job-entry.ts).
 */
import { ForgeError } from '../../domain/errors.ts';
import { originKey, type Job, type JobStatus } from '../../domain/job.ts';
import type { OutboxRoute } from '../../ports/outbox.ts';
import type { AbandonedAttempt, AdoptedAttempt, Clock, JobStore } from '../../ports/store.ts';
import {
  adoptEntry,
  cancelEntry,
  claimable,
  claimEntry,
  finishEntry,
  holds,
  newEntry,
  recordOf,
  recoverEntry,
  retryEntry,
  type Edit,
  type JobEntry,
} from './job-entry.ts';
import { createMemoryOutbox } from './memory-outbox.ts';
import { createMemoryStewards } from './memory-stewards.ts';

const clone = <T>(value: T): T => structuredClone(value);
const byId = (a: JobEntry, b: JobEntry) => (a.job.id < b.job.id ? -1 : 1);

export interface MemoryStoreOptions {
  /** The clock leases are judged on (default: this machine's wall clock). */
  clock?: Clock;
  /** The deliveries each job change causes, stored with the change. A route that throws undoes
   *  the whole change (every job and delivery it touched) and the call rejects with its error. */
  route?: OutboxRoute;
}

export function createMemoryStore(opts: MemoryStoreOptions = {}): JobStore {
  const clock = opts.clock ?? Date.now;
  let jobs = new Map<string, JobEntry>();
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
  const outbox = createMemoryOutbox(clock, use);
  const stewards = createMemoryStewards(clock, use);
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
  /** One change at this moment: its status moves go through the route into the outbox. */
  const edit = (): Edit => ({
    now: clock(),
    dirty: false,
    moved: (job: Job, from: JobStatus | null, to: JobStatus) => {
      if (opts.route) outbox.add(opts.route({ job: clone(job), from, to }));
    },
  });
  const sorted = () => [...jobs.values()].sort(byId);

  return {
    create: (spec, key) =>
      change(() => {
        const known = key === undefined ? undefined : byKey.get(key);
        if (known !== undefined) return { job: clone(jobs.get(known)!.job), created: false };
        const e = edit();
        const entry = newEntry(spec, e.now, key);
        const { job } = entry;
        jobs.set(job.id, entry);
        if (key !== undefined) byKey.set(key, job.id);
        e.moved(job, null, 'PENDING');
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
        cancelEntry(e, edit(), failure);
        return recordOf(e);
      }),

    retry: (id) =>
      change(() => {
        const e = jobs.get(id);
        if (!e) return null;
        retryEntry(e, edit());
        return recordOf(e);
      }),

    claim: (owner, leaseMs, sandbox) =>
      change(() => {
        const e = edit();
        const next = sorted().find((entry) => claimable(entry, e.now));
        if (!next) return null;
        const attempt = claimEntry(next, e, owner, leaseMs, sandbox);
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
        if (e) e.sandbox_refs[String(key.attempt)] = ref;
      }),

    saveProgress: (key, p) =>
      use(() => {
        const a = jobs
          .get(key.job_id)
          ?.attempts.find((x) => x.number === key.attempt && x.finished_at === null);
        if (a) Object.assign(a, clone(p));
      }),

    finish: (key, owner, result, next) =>
      change(() => {
        const e = jobs.get(key.job_id);
        if (!e) return null;
        finishEntry(e, edit(), key, owner, result, next);
        return recordOf(e);
      }),

    recover: ({ self, running, foreignOwners }) =>
      change(() => {
        const e = edit();
        const as = {
          self,
          mine: new Set(running.map((r) => `${r.job_id}/${r.attempt}`)),
          foreignOwners,
        };
        const abandoned: AbandonedAttempt[] = [];
        for (const entry of sorted()) abandoned.push(...recoverEntry(entry, e, as));
        return abandoned;
      }),

    adopt: (as) =>
      use(() => {
        const e = edit();
        const adopted: AdoptedAttempt[] = [];
        for (const entry of sorted()) {
          const ref = adoptEntry(entry, e, as);
          if (ref !== null)
            adopted.push({
              job: clone(entry.job),
              attempt: entry.job.attempt_count,
              sandbox_ref: ref,
            });
        }
        return adopted;
      }),

    enqueue: (items) => outbox.enqueue(items),
    take: (owner, leaseMs, limit) => outbox.take(owner, leaseMs, limit),
    settle: (id, owner, outcome) => outbox.settle(id, owner, outcome),
    deliveriesOf: (jobId) => outbox.deliveriesOf(jobId),
    summary: () => outbox.summary(),

    ...stewards,

    ping: () => use(() => undefined),

    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}
