/**
 * The behaviour every JobStore backend must show, run unchanged against each adapter. Time is
 * passed in (`claim(..., now)`, `recover({now})`) instead of slept through, so no test waits.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isJobId } from '../../src/domain/ids.ts';
import type { Claim, JobStore } from '../../src/ports/store.ts';
import { lifecycleContract } from './store-lifecycle.contract.ts';
import {
  AGENT_FAILED,
  CANCELLED,
  FAILED,
  ISO_MS,
  LEASE_MS,
  OK,
  OWNER,
  UNKNOWN_ID,
  must,
  spec,
  useStore,
  type StoreHarness,
} from './store-fixtures.ts';

export type { StoreHarness };

export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
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

    describe('claim', () => {
      it('claim takes pending jobs oldest first and opens attempt 1 under a lease', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await store.create(spec({ task: `t${i}` }))).job.id);
        const claims: Claim[] = [];
        for (const owner of ['a', 'b', 'c'])
          claims.push(must(await store.claim(owner, LEASE_MS, 'local'), 'claim'));
        expect(claims.map((c) => c.job.id)).toEqual(ids);
        const [first] = claims;
        expect(first).toMatchObject({ attempt: 1, job: { status: 'RUNNING', attempt_count: 1 } });
        const record = must(await store.get(ids[0] ?? ''), 'record');
        expect(record.revision).toBeGreaterThan(1);
        expect(record.updated_at >= record.created_at).toBe(true);
        expect(record.attempts).toStrictEqual([
          {
            number: 1,
            sandbox: 'local',
            started_at: record.attempts[0]?.started_at,
            finished_at: null,
            exit_code: null,
            output: '',
            truncated: false,
            failure: null,
            cost_usd: null,
            turns: null,
            session_id: null,
            summary: null,
          },
        ]);
        expect(record.attempts[0]?.started_at).toMatch(ISO_MS);
      });

      it('claim returns null when no job is pending', async () => {
        expect(await store.claim(OWNER, LEASE_MS, 'local')).toBeNull();
        const { job } = await store.create(spec());
        await store.cancel(job.id, CANCELLED);
        expect(await store.claim(OWNER, LEASE_MS, 'local')).toBeNull();
      });

      it('a job requeued with a backoff is not claimed before its not_before', async () => {
        const { job } = await running();
        const later = Date.now() + 60_000;
        const record = await store.finishAttempt(job.id, OWNER, 1, FAILED, {
          status: 'PENDING',
          not_before: later,
        });
        expect(record).toMatchObject({ status: 'PENDING', failure: null });
        const { job: fresh } = await store.create(spec());
        expect((await store.claim(OWNER, LEASE_MS, 'local', later - 1))?.job.id).toBe(fresh.id);
        expect(await store.claim(OWNER, LEASE_MS, 'local', later - 1)).toBeNull();
        const retried = must(await store.claim(OWNER, LEASE_MS, 'local', later), 'claim');
        expect(retried).toMatchObject({ attempt: 2, job: { id: job.id, attempt_count: 2 } });
      });

      it('concurrent claims never hand one job to two owners', async () => {
        for (let i = 0; i < 10; i++) await store.create(spec({ task: `t${i}` }));
        const other = harness.reopen ? await harness.reopen() : store;
        const claims = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? other : store).claim(`owner-${i}`, LEASE_MS, 'local'),
          ),
        );
        const won = claims.filter((c) => c !== null);
        expect(won).toHaveLength(10);
        expect(new Set(won.map((c) => c.job.id)).size).toBe(10);
        for (const c of won) {
          const record = must(await store.get(c.job.id), 'record');
          expect(record).toMatchObject({ status: 'RUNNING', attempt_count: 1 });
          expect(record.attempts).toHaveLength(1);
        }
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

    describe('leases and attempt progress', () => {
      it('renewLease succeeds only for the owner of a running job, and never after cancel', async () => {
        const { job } = await running();
        expect(await store.renewLease(job.id, OWNER, LEASE_MS)).toBe(true);
        expect(await store.renewLease(job.id, 'someone-else', LEASE_MS)).toBe(false);
        expect(await store.renewLease(UNKNOWN_ID, OWNER, LEASE_MS)).toBe(false);
        await store.cancel(job.id, CANCELLED);
        expect(await store.renewLease(job.id, OWNER, LEASE_MS)).toBe(false);
      });

      it('saveProgress and setSandboxRef update the open attempt, and progress stops once it closed', async () => {
        const { job } = await running();
        await store.setSandboxRef(job.id, 1, 'pid:4242');
        await store.saveProgress(job.id, 1, {
          output: 'half way',
          truncated: true,
          cost_usd: 0.12,
          turns: 3,
          session_id: 'sess-1',
        });
        expect(must(await store.get(job.id), 'record').attempts[0]).toMatchObject({
          output: 'half way',
          truncated: true,
          cost_usd: 0.12,
          turns: 3,
          session_id: 'sess-1',
        });
        await store.finishAttempt(job.id, OWNER, 1, OK, { status: 'SUCCEEDED' });
        await store.saveProgress(job.id, 1, {
          output: 'late write',
          truncated: false,
          cost_usd: 9,
          turns: 9,
          session_id: null,
        });
        expect(must(await store.get(job.id), 'record').attempts[0]).toMatchObject({
          output: 'done',
          truncated: false,
        });
        const abandoned = await running();
        await store.setSandboxRef(abandoned.job.id, 1, 'pid:77');
        const recovered = await store.recover({
          now: Date.now() + 2 * LEASE_MS,
          self: OWNER,
          foreignOwners: false,
        });
        expect(recovered).toEqual([
          { job_id: abandoned.job.id, attempt: 1, sandbox: 'local', sandbox_ref: 'pid:77' },
        ]);
      });

      it('an attempt closed by recovery still counts what it spent', async () => {
        const { job } = await running();
        await store.saveProgress(job.id, 1, {
          output: 'x',
          truncated: false,
          cost_usd: 0.25,
          turns: 1,
          session_id: null,
        });
        await store.recover({ now: Date.now() + 2 * LEASE_MS, self: OWNER, foreignOwners: false });
        const record = must(await store.get(job.id), 'record');
        expect(record.cost_usd).toBeCloseTo(0.25);
        expect(record.attempts[0]?.failure?.category).toBe('interrupted');
      });
    });

    it('every state change appends an event to the job log, in order', async () => {
      const { job } = await running();
      await store.finishAttempt(job.id, OWNER, 1, FAILED, {
        status: 'FAILED',
        failure: AGENT_FAILED,
      });
      const events = await store.events(job.id);
      expect(events.map((e) => [e.type, e.data])).toEqual([
        ['job.created', {}],
        ['job.status', { from: 'PENDING', to: 'RUNNING' }],
        ['attempt.started', { attempt: 1 }],
        ['attempt.finished', { attempt: 1, exit_code: 1, failure: AGENT_FAILED }],
        ['job.status', { from: 'RUNNING', to: 'FAILED', failure: AGENT_FAILED }],
      ]);
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      for (const e of events)
        expect(e).toMatchObject({ job_id: job.id, at: expect.stringMatching(ISO_MS) as unknown });
      expect(await store.events(UNKNOWN_ID)).toEqual([]);
    });

    it('jobs, attempts and events survive reopening the store', async ({ skip }) => {
      if (!harness.reopen) return skip('this backend has no reopen');
      const { job } = await running();
      await store.finishAttempt(
        job.id,
        OWNER,
        1,
        { ...OK, cost_usd: 0.3 },
        { status: 'SUCCEEDED' },
      );
      await store.create(spec(), 'key-1');
      const before = { record: await store.get(job.id), events: await store.events(job.id) };
      await store.close();
      const reopened = await harness.reopen();
      expect(await reopened.get(job.id)).toStrictEqual(before.record);
      expect(await reopened.events(job.id)).toStrictEqual(before.events);
      expect((await reopened.create(spec(), 'key-1')).created).toBe(false);
    });

    it('ping resolves while the store is usable and a closed store rejects as unavailable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await expect(store.ping()).rejects.toMatchObject({ code: 'unavailable' });
    });

    lifecycleContract(ctx);
  });
}
