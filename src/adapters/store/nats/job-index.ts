/**
 * The NATS store's in-memory index over its job view (kv-view.ts): job ids sorted per status, and
 * the jobs with an attempt still open. It is what makes picking the next job, recovering leases
 * and listing a page cost a walk of the jobs that can match, not a sort of every job: at 100,000
 * finished jobs, claiming still looks only at PENDING ones and `GET /jobs?status=RUNNING` only at
 * RUNNING ones. Counts by status come from the same arrays.
 *
 * Job ids are ULIDs, so id order is submission order and a new job almost always goes at the end
 * of its array (the insert checks that first).
 */
import type { JobStatus } from '../../../domain/job.ts';
import type { JobSummary } from '../job-entry.ts';

export interface JobIndex {
  /** Keeps the index in step with the view (kv-view's onChange). */
  change(id: string, before: JobSummary | null, after: JobSummary | null): void;
  /** Ids with this status, oldest first. Do not modify. */
  withStatus(status: JobStatus): readonly string[];
  /** Ids of jobs with an attempt still open (any status). */
  open(): ReadonlySet<string>;
  /** Ids of jobs with deliveries staged in their entry. */
  staged(): ReadonlySet<string>;
  /** Every id, newest first, filtered by status, from the `skip`-th match on; for listing. */
  newestFirst(statuses: readonly JobStatus[] | undefined, skip?: number): Iterable<string>;
  count(statuses?: readonly JobStatus[]): number;
}

const STATUSES: JobStatus[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Index of `id` in the sorted `ids`, or where it would go. */
function position(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insert(ids: string[], id: string): void {
  const last = ids[ids.length - 1];
  if (last === undefined || last < id) {
    ids.push(id);
    return;
  }
  const at = position(ids, id);
  if (ids[at] !== id) ids.splice(at, 0, id);
}

function drop(ids: string[], id: string): void {
  const at = position(ids, id);
  if (ids[at] === id) ids.splice(at, 1);
}

export function createJobIndex(): JobIndex {
  const byStatus = new Map<JobStatus, string[]>(STATUSES.map((s) => [s, []]));
  const all: string[] = [];
  const open = new Set<string>();
  const staged = new Set<string>();
  const ids = (status: JobStatus): string[] => {
    let list = byStatus.get(status);
    if (!list) byStatus.set(status, (list = []));
    return list;
  };
  return {
    change(id, before, after) {
      if (before?.job.status !== after?.job.status) {
        if (before) drop(ids(before.job.status), id);
        if (after) insert(ids(after.job.status), id);
        if (!before && after) insert(all, id);
        if (before && !after) drop(all, id);
      }
      if (after?.open) open.add(id);
      else open.delete(id);
      if (after?.staged) staged.add(id);
      else staged.delete(id);
    },
    withStatus: (status) => ids(status),
    open: () => open,
    staged: () => staged,
    *newestFirst(statuses, skip = 0) {
      const wanted = statuses?.length ? [...new Set(statuses)] : STATUSES;
      // One sorted array holds them all: start at the page, no merge.
      const single =
        wanted.length === STATUSES.length ? all : wanted.length === 1 ? ids(wanted[0]!) : null;
      if (single) {
        for (let i = single.length - 1 - skip; i >= 0; i--) yield single[i]!;
        return;
      }
      let skipped = 0;
      const lists = wanted.map((s) => ids(s));
      // Merge the sorted arrays from their ends.
      const at = lists.map((l) => l.length - 1);
      for (;;) {
        let best = -1;
        for (let i = 0; i < lists.length; i++) {
          if (at[i]! >= 0 && (best < 0 || lists[i]![at[i]!]! > lists[best]![at[best]!]!)) best = i;
        }
        if (best < 0) return;
        const id = lists[best]![at[best]!--]!;
        if (skipped < skip) skipped++;
        else yield id;
      }
    },
    count: (statuses) =>
      (statuses?.length ? [...new Set(statuses)] : STATUSES).reduce((n, s) => n + ids(s).length, 0),
  };
}
