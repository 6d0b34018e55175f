/**
 * The job store on NATS JetStream key-value buckets, for several Forge servers sharing one queue.
 * It runs the same contract suites as the SQLite and memory stores.
 *
 * - Records: bucket `<prefix>_jobs`, key = job id, value = the JSON of a `JobEntry` (job,
 *   attempts, lease, not-before, idempotency key); no TTL, history 1. Every change reads the
 *   entry, applies the domain's rule (job-entry.ts) and writes it back with
 *   `kv.update(key, value, revision)`; on a revision conflict it reads again and re-applies, so a
 *   cancel is never overwritten by a late runner write.
 * - Keys: bucket `<prefix>_keys`. `idem.<sha>` holds the job id of an idempotency key (taken with
 *   `kv.create`, which fails when it exists); `origin.<sha of originKey>` the newest job id of an
 *   origin (moved on by compare-and-set at create). The outbox keeps its keys here too.
 * - Queue and list: a watch of the jobs bucket feeds an in-memory view (kv-view.ts) and its index
 *   (job-index.ts). claim picks the oldest claimable job there and compare-and-sets it to RUNNING,
 *   trying the next on a conflict, so a stale view costs a retry, never a double claim. list pages
 *   the index; another server's latest writes may show a moment late. Every move to PENDING also
 *   puts a wake-up on a work-queue stream (wake-stream.ts), which one replica takes and acts on
 *   by claiming; a reconciler re-announces claimable jobs nobody took.
 * - Leases are judged on the NATS server's clock (server-clock.ts): each replica writes and reads
 *   times as its own clock plus an offset measured against KV entry timestamps, so replicas with
 *   skewed clocks agree on when a lease ran out. Tests pass a `clock` of their own.
 * - Outbox: a change's deliveries are staged in the job's entry by the same compare-and-set, then
 *   moved to the outbox (nats-outbox.ts). A route is run before anything is written, so one that
 *   throws (also for any of the jobs one recover call changes) leaves every job and delivery as
 *   it was.
 * - With `maxRunning`, a claim also takes one of `maxRunning` slot keys in the keys bucket before
 *   writing the job, and finish/recover give it back when the attempt closes: a cap on open
 *   attempts across every replica (run-slots.ts).
 * - The factory returns at once; the connection is opened by the first call and awaited by every
 *   call. A failed connection rejects that call with ForgeError('unavailable') and the next call
 *   tries again.
 */
import { ForgeError } from '../../../domain/errors.ts';
import { originKey, type Job, type JobStatus } from '../../../domain/job.ts';
import type { OutboxItem, OutboxRoute } from '../../../ports/outbox.ts';
import type {
  AbandonedAttempt,
  AdoptedAttempt,
  Claim,
  Clock,
  JobStore,
} from '../../../ports/store.ts';
import {
  casUpdate,
  createOnce,
  isConflict,
  openConn,
  type Conn,
  type NatsStoreOptions,
} from './connection.ts';
import {
  adoptEntry,
  cancelEntry,
  claimEntry,
  claimable,
  finishEntry,
  holds,
  newEntry,
  leaseDead,
  recordOf,
  recoverEntry,
  retryEntry,
  stage,
  summarize,
  type Edit,
  type StagedDelivery,
  type JobSummary,
  type JobEntry,
  type RecoverAs,
} from '../job-entry.ts';
import {
  createNatsOutbox,
  moveStaged,
  removeDeliveriesOf,
  type DeliveryRow,
} from './nats-outbox.ts';
import { createJobIndex } from './job-index.ts';
import { serverClock } from './server-clock.ts';
import { createNatsStewards } from './nats-stewards.ts';
import { openWakeStream, type WakeStream } from './wake-stream.ts';
import {
  byIdempotencyKey,
  forgetKeysOf,
  idemKey,
  originIndexKey,
  pointOrigin,
  readEntry,
} from './job-keys.ts';
import { releaseSlot, releaseSlotsOf, takeSlot, validateMaxRunning } from './run-slots.ts';

