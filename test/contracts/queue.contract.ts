/**
 * The behaviour every job queue backend must show, run unchanged against each adapter: claims
 * under leases, renewal, finishing an attempt, recovery. Leases are judged on the store's clock,
 * which the harness injects, so time is moved instead of slept through.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Claim, JobStore } from '../../src/ports/store.ts';
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
  type TestClock,
} from './store-fixtures.ts';

export function queueContract(
  name: string,
  make: (clock: TestClock) => Promise<StoreHarness>,
): void {
  describe(name, () => {
    const ctx = useStore(make);
    const { running, statusOf, recoverAfter } = ctx;
    let store: JobStore;
    let harness: StoreHarness;
    let clock: TestClock;
    beforeEach(() => {
      store = ctx.store;
      harness = ctx.harness;
      clock = ctx.clock;
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
            diff_stat: null,
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

      it('a job requeued with a backoff is not claimed before it passed on the store clock', async () => {
        const { job } = await running();
        const later = clock.now() + 60_000;
        const record = await store.finish({ job_id: job.id, attempt: 1 }, OWNER, FAILED, {
          status: 'PENDING',
          retry_after_ms: 60_000,
        });
        expect(record).toMatchObject({ status: 'PENDING', failure: null });
        const { job: fresh } = await store.create(spec());
        clock.set(later - 1);
        expect((await store.claim(OWNER, LEASE_MS, 'local'))?.job.id).toBe(fresh.id);
        expect(await store.claim(OWNER, LEASE_MS, 'local')).toBeNull();
        clock.set(later);
        const retried = must(await store.claim(OWNER, LEASE_MS, 'local'), 'claim');
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

    describe('leases and attempt progress', () => {
      it('renewLease succeeds only for the owner of a running job, and never after cancel', async () => {
        const { job } = await running();
        expect(await store.renew({ job_id: job.id, attempt: 1 }, OWNER, LEASE_MS)).toBe(true);
        expect(await store.renew({ job_id: job.id, attempt: 1 }, 'someone-else', LEASE_MS)).toBe(
          false,
        );
        expect(await store.renew({ job_id: UNKNOWN_ID, attempt: 1 }, OWNER, LEASE_MS)).toBe(false);
        await store.cancel(job.id, CANCELLED);
        expect(await store.renew({ job_id: job.id, attempt: 1 }, OWNER, LEASE_MS)).toBe(false);
      });

      it('saveProgress and setSandboxRef update the open attempt, and progress stops once it closed', async () => {
        const { job } = await running();
        await store.setSandboxRef({ job_id: job.id, attempt: 1 }, 'pid:4242');
        await store.saveProgress(
          { job_id: job.id, attempt: 1 },
          {
            output: 'half way',
            truncated: true,
            cost_usd: 0.12,
            turns: 3,
            session_id: 'sess-1',
          },
        );
        expect(must(await store.get(job.id), 'record').attempts[0]).toMatchObject({
          output: 'half way',
          truncated: true,
          cost_usd: 0.12,
          turns: 3,
          session_id: 'sess-1',
        });
        await store.finish({ job_id: job.id, attempt: 1 }, OWNER, OK, { status: 'SUCCEEDED' });
        await store.saveProgress(
          { job_id: job.id, attempt: 1 },
          {
            output: 'late write',
            truncated: false,
            cost_usd: 9,
            turns: 9,
            session_id: null,
          },
        );
        expect(must(await store.get(job.id), 'record').attempts[0]).toMatchObject({
          output: 'done',
          truncated: false,
        });
        const abandoned = await running();
        await store.setSandboxRef({ job_id: abandoned.job.id, attempt: 1 }, 'pid:77');
        const recovered = await recoverAfter(2 * LEASE_MS, OWNER, false);
        expect(recovered).toEqual([
          { job_id: abandoned.job.id, attempt: 1, sandbox: 'local', sandbox_ref: 'pid:77' },
        ]);
      });

      it('an attempt closed by recovery still counts what it spent, and the job is requeued', async () => {
        const { job } = await running();
        await store.saveProgress(
          { job_id: job.id, attempt: 1 },
          {
            output: 'x',
            truncated: false,
            cost_usd: 0.25,
            turns: 1,
            session_id: null,
          },
        );
        await recoverAfter(2 * LEASE_MS, OWNER, false);
        const record = must(await store.get(job.id), 'record');
        expect(record.cost_usd).toBeCloseTo(0.25);
        expect(record.attempts[0]?.failure?.category).toBe('interrupted');
        // Counting the cost must not stop the same recovery from requeueing the job.
        expect(record.status).toBe('PENDING');
      });
    });

    describe('finish', () => {
      it('finish records the result, adds its cost and moves the job to SUCCEEDED', async () => {
        const { job } = await running();
        const result = {
          ...OK,
          cost_usd: 0.4,
          turns: 7,
          session_id: 'sess-1',
          summary: 'fixed it',
        };
        const record = must(
          await store.finish({ job_id: job.id, attempt: 1 }, OWNER, result, {
            status: 'SUCCEEDED',
          }),
          'record',
        );
        expect(record).toMatchObject({ status: 'SUCCEEDED', failure: null, cost_usd: 0.4 });
        expect(record.revision).toBeGreaterThan(job.revision);
        const [attempt] = record.attempts;
        expect(attempt).toMatchObject({
          exit_code: 0,
          output: 'done',
          cost_usd: 0.4,
          turns: 7,
          session_id: 'sess-1',
          summary: 'fixed it',
        });
        expect(attempt?.finished_at).toMatch(ISO_MS);
        expect(await store.renew({ job_id: job.id, attempt: 1 }, OWNER, LEASE_MS)).toBe(false);
      });

      it('finish with FAILED stores the failure on the job and on the attempt', async () => {
        const { job } = await running();
        const record = await store.finish({ job_id: job.id, attempt: 1 }, OWNER, FAILED, {
          status: 'FAILED',
          failure: AGENT_FAILED,
        });
        expect(record).toMatchObject({ status: 'FAILED', failure: AGENT_FAILED });
        expect(record?.attempts[0]).toMatchObject({ exit_code: 1, failure: AGENT_FAILED });
      });

      it('finish records the job result even when the job was cancelled meanwhile', async () => {
        const { job } = await running();
        await store.cancel(job.id, CANCELLED);
        const result = {
          branch: 'forge/x',
          commit: 'abc123',
          changed_files: 2,
          insertions: 5,
          deletions: 1,
          wip: true,
        };
        const record = must(
          await store.finish(
            { job_id: job.id, attempt: 1 },
            OWNER,
            { ...FAILED, job_result: result },
            { status: 'SUCCEEDED' },
          ),
          'record',
        );
        expect(record.status).toBe('CANCELLED');
        expect(record.result).toEqual(result);
      });

      it('finishing an already closed attempt keeps its first result and does not add cost twice', async () => {
        const { job } = await running();
        await store.finish(
          { job_id: job.id, attempt: 1 },
          OWNER,
          { ...OK, cost_usd: 1 },
          { status: 'SUCCEEDED' },
        );
        const again = await store.finish(
          { job_id: job.id, attempt: 1 },
          OWNER,
          { ...FAILED, cost_usd: 1 },
          { status: 'FAILED', failure: AGENT_FAILED },
        );
        expect(again).toMatchObject({
          status: 'SUCCEEDED',
          cost_usd: 1,
          attempts: [{ exit_code: 0, output: 'done' }],
        });
      });

      it('a late finish after cancel closes the attempt but leaves the job CANCELLED', async () => {
        const { job } = await running();
        await store.cancel(job.id, CANCELLED);
        const record = await store.finish(
          { job_id: job.id, attempt: 1 },
          OWNER,
          { ...OK, cost_usd: 0.2 },
          { status: 'SUCCEEDED' },
        );
        expect(record).toMatchObject({ status: 'CANCELLED', failure: CANCELLED, cost_usd: 0.2 });
        expect(record?.attempts[0]?.finished_at).toMatch(ISO_MS);
      });

      it('a runner that lost its lease cannot finish the attempt that replaced its own', async () => {
        const { job } = await running({}, 'old-runner');
        await recoverAfter(2 * LEASE_MS, OWNER, false);
        expect(await store.claim('new-runner', LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
        const late = { status: 'SUCCEEDED' } as const;
        expect(
          await store.finish({ job_id: job.id, attempt: 1 }, 'old-runner', OK, late),
        ).toMatchObject({
          status: 'RUNNING',
          attempts: [{ number: 1, failure: { category: 'interrupted' } }, { finished_at: null }],
        });
        expect(
          await store.finish({ job_id: job.id, attempt: 2 }, 'old-runner', OK, late),
        ).toMatchObject({
          status: 'RUNNING',
          attempts: [{ number: 1 }, { number: 2, finished_at: null }],
        });
        expect(await store.renew({ job_id: job.id, attempt: 2 }, 'new-runner', LEASE_MS)).toBe(
          true,
        );
        const done = await store.finish({ job_id: job.id, attempt: 2 }, 'new-runner', OK, late);
        expect(done).toMatchObject({
          status: 'SUCCEEDED',
          attempts: [{ number: 1 }, { number: 2 }],
        });
      });

      it('a late finish of an earlier attempt does not move the job its runner claimed again', async () => {
        const { job } = await running();
        await recoverAfter(2 * LEASE_MS, OWNER, false);
        expect(await store.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
        const record = await store.finish({ job_id: job.id, attempt: 1 }, OWNER, OK, {
          status: 'SUCCEEDED',
        });
        expect(record).toMatchObject({ status: 'RUNNING', attempts: [{}, { finished_at: null }] });
      });

      it('finish returns null for an unknown job', async () => {
        expect(
          await store.finish({ job_id: UNKNOWN_ID, attempt: 1 }, OWNER, OK, {
            status: 'SUCCEEDED',
          }),
        ).toBeNull();
      });
    });

    describe('recover', () => {
      it('recover requeues a job whose lease expired and closes its attempt as interrupted', async () => {
        const { job } = await running({ max_retries: 1 });
        const abandoned = await recoverAfter(2 * LEASE_MS, OWNER, false);
        expect(abandoned).toEqual([
          { job_id: job.id, attempt: 1, sandbox: 'local', sandbox_ref: null },
        ]);
        const record = must(await store.get(job.id), 'record');
        expect(record).toMatchObject({ status: 'PENDING', failure: null });
        expect(record.attempts[0]?.failure?.category).toBe('interrupted');
        expect(record.attempts[0]?.finished_at).toMatch(ISO_MS);
        expect(await recoverAfter(2 * LEASE_MS, OWNER, false)).toEqual([]);
        expect(await store.renew({ job_id: job.id, attempt: 1 }, OWNER, LEASE_MS)).toBe(false);
        expect(await store.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
      });

      it('recover fails the job as interrupted when no retries are left', async () => {
        const { job } = await running({ max_retries: 0 });
        await recoverAfter(2 * LEASE_MS, OWNER, false);
        const record = must(await store.get(job.id), 'record');
        expect(record.status).toBe('FAILED');
        expect(record.failure?.category).toBe('interrupted');
        expect(record.failure?.message).toMatch(/interrupted/);
      });

      it('recover leaves live leases alone unless foreignOwners takes over other owners', async () => {
        const { job } = await running({}, 'old-server');
        expect(await recoverAfter(0, 'new-server', false)).toEqual([]);
        expect(await recoverAfter(0, 'old-server', true)).toEqual([]);
        expect(await statusOf(job.id)).toBe('RUNNING');
        const taken = await recoverAfter(0, 'new-server', true);
        expect(taken.map((a) => a.job_id)).toEqual([job.id]);
        expect(await statusOf(job.id)).toBe('PENDING');
      });

      it('recover closes the open attempt of a job cancelled while its runner died', async () => {
        const { job } = await running();
        await store.cancel(job.id, CANCELLED);
        expect(await recoverAfter(0, OWNER, false)).toEqual([]);
        const abandoned = await recoverAfter(2 * LEASE_MS, OWNER, false);
        expect(abandoned.map((a) => a.job_id)).toEqual([job.id]);
        const record = must(await store.get(job.id), 'record');
        expect(record).toMatchObject({ status: 'CANCELLED', failure: CANCELLED });
        expect(record.attempts[0]?.failure?.category).toBe('interrupted');
      });
    });

    describe('adopt', () => {
      const adopt = (self: string, foreignOwners = false, sandbox = 'local') =>
        store.adopt({ self, foreignOwners, sandbox, leaseMs: LEASE_MS });

      it('takes over a running attempt whose runner died, leaving it open and the job RUNNING', async () => {
        const { job } = await running();
        const key = { job_id: job.id, attempt: 1 };
        await store.setSandboxRef(key, 'pod:forge-1');
        expect(await adopt('server-b')).toEqual([]); // the lease is alive
        clock.advance(2 * LEASE_MS);
        const adopted = await adopt('server-b');
        expect(adopted).toEqual([
          {
            job: expect.objectContaining({ id: job.id, status: 'RUNNING' }) as unknown,
            attempt: 1,
            sandbox_ref: 'pod:forge-1',
          },
        ]);
        // The new owner holds it: recovery leaves it, the old owner cannot renew or close it.
        expect(
          await store.recover({ self: 'server-c', running: [], foreignOwners: false }),
        ).toEqual([]);
        expect(await store.renew(key, OWNER, LEASE_MS)).toBe(false);
        expect(await store.renew(key, 'server-b', LEASE_MS)).toBe(true);
        const record = must(await store.get(job.id), 'record');
        expect(record.status).toBe('RUNNING');
        expect(record.attempts[0]?.finished_at).toBeNull();
        const done = await store.finish(key, 'server-b', OK, { status: 'SUCCEEDED' });
        expect(done?.status).toBe('SUCCEEDED');
      });

      it('at start-up with foreign owners, takes over what another server instance held', async () => {
        const { job } = await running();
        await store.setSandboxRef({ job_id: job.id, attempt: 1 }, 'pod:forge-1');
        expect((await adopt('server-b', true)).map((a) => a.job.id)).toEqual([job.id]);
      });

      it('leaves attempts of another sandbox, without a handle, or of a cancelled job to recover', async () => {
        const { job: handled } = await running();
        await store.setSandboxRef({ job_id: handled.id, attempt: 1 }, 'pod:forge-1');
        const { job: bare } = await running(); // no handle recorded
        const { job: cancelled } = await running();
        await store.setSandboxRef({ job_id: cancelled.id, attempt: 1 }, 'pod:forge-3');
        await store.cancel(cancelled.id, CANCELLED);
        clock.advance(2 * LEASE_MS);
        expect(await adopt('server-b', false, 'kubernetes')).toEqual([]);
        expect((await adopt('server-b')).map((a) => a.job.id)).toEqual([handled.id]);
        const recovered = await store.recover({
          self: 'server-b',
          running: [],
          foreignOwners: false,
        });
        expect(recovered.map((a) => a.job_id).sort()).toEqual([bare.id, cancelled.id].sort());
      });
    });

    it('recover never takes a lease its owner still runs, however late the renewal', async () => {
      const { job } = await running();
      const key = { job_id: job.id, attempt: 1 };
      clock.advance(10 * LEASE_MS); // an event-loop stall or a wall-clock jump
      expect(await store.recover({ self: OWNER, running: [key], foreignOwners: false })).toEqual(
        [],
      );
      expect(await statusOf(job.id)).toBe('RUNNING');
      expect(await store.renew(key, OWNER, LEASE_MS)).toBe(true);
      // Once the owner no longer runs it (its attempt crashed), the expired lease is recovered.
      clock.advance(2 * LEASE_MS);
      const taken = await store.recover({ self: OWNER, running: [], foreignOwners: false });
      expect(taken.map((a) => a.job_id)).toEqual([job.id]);
    });

    it('recover leaves the attempt of a cancelled job alone while its owner still closes it', async () => {
      const { job } = await running();
      const key = { job_id: job.id, attempt: 1 };
      await store.cancel(job.id, CANCELLED);
      clock.advance(10 * LEASE_MS); // a slow push after the cancel
      expect(await store.recover({ self: OWNER, running: [key], foreignOwners: false })).toEqual(
        [],
      );
      const result = {
        branch: 'forge/x',
        commit: 'c0ffee',
        changed_files: 1,
        insertions: 1,
        deletions: 0,
        wip: true,
      };
      const record = await store.finish(
        key,
        OWNER,
        { ...OK, job_result: result },
        { status: 'SUCCEEDED' },
      );
      expect(record).toMatchObject({ status: 'CANCELLED', result, attempts: [{ exit_code: 0 }] });
    });

    it('renew is for the attempt the owner runs, not an earlier one of the same job', async () => {
      const { job } = await running({}, 'old-runner');
      await recoverAfter(2 * LEASE_MS, 'someone', false);
      expect(await store.claim('old-runner', LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
      expect(await store.renew({ job_id: job.id, attempt: 1 }, 'old-runner', LEASE_MS)).toBe(false);
      expect(await store.renew({ job_id: job.id, attempt: 2 }, 'old-runner', LEASE_MS)).toBe(true);
    });
  });
}
