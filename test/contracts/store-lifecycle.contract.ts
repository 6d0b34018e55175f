/** The store contract's state changes after a claim: finishing, cancelling, retrying, recovering. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain/job.ts';
import type { JobStore } from '../../src/ports/store.ts';
import {
  AGENT_FAILED,
  CANCELLED,
  FAILED,
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
      await store.finish({ job_id: job.id, attempt: 1 }, OWNER, OK, { status: 'SUCCEEDED' });
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
      await store.finish({ job_id: job.id, attempt: 1 }, OWNER, FAILED, {
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
      const record = await store.finish({ job_id: job.id, attempt: 2 }, OWNER, OK, {
        status: 'SUCCEEDED',
      });
      expect(record?.attempts.map((a) => a.number)).toEqual([1, 2]);
    });

    it('retry of a CANCELLED job makes it claimable again once its attempt closed', async () => {
      const { job } = await running();
      await store.cancel(job.id, CANCELLED);
      await expect(store.retry(job.id)).rejects.toMatchObject({ code: 'conflict' });
      await store.finish({ job_id: job.id, attempt: 1 }, OWNER, OK, { status: 'SUCCEEDED' });
      expect(await store.retry(job.id)).toMatchObject({
        status: 'PENDING',
        failure: null,
        retry_base: 1,
      });
      expect(await store.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ attempt: 2 });
    });

    it('retry refuses PENDING, RUNNING and SUCCEEDED jobs with a conflict', async () => {
      const { job: done } = await running();
      await store.finish({ job_id: done.id, attempt: 1 }, OWNER, OK, { status: 'SUCCEEDED' });
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
}