export interface NatsJobStoreOptions extends NatsStoreOptions {
  /** The clock leases are judged on, as is (tests). Default: the NATS server's clock, measured
   *  against `localClock` (server-clock.ts). */
  clock?: Clock;
  /** This machine's wall clock (default Date.now); tests skew it. */
  localClock?: Clock;
  /** The deliveries each job change causes, stored right after the change. */
  route?: OutboxRoute;
  /** At most this many attempts open at once across every replica on this prefix (run-slots.ts);
   *  unset, no cap. */
  maxRunning?: number;
  /** How often claimable jobs nobody took are announced again (default 30 s; tests shorten it). */
  reconcileMs?: number;
}

type C = Conn<JobEntry, JobSummary, DeliveryRow>;

const jobOf = (e: JobEntry): Job => structuredClone(e.job);
/** How often each replica re-announces jobs claimable for that long that nobody took. */
const RECONCILE_MS = 30_000;
/** A writer normally moves its staged deliveries within milliseconds; after this, a sweep does. */
const STAGED_GRACE_MS = 2_000;

/** The NATS store, which also says when another replica changed a job. */
export interface NatsJobStore extends JobStore {
  /** Calls `listener` with each job another replica changed (a cancel, a claim, a finish), as
   *  the bucket's watch delivers it: how a cancel received elsewhere reaches this replica's runner
   *  at once, without polling. Returns the unsubscribe function. */
  onRemoteChange(listener: (job: Job) => void): () => void;
  /** Calls `listener` with each wake-up this replica takes from the queue's wake-up stream (a job
   *  became claimable; wake-stream.ts): each goes to one replica. Returns the unsubscribe. */
  onWake(listener: (jobId: string) => void): () => void;
  /** Deletes finished jobs (SUCCEEDED, FAILED, CANCELLED, nothing open or staged) last changed
   *  before `before` (epoch ms), with their idempotency key, origin pointer and deliveries; the
   *  retention the buckets' missing TTL leaves to Forge. Returns the deleted ids (so their logs
   *  can go too). A job changed meanwhile (a retry) is kept. */
  purgeFinished(before: number): Promise<string[]>;
}

