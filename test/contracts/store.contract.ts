/**
 * The behaviour every job records backend must show, run unchanged against each adapter: create,
 * read, list, cancel, retry. The queue's behaviour is queue.contract.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isJobId } from '../../src/domain/ids.ts';
import type { JobStore } from '../../src/ports/store.ts';
import { lifecycleContract } from './store-lifecycle.contract.ts';
import {
  CANCELLED,
  ISO_MS,
  OK,
  OWNER,
  UNKNOWN_ID,
  must,
  spec,
  useStore,
  type StoreHarness,
  type TestClock,
} from './store-fixtures.ts';

export type { StoreHarness };

export function storeContract(
  name: string,
  make: (clock: TestClock) => Promise<StoreHarness>,
  { durable }: { durable: boolean },
): void {
  describe(name, () => {
    const ctx = useStore(make);
    const { running } = ctx;
    let store: JobStore;
    let harness: StoreHarness;
    beforeEach(() => {
      store = ctx.store;
      harness = ctx.harness;
    });

    describe('create and read', () => {
      it('create stores every spec field and starts the job PENDING without attempts', async () => {
        const full = spec();
        const bare = spec({
          profile: null,
          budget_usd: null,
          tags: [],
          model: null,
          max_turns: null,
          repo: null,
        });
        for (const s of [full, bare]) {
          const { job, created } = await store.create(s);
          expect(created).toBe(true);
          expect(isJobId(job.id)).toBe(true);
          expect(job.created_at).toMatch(ISO_MS);
          expect(job).toStrictEqual({
            ...s,
            id: job.id,
            status: 'PENDING',
            created_at: job.created_at,
            updated_at: job.created_at,
            revision: job.revision,
            cost_usd: 0,
            failure: null,
            retry_base: 0,
            attempt_count: 0,
            result: null,
          });
          expect(await store.get(job.id)).toStrictEqual({ ...job, attempts: [] });
        }
      });

      it('get returns null for an unknown id', async () => {
        expect(await store.get(UNKNOWN_ID)).toBeNull();
      });

      it('create with a used idempotency key returns the first job and creates nothing', async () => {
        const first = await store.create(spec(), 'issue-42');
        const again = await store.create(spec({ task: 'something else' }), 'issue-42');
        expect(again).toStrictEqual({ job: first.job, created: false });
        const other = await store.create(spec(), 'issue-43');
        expect(other.created).toBe(true);
        expect(other.job.id).not.toBe(first.job.id);
        expect((await store.list({ limit: 10, offset: 0 })).total).toBe(2);
      });
    });

    describe('list', () => {
      it('list returns jobs newest first without attempts, with the total', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await store.create(spec({ task: `t${i}` }))).job.id);
        const { jobs, total } = await store.list({ limit: 10, offset: 0 });
        expect(total).toBe(3);
        expect(jobs.map((j) => j.id)).toEqual([...ids].reverse());
        for (const job of jobs) expect(job).not.toHaveProperty('attempts');
        const { attempts: _attempts, ...stored } = must(await store.get(ids[0] ?? ''), 'record');
        expect(jobs[2]).toStrictEqual(stored);
      });

      it('list keeps only jobs in one of the given statuses', async () => {
        const { job: pending } = await store.create(spec());
        const { job: cancelled } = await store.create(spec());
        await store.cancel(cancelled.id, CANCELLED);
        const { job: newer } = await store.create(spec());
        const byStatus = async (statuses: ('PENDING' | 'RUNNING' | 'CANCELLED')[]) =>
          (await store.list({ statuses, limit: 10, offset: 0 })).jobs.map((j) => j.id);
        expect(await byStatus(['PENDING'])).toEqual([newer.id, pending.id]);
        expect(await byStatus(['CANCELLED', 'RUNNING'])).toEqual([cancelled.id]);
        expect(await byStatus(['RUNNING'])).toEqual([]);
        expect((await store.list({ statuses: ['PENDING'], limit: 10, offset: 0 })).total).toBe(2);
      });

      it('list keeps only jobs that carry every listed tag', async () => {
        const { job: both } = await store.create(spec({ tags: ['repo:forge', 'ci'] }));
        const { job: ci } = await store.create(spec({ tags: ['ci'] }));
        await store.create(spec({ tags: [] }));
        const byTags = async (tags: string[]) =>
          (await store.list({ tags, limit: 10, offset: 0 })).jobs.map((j) => j.id);
        expect(await byTags(['ci'])).toEqual([ci.id, both.id]);
        expect(await byTags(['ci', 'repo:forge'])).toEqual([both.id]);
        expect(await byTags(['ci', 'nope'])).toEqual([]);
        const filtered = await store.list({
          tags: ['ci'],
          statuses: ['PENDING'],
          limit: 1,
          offset: 0,
        });
        expect(filtered).toMatchObject({ total: 2, jobs: [{ id: ci.id }] });
      });

      it('list keeps only the follow-ups of a job when asked', async () => {
        const { job: parent } = await store.create(spec());
        const { job: first } = await store.create(spec({ parent_id: parent.id }));
        await store.create(spec({ parent_id: first.id }));
        const { job: second } = await store.create(
          spec({ parent_id: parent.id, tags: ['second'] }),
        );
        const of = (parent_id: string, more: object = {}) =>
          store.list({ parent_id, limit: 10, offset: 0, ...more });
        expect(await of(parent.id)).toMatchObject({
          total: 2,
          jobs: [{ id: second.id }, { id: first.id }],
        });
        expect(await of(parent.id, { tags: ['second'], statuses: ['PENDING'] })).toMatchObject({
          total: 1,
          jobs: [{ id: second.id }],
        });
        expect(await of(second.id)).toEqual({ total: 0, jobs: [] });
      });

      it('list pages with limit and offset while total counts every match', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await store.create(spec({ task: `t${i}` }))).job.id);
        const newest = [...ids].reverse();
        const page = async (offset: number) => store.list({ limit: 2, offset });
        expect(await page(0)).toMatchObject({
          total: 5,
          jobs: [{ id: newest[0] }, { id: newest[1] }],
        });
        expect(await page(2)).toMatchObject({
          total: 5,
          jobs: [{ id: newest[2] }, { id: newest[3] }],
        });
        expect(await page(4)).toMatchObject({ total: 5, jobs: [{ id: newest[4] }] });
        expect(await page(6)).toEqual({ total: 5, jobs: [] });
      });
    });

    if (durable) {
      it('jobs and attempts survive reopening the store', async () => {
        const { job } = await running();
        await store.finish(
          { job_id: job.id, attempt: 1 },
          OWNER,
          { ...OK, cost_usd: 0.3 },
          {
            status: 'SUCCEEDED',
          },
        );
        await store.create(spec(), 'key-1');
        const before = await store.get(job.id);
        await store.close();
        const reopened = await must(harness.reopen, 'reopen')();
        expect(await reopened.get(job.id)).toStrictEqual(before);
        expect((await reopened.create(spec(), 'key-1')).created).toBe(false);
      });
    }

    it('ping resolves while the store is usable and a closed store rejects as unavailable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await expect(store.ping()).rejects.toMatchObject({ code: 'unavailable' });
    });

    lifecycleContract(ctx);
  });
}
