/**
 * One job as the stores that keep whole entries hold it (the memory store in a map; the NATS store
 * as one KV value, see nats/nats-store.ts), and the changes made to it: claim, renew, finish,
 * cancel, retry, recover, adopt. The rules are the domain's (`canTransition`, `nextAfterAttempt`);
 * this file only applies them, once, for both stores. The NATS store edits a fresh copy read from
 * KV and writes it back with compare-and-set, running the change again on a newer read when
 * another writer came first; the memory store edits its own copy in place.
 */
import { ForgeError } from '../../domain/errors.ts';
import type { Failure } from '../../domain/failure.ts';
import { newJobId } from '../../domain/ids.ts';
import type { Attempt, Job, JobRecord, JobSpec, JobStatus } from '../../domain/job.ts';
import type { OutboxItem } from '../../ports/outbox.ts';
import { canTransition, nextAfterAttempt } from '../../domain/lifecycle.ts';
import type { AbandonedAttempt, AttemptKey, AttemptResult, NextState } from '../../ports/store.ts';

export interface JobEntry {
  job: Job;
  attempts: Attempt[];
  /** Attempt number → how its processes can be found again. */
  sandbox_refs: Record<string, string>;
  lease: { owner: string; expires: number } | null;
  /** Not claimable before this time (epoch ms, the store's clock). */
  not_before: number;
  idempotency_key: string | null;
  /** Deliveries this entry's changes caused, written in the same compare-and-set as the change
   *  and moved to the outbox just after (nats-outbox.ts); what a replica dying in between left
   *  here is moved by whoever sweeps next. Absent in entries written before it existed. */
  outbox?: StagedDelivery[];
}

/** The entry of a job just submitted: PENDING, revision 1, nothing spent or tried. */
export function newEntry(spec: JobSpec, now: number, key: string | undefined): JobEntry {
  const at = new Date(now).toISOString();
  return {
    job: {
      ...structuredClone(spec),
      tags: [...new Set(spec.tags)],
      id: newJobId(now),
      status: 'PENDING',
      created_at: at,
      updated_at: at,
      revision: 1,
      cost_usd: 0,
      failure: null,
      retry_base: 0,
      attempt_count: 0,
      result: null,
    },
    attempts: [],
    sandbox_refs: {},
    lease: null,
    not_before: 0,
    idempotency_key: key ?? null,
  };
}

/** A delivery waiting in its job's entry; `token` names it for exactly-once moving. */
export interface StagedDelivery {
  token: string;
  item: OutboxItem;
}

/** What the store keeps of each job in memory (kv-view.ts) to pick, list and recover. */
export interface JobSummary extends Pick<JobEntry, 'job' | 'lease' | 'not_before'> {
  /** Some attempt is still open. */
  open: boolean;
  /** Deliveries staged in the entry, not yet moved to the outbox. */
  staged: number;
  /** The whole entry while the job is PENDING, so a claim can compare-and-set it without reading
   *  it first (a stale copy only costs a conflict and a read). */
  pending?: JobEntry;
}

export const summarize = (e: JobEntry): JobSummary => ({
  job: e.job,
  lease: e.lease,
  not_before: e.not_before,
  open: e.attempts.some((a) => a.finished_at === null),
  staged: e.outbox?.length ?? 0,
  ...(e.job.status === 'PENDING' ? { pending: e } : {}),
});

/** Stages `items` (caused by the change just made) in the entry, named by the job's revision. */
export function stage(e: JobEntry, items: readonly OutboxItem[]): void {
  if (items.length === 0) return;
  e.outbox = [
    ...(e.outbox ?? []),
    ...items.map((item, i) => ({ token: `${e.job.id}.${e.job.revision}.${i}`, item })),
  ];
}