export function createNatsStore(opts: NatsJobStoreOptions): NatsJobStore {
  const server = opts.clock ? null : serverClock(opts.localClock ?? Date.now);
  const clock = opts.clock ?? server!.now;
  const { maxRunning } = opts;
  validateMaxRunning(maxRunning);
  const remoteListeners = new Set<(job: Job) => void>();
  const onRemoteJob = (summary: JobSummary, before: JobSummary | null) => {
    // Lease renewals, progress and moved deliveries leave the job as it was: not news.
    if (before && before.job.revision === summary.job.revision) return;
    for (const listener of remoteListeners) {
      try {
        listener(structuredClone(summary.job));
      } catch {
        // A listener's failure is its own (the bus logs its listeners' errors).
      }
    }
  };
  let conn: Promise<C> | null = null;
  let closed = false;
  // Rebuilt with each connection's view.
  let index = createJobIndex();
  let wake: WakeStream | null = null;
  const wakeListeners = new Set<(jobId: string) => void>();
  const announce = (wakes: [string, number][]) => {
    for (const [id, revision] of wakes) wake?.announce(id, revision);
  };
  let reconciler: NodeJS.Timeout | null = null;
  const reconcileMs = opts.reconcileMs ?? RECONCILE_MS;
  /** Errors thrown by the route, passed on as they are. */
  const routeErrors = new WeakSet<object>();

  const connection = (): Promise<C> => {
    if (!conn) {
      const fresh = createJobIndex();
      conn = openConn<JobEntry, JobSummary, DeliveryRow>(opts, summarize, onRemoteJob, (k, b, a) =>
        fresh.change(k, b, a),
      )
        .then(async (c) => {
          index = fresh;
          try {
            await server?.follow(c.keys);
            wake = await openWakeStream(c.nc, opts.prefix ?? 'forge');
            if (wakeListeners.size > 0) await listenForWakes(wake);
            reconciler ??= setInterval(() => reconcileWakes(c), reconcileMs);
            reconciler.unref();
          } catch (err) {
            await c.nc.close();
            throw err;
          }
          return c;
        })
        .catch((err: unknown) => {
          conn = null;
          throw err;
        });
    }
    return conn;
  };
  const use = async <T>(fn: (c: C) => Promise<T>): Promise<T> => {
    if (closed) {
      throw new ForgeError(
        'unavailable',
        `the NATS job store (${opts.url}) is closed; restart the server`,
      );
    }
    const c = await connection();
    try {
      return await fn(c);
    } catch (err) {
      if (err instanceof ForgeError || (typeof err === 'object' && err && routeErrors.has(err))) {
        throw err;
      }
      throw new ForgeError(
        'unavailable',
        `NATS at ${opts.url} failed a job store operation (${String(err)}); check the server and its JetStream storage`,
        { cause: err },
      );
    }
  };

  type WakingEdit = Edit & { wakes: [string, number][] };
  const newEdit = (items: OutboxItem[], now = clock()): WakingEdit => ({
    now,
    dirty: false,
    wakes: [],
    moved(job: Job, from: JobStatus | null, to: JobStatus) {
      // Every move to PENDING wakes a runner somewhere (wake-stream.ts), once written.
      if (to === 'PENDING') this.wakes.push([job.id, job.revision]);
      if (!opts.route) return;
      try {
        items.push(...opts.route({ job: structuredClone(job), from, to }));
      } catch (err) {
        if (typeof err === 'object' && err) routeErrors.add(err);
        throw err;
      }
    },
  });

  /** Applies `fn` to the job's entry by compare-and-set, then stores what the route said.
   *  `undefined` for an unknown job. */
  const changeJob = async <R>(c: C, id: string, fn: (e: JobEntry, edit: Edit) => R) => {
    let staged: StagedDelivery[] = [];
    let wakes: [string, number][] = [];
    const result = await casUpdate<JobEntry, R>(
      c.jobs,
      id,
      (e) => {
        const items: OutboxItem[] = [];
        const edit = newEdit(items);
        const value = fn(e, edit);
        stage(e, items);
        staged = items.length > 0 ? (e.outbox ?? []) : [];
        wakes = edit.wakes;
        return { write: edit.dirty, result: value };
      },
      c.jobView,
    );
    announce(wakes);
    await moveStaged(c, clock, id, staged);
    return result;
  };

  /** Moves what writers that died left staged (nats-outbox.ts); run before taking deliveries. */
  const sweepStaged = async (c: C) => {
    const now = clock();
    for (const id of [...index.staged()]) {
      const job = summary(c, id)?.job;
      if (!job || now - Date.parse(job.updated_at) < STAGED_GRACE_MS) continue;
      const entry = await readEntry(c, id);
      if (entry?.outbox) await moveStaged(c, clock, id, entry.outbox);
    }
  };

  const summary = (c: C, id: string) => c.jobView.entries.get(id)?.value;

  const outbox = createNatsOutbox(clock, use, sweepStaged);

  const listenForWakes = (w: WakeStream) =>
    w.listen((jobId) => {
      for (const listener of wakeListeners) listener(jobId);
    });

  /** Wakes someone for the jobs that have been claimable for a while and nobody took: a wake-up
   *  lost, or consumed by a replica that died. Replicas doing this in the same round share the
   *  message id, so the stream keeps one. */
  const reconcileWakes = (c: C) => {
    const now = clock();
    const round = Math.floor(now / reconcileMs);
    for (const id of index.withStatus('PENDING')) {
      const s = summary(c, id);
      if (!s || !claimable(s, now) || now - Date.parse(s.job.updated_at) < reconcileMs) continue;
      wake?.announce(id, `r${round}`);
    }
  };

  /**
   * Claims `id` under the cap: takes a slot for the attempt about to open, then writes the job
   * with the revision read, once, so a slot taken over as stale (run-slots.ts fences the job)
   * cannot be claimed on. Gives the slot back when the write loses or the route throws. `'full'`
   * when no slot is free, null when the job is no longer claimable.
   */
  const claimWithSlot = async (
    c: C,
    max: number,
    id: string,
    owner: string,
    leaseMs: number,
    sandbox: string,
  ): Promise<Claim | null | 'full'> => {
    for (let i = 0; i < 10; i++) {
      // First try the view's copy (one round trip fewer); after a conflict, read.
      const viewed = i === 0 ? c.jobView.entries.get(id) : undefined;
      let entry: JobEntry;
      let read: number;
      if (viewed?.value.pending) {
        entry = structuredClone(viewed.value.pending);
        read = viewed.revision;
      } else {
        const kvEntry = await c.jobs.get(id);
        if (kvEntry?.operation !== 'PUT') return null;
        entry = kvEntry.json<JobEntry>();
        read = kvEntry.revision;
      }
      const now = clock();
      if (!claimable(entry, now)) return null;
      const slot = await takeSlot(c, max, id, entry.job.attempt_count + 1, now);
      if (!slot) return 'full';
      let kept = false;
      try {
        const items: OutboxItem[] = [];
        const edit = newEdit(items, now);
        const attempt = claimEntry(entry, edit, owner, leaseMs, sandbox);
        stage(entry, items);
        const done = c.jobView.writing(id);
        try {
          const revision = await c.jobs.update(id, JSON.stringify(entry), read);
          c.jobView.apply(id, entry, revision);
          kept = true;
        } catch (err) {
          if (!isConflict(err)) throw err;
          continue; // changed since read: look again
        } finally {
          done();
        }
        await moveStaged(c, clock, id, entry.outbox ?? []);
        return { job: jobOf(entry), attempt };
      } finally {
        if (!kept) await releaseSlot(c, slot);
      }
    }
    return null;
  };

  const stewards = createNatsStewards(
    (fn) => use((c) => fn(c.keys)),
    () => clock(),
  );

  return {
    ...stewards,

    onWake(listener) {
      const first = wakeListeners.size === 0;
      wakeListeners.add(listener);
      if (first && wake) void listenForWakes(wake).catch(() => undefined);
      void connection().catch(() => undefined);
      return () => wakeListeners.delete(listener);
    },

    onRemoteChange(listener) {
      remoteListeners.add(listener);
      // Connect now, so changes flow even before this replica's first own call.
      void connection().catch(() => undefined);
      return () => remoteListeners.delete(listener);
    },

    create: (spec, key) =>
      use(async (c) => {
        if (key !== undefined) {
          const known = await byIdempotencyKey(c, key);
          if (known) return { job: known, created: false };
        }
        const now = clock();
        const entry = newEntry(spec, now, key);
        const { job } = entry;
        // The route runs first: one that throws stores nothing, not even the key.
        const items: OutboxItem[] = [];
        newEdit(items, now).moved(job, null, 'PENDING');
        if (key !== undefined && !(await createOnce(c.keys, idemKey(key), job.id))) {
          const known = await byIdempotencyKey(c, key);
          if (known) return { job: known, created: false };
        }
        stage(entry, items);
        const done = c.jobView.writing(job.id);
        try {
          const revision = await c.jobs.create(job.id, JSON.stringify(entry));
          c.jobView.apply(job.id, entry, revision);
        } finally {
          done();
        }
        announce([[job.id, job.revision]]);
        if (job.origin) await pointOrigin(c, originKey(job.origin), job.id);
        await moveStaged(c, clock, job.id, entry.outbox ?? []);
        return { job: structuredClone(job), created: true };
      }),

    get: (id) =>
      use(async (c) => {
        const e = await readEntry(c, id);
        return e ? recordOf(e) : null;
      }),

    latestFromOrigin: (key) =>
      use(async (c) => {
        const e = await c.keys.get(originIndexKey(key));
        if (e?.operation !== 'PUT') return null;
        const entry = await readEntry(c, e.string());
        return entry ? jobOf(entry) : null;
      }),

    list: (filter) =>
      use((c) => {
        const tags = filter.tags ?? [];
        const parent = filter.parent_id;
        const matches = (job: Job) =>
          tags.every((t) => job.tags.includes(t)) &&
          (parent === undefined || job.parent_id === parent);
        if (tags.length === 0 && parent === undefined) {
          // The index pages and counts on its own.
          const page: Job[] = [];
          for (const id of index.newestFirst(filter.statuses, filter.offset)) {
            if (page.length >= filter.limit) break;
            const job = summary(c, id)?.job;
            if (job) page.push(structuredClone(job));
          }
          return Promise.resolve({ jobs: page, total: index.count(filter.statuses) });
        }
        const page: Job[] = [];
        let total = 0;
        for (const id of index.newestFirst(filter.statuses)) {
          const job = summary(c, id)?.job;
          if (!job || !matches(job)) continue;
          if (total >= filter.offset && page.length < filter.limit) page.push(structuredClone(job));
          total++;
        }
        return Promise.resolve({ jobs: page, total });
      }),

    cancel: (id, failure) =>
      use(async (c) => {
        const record = await changeJob(c, id, (e, edit) => {
          cancelEntry(e, edit, failure);
          return recordOf(e);
        });
        return record ?? null;
      }),

    retry: (id) =>
      use(async (c) => {
        const record = await changeJob(c, id, (e, edit) => {
          retryEntry(e, edit);
          return recordOf(e);
        });
        return record ?? null;
      }),

    claim: (owner, leaseMs, sandbox) =>
      use(async (c) => {
        const now = clock();
        const ready = index
          .withStatus('PENDING')
          .map((id) => summary(c, id))
          .filter((e) => e !== undefined && claimable(e, now));
        for (const { job } of ready as JobSummary[]) {
          if (maxRunning === undefined) {
            const claim = await changeJob(c, job.id, (e, edit) => {
              if (!claimable(e, edit.now)) return null;
              const attempt = claimEntry(e, edit, owner, leaseMs, sandbox);
              return { job: jobOf(e), attempt };
            });
            if (claim) return claim;
            continue;
          }
          const claim = await claimWithSlot(c, maxRunning, job.id, owner, leaseMs, sandbox);
          if (claim === 'full') return null;
          if (claim) return claim;
        }
        return null;
      }),

    renew: (key, owner, leaseMs) =>
      use(async (c) => {
        const renewed = await changeJob(c, key.job_id, (e, edit) => {
          if (!holds(e, key, owner)) return false;
          e.lease = { owner, expires: edit.now + leaseMs };
          edit.dirty = true;
          return true;
        });
        return renewed ?? false;
      }),

    // Progress leaves the job's revision and updated_at alone, as on SQLite.
    setSandboxRef: (key, ref) =>
      use(async (c) => {
        await changeJob(c, key.job_id, (e, edit) => {
          if (!e.attempts.some((a) => a.number === key.attempt && a.finished_at === null)) return;
          e.sandbox_refs[String(key.attempt)] = ref;
          edit.dirty = true;
        });
      }),

    saveProgress: (key, p) =>
      use(async (c) => {
        await changeJob(c, key.job_id, (e, edit) => {
          const a = e.attempts.find((x) => x.number === key.attempt && x.finished_at === null);
          if (!a) return;
          Object.assign(a, structuredClone(p));
          edit.dirty = true;
        });
      }),

    finish: (key, owner, result, next) =>
      use(async (c) => {
        const record = await changeJob(c, key.job_id, (e, edit) => {
          finishEntry(e, edit, key, owner, result, next);
          return recordOf(e);
        });
        // The attempt's slot goes back once the attempt is closed (now or before), whatever
        // became of the job; an unknown job holds no slot worth keeping either.
        const attempt = record?.attempts.find((a) => a.number === key.attempt);
        if (maxRunning !== undefined && (!attempt || attempt.finished_at !== null)) {
          await releaseSlotsOf(c, maxRunning, key.job_id, key.attempt);
        }
        return record ?? null;
      }),

    recover: ({ self, running, foreignOwners }) =>
      use(async (c) => {
        const now = clock();
        const as: RecoverAs = {
          self,
          mine: new Set(running.map((r) => `${r.job_id}/${r.attempt}`)),
          foreignOwners,
        };
        const suspects = [...new Set([...index.withStatus('RUNNING'), ...index.open()])]
          .sort()
          .map((id) => summary(c, id))
          .filter((e) => e !== undefined && leaseDead(e, now, as)) as JobSummary[];
        // Plan every change first, so a route that throws for any job changes none of them.
        const plans: {
          id: string;
          entry: JobEntry;
          revision: number;
          items: OutboxItem[];
          closed: AbandonedAttempt[];
          wakes: [string, number][];
        }[] = [];
        for (const { job } of suspects) {
          const kvEntry = await c.jobs.get(job.id);
          if (kvEntry?.operation !== 'PUT') continue;
          const entry = kvEntry.json<JobEntry>();
          const items: OutboxItem[] = [];
          const edit = newEdit(items, now);
          const closed = recoverEntry(entry, edit, as);
          stage(entry, items);
          if (edit.dirty)
            plans.push({
              id: job.id,
              entry,
              revision: kvEntry.revision,
              items,
              closed,
              wakes: edit.wakes,
            });
        }
        const abandoned: AbandonedAttempt[] = [];
        for (const p of plans) {
          try {
            const done = c.jobView.writing(p.id);
            try {
              const revision = await c.jobs.update(p.id, JSON.stringify(p.entry), p.revision);
              c.jobView.apply(p.id, p.entry, revision);
            } finally {
              done();
            }
            announce(p.wakes);
            if (p.items.length > 0) await moveStaged(c, clock, p.id, p.entry.outbox ?? []);
            abandoned.push(...p.closed);
          } catch (err) {
            if (!isConflict(err)) throw err;
            // Changed since planned: recover it again on what is there now.
            const closed = await changeJob(c, p.id, (e, edit) => recoverEntry(e, edit, as));
            abandoned.push(...(closed ?? []));
          }
        }
        if (maxRunning !== undefined) {
          for (const a of abandoned) await releaseSlotsOf(c, maxRunning, a.job_id, a.attempt);
        }
        return abandoned;
      }),

    adopt: (as) =>
      use(async (c) => {
        const now = clock();
        const candidates = index
          .withStatus('RUNNING')
          .map((id) => summary(c, id))
          .filter((e) => e !== undefined && leaseDead(e, now, { ...as, mine: new Set() }));
        const adopted: AdoptedAttempt[] = [];
        for (const { job } of candidates as JobSummary[]) {
          const taken = await changeJob(c, job.id, (e, edit) => {
            const ref = adoptEntry(e, edit, as);
            return ref === null
              ? null
              : { job: jobOf(e), attempt: e.job.attempt_count, sandbox_ref: ref };
          });
          if (taken) adopted.push(taken);
        }
        return adopted;
      }),

    ...outbox,

    purgeFinished: (before) =>
      use(async (c) => {
        const removed: string[] = [];
        for (const status of ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const) {
          for (const id of [...index.withStatus(status)]) {
            const s = summary(c, id);
            if (!s || s.open || s.staged > 0 || Date.parse(s.job.updated_at) >= before) continue;
            const kvEntry = await c.jobs.get(id);
            if (kvEntry?.operation !== 'PUT') continue;
            const entry = kvEntry.json<JobEntry>();
            if (entry.job.status !== status) continue;
            try {
              await c.jobs.purge(id, { previousSeq: kvEntry.revision });
            } catch (err) {
              if (isConflict(err)) continue; // changed since read: not this time
              throw err;
            }
            await forgetKeysOf(c, entry);
            await removeDeliveriesOf(c, id);
            removed.push(id);
          }
        }
        // Purge markers hold each deleted key's subject; drop the ones every watcher has seen.
        // (`purgeDeletes` is on the bucket nats.js hands out, not on its KV interface; it keeps
        // markers younger than 30 minutes so a watcher that was briefly away still sees them.)
        await Promise.all(
          [c.jobs, c.outbox, c.keys].map((kv) =>
            (kv as unknown as { purgeDeletes(): Promise<unknown> }).purgeDeletes(),
          ),
        );
        return removed;
      }),

    ping: () =>
      use(async (c) => {
        await c.jobs.status();
      }),

    close: async () => {
      if (closed) return;
      closed = true;
      server?.stop();
      wake?.stop();
      if (reconciler) clearInterval(reconciler);
      const pending = conn;
      if (!pending) return;
      try {
        const c = await pending;
        c.jobView.stop();
        c.outboxView.stop();
        await c.nc.drain();
      } catch {
        // Never connected, or already gone: nothing to close.
      }
    },
  };
}
