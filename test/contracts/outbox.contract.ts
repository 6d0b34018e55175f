/** The outbox contract: every store keeps deliveries the same way (see src/ports/outbox.ts). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain/job.ts';
import type { OutboxRoute } from '../../src/ports/outbox.ts';
import type { JobStore } from '../../src/ports/store.ts';
import {
  AGENT_FAILED,
  CANCELLED,
  FAILED,
  LEASE_MS,
  OK,
  OWNER,
  must,
  spec,
  testClock,
} from './store-fixtures.ts';
import type { TestClock } from './store-fixtures.ts';

export type OutboxHarness = (
  clock: TestClock,
  route: OutboxRoute,
) => Promise<{ store: JobStore; reopen?: () => Promise<JobStore>; cleanup: () => Promise<void> }>;

/** Records every change as one delivery to the sink `log`, with what the route saw of the job. */
const recordAll: OutboxRoute = ({ job, from, to }) => [
  {
    sink: 'log',
    event: `${from ?? 'new'}>${to}`,
    job_id: job.id,
    payload: {
      cost: job.cost_usd,
      failure: job.failure?.category ?? null,
      commit: job.result?.commit ?? null,
    },
  },
];

const DELIVERY_LEASE = 30_000;

export function outboxContract(name: string, harness: OutboxHarness, durable: boolean): void {
  describe(`${name}: outbox`, () => {
    let clock: TestClock;
    let store: JobStore;
    let h: Awaited<ReturnType<OutboxHarness>>;
    /** The route throws for changes to this status (a broken route). */
    let breakOn: JobStatus | null;
    beforeEach(async () => {
      clock = testClock();
      breakOn = null;
      h = await harness(clock, (change) => {
        if (change.to === breakOn) throw new Error(`route broke on ${breakOn}`);
        return recordAll(change);
      });
      store = h.store;
    });
    afterEach(() => h.cleanup());

    const events = async (jobId: string) => (await store.deliveriesOf(jobId)).map((d) => d.event);

    it('stores what each job change causes, with the job as it is after the change', async () => {
      const { job } = await store.create(spec());
      const claim = must(await store.claim(OWNER, LEASE_MS, 'local'), 'claim');
      await store.finish(
        { job_id: job.id, attempt: claim.attempt },
        OWNER,
        { ...FAILED, cost_usd: 0.5 },
        {
          status: 'PENDING',
          retry_after_ms: 0,
        },
      );
      must(await store.claim(OWNER, LEASE_MS, 'local'), 'second claim');
      await store.cancel(job.id, CANCELLED);
      await store.finish({ job_id: job.id, attempt: 2 }, OWNER, OK, { status: 'SUCCEEDED' });
      await store.retry(job.id);
      expect(await events(job.id)).toEqual([
        'new>PENDING',
        'PENDING>RUNNING',
        'RUNNING>PENDING',
        'PENDING>RUNNING',
        'RUNNING>CANCELLED',
        'CANCELLED>PENDING',
      ]);
      const retrying = (await store.deliveriesOf(job.id))[2]!;
      expect(retrying.payload).toEqual({ cost: 0.5, failure: null, commit: null });
      expect(retrying).toMatchObject({ state: 'pending', attempts: 0, job_id: job.id, key: null });
    });

    it('stores nothing for a change that was refused', async () => {
      const { job } = await store.create(spec());
      await store.cancel(job.id, CANCELLED);
      await expect(store.cancel(job.id, CANCELLED)).rejects.toMatchObject({ code: 'conflict' });
      // A runner that lost the job cannot move it.
      await store.finish({ job_id: job.id, attempt: 1 }, 'stale', OK, { status: 'SUCCEEDED' });
      expect(await events(job.id)).toEqual(['new>PENDING', 'PENDING>CANCELLED']);
      const { job: done } = await store.create(spec());
      const claim = must(await store.claim(OWNER, LEASE_MS, 'local'), 'claim');
      // A runner whose attempt is not the current one cannot move the job either.
      await store.finish({ job_id: done.id, attempt: claim.attempt + 1 }, OWNER, OK, {
        status: 'SUCCEEDED',
      });
      await store.finish({ job_id: done.id, attempt: claim.attempt }, OWNER, OK, {
        status: 'SUCCEEDED',
      });
      await expect(store.retry(done.id)).rejects.toMatchObject({ code: 'conflict' });
      await expect(store.cancel(done.id, CANCELLED)).rejects.toMatchObject({ code: 'conflict' });
      expect(await events(done.id)).toEqual([
        'new>PENDING',
        'PENDING>RUNNING',
        'RUNNING>SUCCEEDED',
      ]);
    });

    it('records a recovered job’s move like any other', async () => {
      const { job: last } = await store.create(spec({ max_retries: 0 }));
      const { job: again } = await store.create(spec({ max_retries: 1 }));
      await store.claim(OWNER, LEASE_MS, 'local');
      await store.claim(OWNER, LEASE_MS, 'local');
      clock.advance(LEASE_MS + 1);
      await store.recover({ self: 'other', running: [], foreignOwners: false });
      expect(await events(last.id)).toEqual(['new>PENDING', 'PENDING>RUNNING', 'RUNNING>FAILED']);
      expect((await store.deliveriesOf(last.id)).at(-1)?.payload).toMatchObject({
        failure: 'interrupted',
      });
      expect(await events(again.id)).toEqual(['new>PENDING', 'PENDING>RUNNING', 'RUNNING>PENDING']);
    });

    it('takes the oldest due delivery first, also when it was retried', async () => {
      await store.enqueue([{ sink: 'a', event: 'old', job_id: null, payload: {} }]);
      const [old] = await store.take(OWNER, DELIVERY_LEASE, 1);
      await store.settle(old!.id, OWNER, {
        ok: false,
        error: 'down',
        retry_at: clock.now() + 5000,
      });
      clock.advance(1000);
      await store.enqueue([{ sink: 'b', event: 'new', job_id: null, payload: {} }]);
      clock.advance(5000);
      expect((await store.take(OWNER, DELIVERY_LEASE, 10)).map((d) => d.event)).toEqual([
        'old',
        'new',
      ]);
    });

    it('stores a finished job’s move with its result, cost and failure', async () => {
      const { job: won } = await store.create(spec());
      await store.claim(OWNER, LEASE_MS, 'local');
      const result = {
        branch: 'forge/x',
        commit: 'c0ffee',
        changed_files: 1,
        insertions: 2,
        deletions: 0,
      };
      await store.finish(
        { job_id: won.id, attempt: 1 },
        OWNER,
        { ...OK, cost_usd: 0.25, job_result: result },
        { status: 'SUCCEEDED' },
      );
      const { job: lost } = await store.create(spec());
      await store.claim(OWNER, LEASE_MS, 'local');
      await store.finish({ job_id: lost.id, attempt: 1 }, OWNER, FAILED, {
        status: 'FAILED',
        failure: AGENT_FAILED,
      });
      expect((await store.deliveriesOf(won.id)).at(-1)).toMatchObject({
        event: 'RUNNING>SUCCEEDED',
        payload: { cost: 0.25, failure: null, commit: 'c0ffee' },
      });
      expect((await store.deliveriesOf(lost.id)).at(-1)).toMatchObject({
        event: 'RUNNING>FAILED',
        payload: { failure: 'agent_error' },
      });
    });

    it('undoes the whole change when the route throws', async () => {
      breakOn = 'PENDING';
      await expect(store.create(spec(), 'key-1')).rejects.toThrow('route broke on PENDING');
      expect((await store.list({ limit: 10, offset: 0 })).total).toBe(0);
      breakOn = null;
      const { job, created } = await store.create(spec(), 'key-1');
      expect(created).toBe(true);
      // Recovery moves two jobs in one change: the second one's broken route undoes the first's.
      const { job: last } = await store.create(spec({ max_retries: 0 }));
      await store.claim(OWNER, LEASE_MS, 'local');
      await store.claim(OWNER, LEASE_MS, 'local');
      clock.advance(LEASE_MS + 1);
      breakOn = 'FAILED';
      await expect(
        store.recover({ self: 'other', running: [], foreignOwners: false }),
      ).rejects.toThrow('route broke on FAILED');
      for (const id of [job.id, last.id]) {
        expect(must(await store.get(id), 'record')).toMatchObject({
          status: 'RUNNING',
          attempts: [{ finished_at: null }],
        });
      }
      expect(await events(job.id)).toEqual(['new>PENDING', 'PENDING>RUNNING']);
      breakOn = null;
      expect(
        await store.recover({ self: 'other', running: [], foreignOwners: false }),
      ).toHaveLength(2);
      expect(await events(last.id)).toEqual(['new>PENDING', 'PENDING>RUNNING', 'RUNNING>FAILED']);
    });

    it('drops an item whose key was seen before, and says so', async () => {
      const item = { sink: 'intake:tasks', event: 'labels', job_id: null, key: 'd-1', payload: {} };
      expect(await store.enqueue([item, { ...item, key: 'd-2' }])).toEqual([true, true]);
      expect(await store.enqueue([item])).toEqual([false]);
      // Keys are per sink.
      expect(await store.enqueue([{ ...item, sink: 'intake:other' }])).toEqual([true]);
      expect(await store.take(OWNER, DELIVERY_LEASE, 10)).toHaveLength(3);
    });

    it("takes one job's deliveries to one sink in order, never two at once", async () => {
      const { job } = await store.create(spec());
      await store.enqueue([{ sink: 'log', event: 'second', job_id: job.id, payload: {} }]);
      await store.enqueue([{ sink: 'other', event: 'elsewhere', job_id: job.id, payload: {} }]);
      const first = await store.take(OWNER, DELIVERY_LEASE, 10);
      expect(first.map((d) => d.event)).toEqual(['new>PENDING', 'elsewhere']);
      expect(await store.take(OWNER, DELIVERY_LEASE, 10)).toEqual([]);
      // Backing off still blocks the next one: order beats speed.
      await store.settle(first[0]!.id, OWNER, {
        ok: false,
        error: 'down',
        retry_at: clock.now() + 5000,
      });
      expect(await store.take(OWNER, DELIVERY_LEASE, 10)).toEqual([]);
      clock.advance(5000);
      const again = await store.take(OWNER, DELIVERY_LEASE, 10);
      expect(again.map((d) => [d.event, d.attempts, d.last_error])).toEqual([
        ['new>PENDING', 2, 'down'],
      ]);
      await store.settle(again[0]!.id, OWNER, { ok: true });
      expect((await store.take(OWNER, DELIVERY_LEASE, 10)).map((d) => d.event)).toEqual(['second']);
    });

    it('gives up on a delivery when told, and shows the backlog per sink', async () => {
      await store.enqueue([
        { sink: 'telegram:phone', event: 'finished', job_id: null, payload: {} },
        { sink: 'telegram:phone', event: 'finished', job_id: null, payload: {} },
      ]);
      const [a, b] = await store.take(OWNER, DELIVERY_LEASE, 10);
      await store.settle(a!.id, OWNER, { ok: false, error: 'bot token refused', retry_at: null });
      await store.settle(b!.id, OWNER, {
        ok: false,
        error: 'Telegram is down',
        retry_at: clock.now() + 1,
      });
      expect(await store.summary()).toEqual([
        {
          sink: 'telegram:phone',
          pending: 1,
          dead: 1,
          oldest_pending_at: new Date(clock.now()).toISOString(),
          last_error: 'Telegram is down',
        },
      ]);
      clock.advance(10);
      expect(await store.take(OWNER, DELIVERY_LEASE, 10)).toHaveLength(1);
    });

    it('ignores the outcome from a worker that no longer holds the delivery', async () => {
      await store.enqueue([{ sink: 'log', event: 'e', job_id: null, payload: {} }]);
      const [taken] = await store.take('crashed', DELIVERY_LEASE, 1);
      clock.advance(DELIVERY_LEASE + 1);
      const [retaken] = await store.take(OWNER, DELIVERY_LEASE, 1);
      expect(retaken).toMatchObject({ id: taken!.id, attempts: 2 });
      await store.settle(taken!.id, 'crashed', { ok: true });
      await store.settle(retaken!.id, OWNER, { ok: false, error: 'later', retry_at: clock.now() });
      const [third] = await store.take(OWNER, DELIVERY_LEASE, 1);
      expect(third).toMatchObject({ state: 'pending', attempts: 3, last_error: 'later' });
    });

    it('keeps a job’s origin and parent, and finds the newest job of an origin', async () => {
      const origin = {
        kind: 'issue' as const,
        source: 'tasks',
        repo: 'me/tasks',
        number: 7,
        url: 'https://git.example.com/me/tasks/issues/7',
      };
      const { job: first } = await store.create(spec({ origin }));
      const { job: second } = await store.create(spec({ origin, parent_id: first.id }));
      await store.create(spec({ origin: { ...origin, number: 8 } }));
      expect(must(await store.get(second.id), 'record')).toMatchObject({
        origin,
        parent_id: first.id,
      });
      expect((await store.latestFromOrigin('issue:tasks:me/tasks#7'))?.id).toBe(second.id);
      expect(await store.latestFromOrigin('issue:tasks:me/tasks#9')).toBeNull();
    });

    if (durable) {
      it('keeps pending deliveries over a restart, and takes one a dead server held again', async () => {
        const { job } = await store.create(spec());
        const [held] = await store.take('dead-server', DELIVERY_LEASE, 1);
        await store.close();
        const reopened = await h.reopen!();
        expect(await reopened.take(OWNER, DELIVERY_LEASE, 1)).toEqual([]);
        clock.advance(DELIVERY_LEASE + 1);
        const [again] = await reopened.take(OWNER, DELIVERY_LEASE, 1);
        expect(again).toMatchObject({ id: held!.id, job_id: job.id, attempts: 2 });
        await reopened.settle(again!.id, OWNER, { ok: true });
        expect((await reopened.deliveriesOf(job.id))[0]).toMatchObject({ state: 'delivered' });
      });
    }
  });
}
