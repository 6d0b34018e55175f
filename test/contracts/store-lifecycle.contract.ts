/** The store contract's state changes after a claim: finishing, cancelling, retrying, recovering. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain/job.ts';
import type { JobStore } from '../../src/ports/store.ts';
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
  type StoreContext,
} from './store-fixtures.ts';

export function lifecycleContract(ctx: StoreContext): void {
  const { running, statusOf } = ctx;
  let store: JobStore;
  beforeEach(() => {
    store = ctx.store;
  });

  describe('finishAttempt', () => {
    it('finishAttempt records the result, adds its cost and moves the job to SUCCEEDED', async () => {
      const { job } = await running();
      const result = {
        ...OK,
        cost_usd: 0.4,
        turns: 7,
        session_id: 'sess-1',
        summary: 'fixed it',
      };
      const record = must(
        await store.finishAttempt(job.id, OWNER, 1, result, { status: 'SUCCEEDED' }),
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
      expect(await store.renewLease(job.id, OWNER, LEASE_MS)).toBe(false);
    });

    it('finishAttempt with FAILED stores the failure on the job and on the attempt', async () => {
      const { job } = await running();
      const record = await store.finishAttempt(job.id, OWNER, 1, FAILED, {
        status: 'FAILED',
        failure: AGENT_FAILED,
      });
      expect(record).toMatchObject({ status: 'FAILED', failure: AGENT_FAILED });
      expect(record?.attempts[0]).toMatchObject({ exit_code: 1, failure: AGENT_FAILED });
    });

    it('finishAttempt records the job result even when the job was cancelled meanwhile', async () => {
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
        await store.finishAttempt(
          job.id,
          OWNER,
          1,
          { ...FAILED, job_result: result },
          { status: 'SUCCEEDED' },
        ),
        'record',
      );
      expect(record.status).toBe('CANCELLED');
      expect(record.result).toEqual(result);
      await store.appendEvent(job.id, 'pr.opened', { number: 3 });
      const events = await store.events(job.id);
      expect(events.at(-1)).toMatchObject({ type: 'pr.opened', data: { number: 3 } });
    });

    it('finishing an already closed attempt keeps its first result and does not add cost twice', async () => {
      const { job } = await running();
      await store.finishAttempt(job.id, OWNER, 1, { ...OK, cost_usd: 1 }, { status: 'SUCCEEDED' });
      const again = await store.finishAttempt(
        job.id,
        OWNER,
        1,
        { ...FAILED, cost_usd: 1 },
        { status: 'FAILED', failure: AGENT_FAILED },
      );
      expect(again).toMatchObject({
        status: 'SUCCEEDED',
        cost_usd: 1,
        attempts: [{ exit_code: 0, output: 'done' }],
      });
    });

    it('a late finishAttempt after cancel closes the attempt but leaves the job CANCELLED', async () => {
      const { job } = await running();
      await store.cancel(job.id, CANCELLED);
      const record = await store.finishAttempt(
        job.id,
        OWNER,
        1,
        { ...OK, cost_usd: 0.2 },
        { status: 'SUCCEEDED' },
      );
      expect(record).toMatchObject({ status: 'CANCELLED', failure: CANCELLED, cost_usd: 0.2 });
      expect(record?.attempts[0]?.finished_at).toMatch(ISO_MS);
    });

    it('a runner that lost its lease cannot finish the attempt that replaced its own', async () => {
      const { job } = await running({}, 'old-runner');
      await store.recover({ now: Date.now() + 2 * LEASE_MS, self: OWNER, foreignOwners: false });
      expect(await store.claim('new-runner', LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
      const late = { status: 'SUCCEEDED' } as const;
      expect(await store.finishAttempt(job.id, 'old-runner', 1, OK, late)).toMatchObject({
        status: 'RUNNING',
        attempts: [{ number: 1, failure: { category: 'interrupted' } }, { finished_at: null }],
      });
      expect(await store.finishAttempt(job.id, 'old-runner', 2, OK, late)).toMatchObject({
        status: 'RUNNING',
        attempts: [{ number: 1 }, { number: 2, finished_at: null }],
      });
      expect(await store.renewLease(job.id, 'new-runner', LEASE_MS)).toBe(true);
      const done = await store.finishAttempt(job.id, 'new-runner', 2, OK, late);
      expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: [{ number: 1 }, { number: 2 }] });
    });

    it('a late finish of an earlier attempt does not move the job its runner claimed again', async () => {
      const { job } = await running();
      await store.recover({ now: Date.now() + 2 * LEASE_MS, self: OWNER, foreignOwners: false });
      expect(await store.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
      const record = await store.finishAttempt(job.id, OWNER, 1, OK, { status: 'SUCCEEDED' });
      expect(record).toMatchObject({ status: 'RUNNING', attempts: [{}, { finished_at: null }] });
    });

    it('finishAttempt returns null for an unknown job', async () => {
      expect(
        await store.finishAttempt(UNKNOWN_ID, OWNER, 1, OK, {
          status: 'SUCCEEDED',
        }),
      ).toBeNull();
    });
  });

  describe('cancel', () => {
    it('cancel moves a PENDING or RUNNING job to CANCELLED with the failure', async () => {
      const { job: pending } = await store.create(spec());
      const cancelled = must(await store.cancel(pending.id, CANCELLED), 'record');
      expect(cancelled).toMatchObject({ status: 'CANCELLED', failure: CANCELLED, attempts: [] });
      expect(cancelled.revision).toBeGreaterThan(pending.revision);
      expect(cancelled.updated_at >= pending.updated_at).toBe(true);
      const { job } = await running();
      expect(await store.cancel(job.id, CANCELLED)).toMatchObject({
        status: 'CANCELLED',
        failure: CANCELLED,
      });
    });

    it('cancel of a terminal job throws conflict and changes nothing', async () => {
      const { job } = await running();
      await store.finishAttempt(job.id, OWNER, 1, OK, { status: 'SUCCEEDED' });
      const before = await store.get(job.id);
      await expect(store.cancel(job.id, CANCELLED)).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('SUCCEEDED') as unknown,
      });
      expect(await store.get(job.id)).toStrictEqual(before);
    });

    it('cancel returns null for an unknown id', async () => {
      expect(await store.cancel(UNKNOWN_ID, CANCELLED)).toBeNull();
    });
  });

  describe('retry', () => {
    it('retry gives a FAILED job a fresh budget and numbers its next attempt contiguously', async () => {
      const { job } = await running({ max_retries: 0 });
      await store.finishAttempt(job.id, OWNER, 1, FAILED, {
        status: 'FAILED',
        failure: AGENT_FAILED,
      });
      const retried = must(await store.retry(job.id), 'record');
      expect(retried).toMatchObject({
        status: 'PENDING',
        failure: null,
        retry_base: 1,
        attempt_count: 1,
      });
      const claim = must(await store.claim(OWNER, LEASE_MS, 'local'), 'claim');
      expect(claim).toMatchObject({ attempt: 2, job: { id: job.id, attempt_count: 2 } });
      const record = await store.finishAttempt(job.id, OWNER, 2, OK, { status: 'SUCCEEDED' });
      expect(record?.attempts.map((a) => a.number)).toEqual([1, 2]);
    });

    it('retry of a CANCELLED job makes it claimable again once its attempt closed', async () => {
      const { job } = await running();
      await store.cancel(job.id, CANCELLED);
      await expect(store.retry(job.id)).rejects.toMatchObject({ code: 'conflict' });
      await store.finishAttempt(job.id, OWNER, 1, OK, { status: 'SUCCEEDED' });
      expect(await store.retry(job.id)).toMatchObject({
        status: 'PENDING',
        failure: null,
        retry_base: 1,
      });
      expect(await store.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
    });

    it('retry refuses PENDING, RUNNING and SUCCEEDED jobs with a conflict', async () => {
      const { job: done } = await running();
      await store.finishAttempt(done.id, OWNER, 1, OK, { status: 'SUCCEEDED' });
      const { job: active } = await running();
      const { job: queued } = await store.create(spec());
      const cases: [string, JobStatus][] = [
        [done.id, 'SUCCEEDED'],
        [active.id, 'RUNNING'],
        [queued.id, 'PENDING'],
      ];
      for (const [id, status] of cases) {
        await expect(store.retry(id)).rejects.toMatchObject({
          code: 'conflict',
          message: expect.stringContaining(status) as unknown,
        });
        expect(await statusOf(id)).toBe(status);
      }
    });

    it('retry returns null for an unknown id', async () => {
      expect(await store.retry(UNKNOWN_ID)).toBeNull();
    });
  });

  describe('recover', () => {
    const expired = () => Date.now() + 2 * LEASE_MS;

    it('recover requeues a job whose lease expired and closes its attempt as interrupted', async () => {
      const { job } = await running({ max_retries: 1 });
      const abandoned = await store.recover({
        now: expired(),
        self: OWNER,
        foreignOwners: false,
      });
      expect(abandoned).toEqual([
        { job_id: job.id, attempt: 1, sandbox: 'local', sandbox_ref: null },
      ]);
      const record = must(await store.get(job.id), 'record');
      expect(record).toMatchObject({ status: 'PENDING', failure: null });
      expect(record.attempts[0]?.failure?.category).toBe('interrupted');
      expect(record.attempts[0]?.finished_at).toMatch(ISO_MS);
      expect(await store.recover({ now: expired(), self: OWNER, foreignOwners: false })).toEqual(
        [],
      );
      expect(await store.renewLease(job.id, OWNER, LEASE_MS)).toBe(false);
      expect(await store.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
    });

    it('recover fails the job as interrupted when no retries are left', async () => {
      const { job } = await running({ max_retries: 0 });
      await store.recover({ now: expired(), self: OWNER, foreignOwners: false });
      const record = must(await store.get(job.id), 'record');
      expect(record.status).toBe('FAILED');
      expect(record.failure?.category).toBe('interrupted');
      expect(record.failure?.message).toMatch(/interrupted/);
    });

    it('recover leaves live leases alone unless foreignOwners takes over other owners', async () => {
      const { job } = await running({}, 'old-server');
      const now = Date.now();
      expect(await store.recover({ now, self: 'new-server', foreignOwners: false })).toEqual([]);
      expect(await store.recover({ now, self: 'old-server', foreignOwners: true })).toEqual([]);
      expect(await statusOf(job.id)).toBe('RUNNING');
      const taken = await store.recover({ now, self: 'new-server', foreignOwners: true });
      expect(taken.map((a) => a.job_id)).toEqual([job.id]);
      expect(await statusOf(job.id)).toBe('PENDING');
    });

    it('recover closes the open attempt of a job cancelled while its runner died', async () => {
      const { job } = await running();
      await store.cancel(job.id, CANCELLED);
      expect(await store.recover({ now: Date.now(), self: OWNER, foreignOwners: false })).toEqual(
        [],
      );
      const abandoned = await store.recover({
        now: expired(),
        self: OWNER,
        foreignOwners: false,
      });
      expect(abandoned.map((a) => a.job_id)).toEqual([job.id]);
      const record = must(await store.get(job.id), 'record');
      expect(record).toMatchObject({ status: 'CANCELLED', failure: CANCELLED });
      expect(record.attempts[0]?.failure?.category).toBe('interrupted');
    });
  });
}