/** One change being made: its time, whether the entry changed, and the route's say. */
export interface Edit {
  now: number;
  /** Set when the entry must be written back. */
  dirty: boolean;
  /** Called with each status change (the store runs its outbox route here). */
  moved: (job: Job, from: JobStatus | null, to: JobStatus) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const recordOf = (e: JobEntry): JobRecord =>
  structuredClone({ ...e.job, attempts: e.attempts });

function touch(e: JobEntry, edit: Edit): void {
  e.job.revision++;
  e.job.updated_at = iso(edit.now);
  edit.dirty = true;
}

function move(e: JobEntry, edit: Edit, to: JobStatus, failure: Failure | null, notBefore = 0) {
  if (!canTransition(e.job.status, to)) return;
  const from = e.job.status;
  e.job.status = to;
  e.job.failure = failure;
  e.not_before = notBefore;
  touch(e, edit);
  edit.moved(e.job, from, to);
}

const openAttempt = (e: JobEntry, n: number) =>
  e.attempts.find((a) => a.number === n && a.finished_at === null) ?? null;

/** Whether `owner` holds the lease on the job while it runs `key.attempt`. */
export const holds = (e: JobEntry, key: AttemptKey, owner: string): boolean =>
  e.job.status === 'RUNNING' && e.lease?.owner === owner && e.job.attempt_count === key.attempt;

export function cancelEntry(e: JobEntry, edit: Edit, failure: Failure): void {
  if (!canTransition(e.job.status, 'CANCELLED')) {
    throw new ForgeError(
      'conflict',
      `job ${e.job.id} is already ${e.job.status}; only PENDING or RUNNING jobs can be cancelled`,
    );
  }
  // The lease stays, so the runner can still close its attempt.
  move(e, edit, 'CANCELLED', failure);
}

export function retryEntry(e: JobEntry, edit: Edit): void {
  const { status, id } = e.job;
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
  move(e, edit, 'PENDING', null);
}

/** Whether the job can be claimed now. */
export const claimable = (e: Pick<JobEntry, 'job' | 'not_before'>, now: number): boolean =>
  e.job.status === 'PENDING' && e.not_before <= now;

export function claimEntry(
  e: JobEntry,
  edit: Edit,
  owner: string,
  leaseMs: number,
  sandbox: string,
): number {
  const attempt = ++e.job.attempt_count;
  e.lease = { owner, expires: edit.now + leaseMs };
  move(e, edit, 'RUNNING', null);
  e.attempts.push({
    number: attempt,
    sandbox,
    started_at: iso(edit.now),
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
  return attempt;
}

/** Closes the attempt if still open; only the call that closes it counts its cost. */
function closeAttempt(e: JobEntry, edit: Edit, n: number, r: AttemptResult): void {
  const a = openAttempt(e, n);
  if (!a) return;
  Object.assign(a, {
    finished_at: iso(edit.now),
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
  if (r.job_result) e.job.result = structuredClone(r.job_result);
  touch(e, edit);
}

export function finishEntry(
  e: JobEntry,
  edit: Edit,
  key: AttemptKey,
  owner: string,
  result: AttemptResult,
  next: NextState,
): void {
  // The current attempt belongs to the lease holder (cancel keeps the lease for this), so a
  // runner that lost the job cannot close its successor's attempt.
  if (e.lease?.owner === owner || key.attempt !== e.job.attempt_count) {
    closeAttempt(e, edit, key.attempt, result);
  }
  if (!holds(e, key, owner)) return;
  e.lease = null;
  edit.dirty = true;
  if (next.status === 'PENDING') move(e, edit, 'PENDING', null, edit.now + next.retry_after_ms);
  else move(e, edit, next.status, next.status === 'FAILED' ? next.failure : null);
}

export interface RecoverAs {
  self: string;
  /** `job_id/attempt` of the attempts `self` still runs. */
  mine: ReadonlySet<string>;
  foreignOwners: boolean;
}

/** Whether recovery may look at this job at all (its lease is dead to `as`). */
export const leaseDead = (e: Pick<JobEntry, 'lease'>, now: number, as: RecoverAs): boolean =>
  e.lease === null || e.lease.expires < now || (as.foreignOwners && e.lease.owner !== as.self);

/** Recovers one job (see JobQueue.recover); returns the attempts it closed. */
export function recoverEntry(e: JobEntry, edit: Edit, as: RecoverAs): AbandonedAttempt[] {
  const out: AbandonedAttempt[] = [];
  if (!leaseDead(e, edit.now, as)) return out;
  const stillRuns = (n: number) => e.lease?.owner === as.self && as.mine.has(`${e.job.id}/${n}`);
  const open = e.attempts.filter((a) => a.finished_at === null && !stillRuns(a.number));
  const interrupt = (a: Attempt, failure: Failure) => {
    a.finished_at = iso(edit.now);
    a.failure = failure;
    if (a.cost_usd != null) e.job.cost_usd += a.cost_usd;
    touch(e, edit);
    out.push({
      job_id: e.job.id,
      attempt: a.number,
      sandbox: a.sandbox,
      sandbox_ref: e.sandbox_refs[String(a.number)] ?? null,
    });
  };
  if (e.job.status === 'RUNNING') {
    if (stillRuns(e.job.attempt_count)) return out;
    const failure: Failure = {
      category: 'interrupted',
      message: `the Forge server stopped while this attempt ran (lease expired); the attempt was interrupted`,
    };
    for (const a of open) interrupt(a, failure);
    e.lease = null;
    edit.dirty = true;
    const next = nextAfterAttempt(e.job, e.job.attempt_count, failure, 0);
    if (next.status === 'PENDING') move(e, edit, 'PENDING', null);
    else if (next.status === 'FAILED') move(e, edit, 'FAILED', next.failure);
  } else {
    const message = `the Forge server stopped before this attempt closed (the job was already ${e.job.status}); the attempt was interrupted`;
    for (const a of open) interrupt(a, { category: 'interrupted', message });
  }
  return out;
}

/** Takes over the job's running attempt for `self` (see JobQueue.adopt); its sandbox handle, or
 *  null when it is not one to adopt. */
export function adoptEntry(
  e: JobEntry,
  edit: Edit,
  as: { self: string; foreignOwners: boolean; sandbox: string; leaseMs: number },
): string | null {
  const dead = leaseDead(e, edit.now, {
    self: as.self,
    mine: new Set(),
    foreignOwners: as.foreignOwners,
  });
  if (e.job.status !== 'RUNNING' || !dead) return null;
  const n = e.job.attempt_count;
  const open = openAttempt(e, n);
  const ref = e.sandbox_refs[String(n)];
  if (open?.sandbox !== as.sandbox || ref === undefined) return null;
  e.lease = { owner: as.self, expires: edit.now + as.leaseMs };
  edit.dirty = true;
  return ref;
}
