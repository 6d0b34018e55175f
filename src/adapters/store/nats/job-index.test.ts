import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../domain/job.ts';
import type { JobSummary } from '../job-entry.ts';
import { createJobIndex } from './job-index.ts';

const STATUSES: JobStatus[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

const summary = (id: string, status: JobStatus, open: boolean) =>
  ({
    job: { id, status },
    lease: null,
    not_before: 0,
    open,
    staged: open ? 0 : 1,
  }) as unknown as JobSummary;

describe('job index', () => {
  it('agrees with a sort of every job, whatever the order of changes', () => {
    const change = fc.record({
      id: fc.integer({ min: 0, max: 40 }).map((n) => `J${String(n).padStart(3, '0')}`),
      status: fc.option(fc.constantFrom(...STATUSES), { nil: null }),
      open: fc.boolean(),
    });
    const filter = fc.subarray(STATUSES);
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 200 }),
        filter,
        fc.nat(50),
        (changes, statuses, skip) => {
          const index = createJobIndex();
          const model = new Map<string, JobSummary>();
          for (const c of changes) {
            const before = model.get(c.id) ?? null;
            const after = c.status === null ? null : summary(c.id, c.status, c.open);
            if (after) model.set(c.id, after);
            else model.delete(c.id);
            index.change(c.id, before, after);
          }
          const want = [...model.values()]
            .filter((s) => statuses.length === 0 || statuses.includes(s.job.status))
            .map((s) => s.job.id)
            .sort()
            .reverse();
          expect([...index.newestFirst(statuses)]).toEqual(want);
          expect([...index.newestFirst(statuses, skip)]).toEqual(want.slice(skip));
          expect(index.count(statuses)).toBe(want.length);
          for (const status of STATUSES) {
            expect(index.withStatus(status)).toEqual(
              [...model.values()]
                .filter((s) => s.job.status === status)
                .map((s) => s.job.id)
                .sort(),
            );
          }
          expect([...index.staged()].sort()).toEqual(
            [...model.values()]
              .filter((s) => s.staged > 0)
              .map((s) => s.job.id)
              .sort(),
          );
          expect([...index.open()].sort()).toEqual(
            [...model.values()]
              .filter((s) => s.open)
              .map((s) => s.job.id)
              .sort(),
          );
        },
      ),
    );
  });
});
