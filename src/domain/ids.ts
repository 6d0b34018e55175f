import { monotonicFactory } from 'ulid';

/** Job ids are monotonic ULIDs: sortable by creation time, unique even within one millisecond,
 *  so ordering by id is FIFO order. */
const next = monotonicFactory();

export function newJobId(now: number = Date.now()): string {
  return next(now);
}

export function isJobId(value: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
