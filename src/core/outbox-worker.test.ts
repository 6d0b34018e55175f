// The outbox worker against the in-memory store. Time moves on the store's clock (shared with the
// worker); every wait is on the worker going idle or on the store's state, never a fixed sleep.
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { ForgeError } from '../domain/errors.ts';
import { newJobId } from '../domain/ids.ts';
import type { Delivery, Outbox, OutboxItem } from '../ports/outbox.ts';
import { testClock, type TestClock } from '../../test/contracts/store-fixtures.ts';
import {
  createOutboxWorker,
  DEFAULT_BACKOFF,
  retryDelay,
  type DeliverFn,
  type OutboxWorker,
  type OutboxWorkerOptions,
} from './outbox-worker.ts';

const silent = pino({ level: 'silent' });
const workers: OutboxWorker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
});

interface Harness {
  outbox: Outbox;
  clock: TestClock;
  worker: OutboxWorker;
  /** Enqueues items and makes the worker look at once. */
  enqueue: (...items: OutboxItem[]) => Promise<void>;
  one: (jobId: string) => Promise<Delivery>;
}

function harness(
  sinks: Record<string, DeliverFn>,
  options: Partial<OutboxWorkerOptions> = {},
): Harness {
  const clock = testClock();
  const outbox: Outbox = createMemoryStore({ clock: clock.now });
  const worker = createOutboxWorker({
    outbox,
    deliver: (sink) => sinks[sink] ?? null,
    owner: 'server-a',
    logger: silent,
    clock: clock.now,
    pollMs: 3_600_000, // only wake() makes it look: a test that forgets to wake hangs, not passes
    ...options,
  });
  workers.push(worker);
  worker.start();
  return {
    outbox,
    clock,
    worker,
    enqueue: async (...items) => {
      await outbox.enqueue(items);
      worker.wake();
    },
    one: async (jobId) => {
      const all = await outbox.deliveriesOf(jobId);
      expect(all).toHaveLength(1);
      return all[0]!;
    },
  };
}

function item(jobId: string, overrides: Partial<OutboxItem> = {}): OutboxItem {
  return { sink: 'webhook:ops', event: 'finished', job_id: jobId, payload: {}, ...overrides };
}

/** A deliver function that runs the scripted steps in turn, then succeeds. */
function scripted(...steps: ((signal: AbortSignal) => Promise<void>)[]) {
  const seen: Delivery[] = [];
  const fn = vi.fn<DeliverFn>(async (delivery, signal) => {
    seen.push(delivery);
    await steps.shift()?.(signal);
  });
  return { fn, seen };
}

const fail = (err: Error) => () => Promise.reject(err);

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('outbox worker', () => {
  it('delivers a due delivery and records it delivered', async () => {
    const sink = scripted();
    const h = harness({ 'webhook:ops': sink.fn });
    const job = newJobId();
    await h.enqueue(item(job, { payload: { status: 'SUCCEEDED' } }));
    await h.worker.idle();
    const delivery = await h.one(job);
    expect(delivery).toMatchObject({ state: 'delivered', attempts: 1, last_error: null });
    expect(sink.seen[0]).toMatchObject({ job_id: job, payload: { status: 'SUCCEEDED' } });
  });

  it('retries an unavailable sink after a jittered back-off, then delivers', async () => {
    const sink = scripted(fail(new ForgeError('unavailable', 'webhook ops answered 503')));
    const h = harness({ 'webhook:ops': sink.fn });
    const job = newJobId();
    const start = h.clock.now();
    await h.enqueue(item(job));
    await h.worker.idle();
    const waiting = await h.one(job);
    expect(waiting).toMatchObject({
      state: 'pending',
      attempts: 1,
      last_error: 'webhook ops answered 503',
    });
    expect(waiting.next_at).toBeGreaterThanOrEqual(start + DEFAULT_BACKOFF.baseMs / 2);
    expect(waiting.next_at).toBeLessThanOrEqual(start + DEFAULT_BACKOFF.baseMs);

    h.worker.wake(); // not due yet: nothing happens
    await h.worker.idle();
    expect(sink.fn).toHaveBeenCalledTimes(1);

    h.clock.advance(DEFAULT_BACKOFF.baseMs);
    h.worker.wake();
    await h.worker.idle();
    expect(await h.one(job)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('retries an error that is not a ForgeError, such as a network failure', async () => {
    const h = harness({ 'webhook:ops': scripted(fail(new TypeError('fetch failed'))).fn });
    const job = newJobId();
    await h.enqueue(item(job));
    await h.worker.idle();
    expect(await h.one(job)).toMatchObject({ state: 'pending', last_error: 'fetch failed' });
  });

  it('gives a delivery up at once when the sink refuses it for good', async () => {
    const refusal = new ForgeError('forbidden', 'the token cannot comment: give it issues:write');
    const sink = scripted(fail(refusal));
    const h = harness({ 'webhook:ops': sink.fn });
    const job = newJobId();
    await h.enqueue(item(job));
    await h.worker.idle();
    expect(await h.one(job)).toMatchObject({
      state: 'dead',
      attempts: 1,
      last_error: 'the token cannot comment: give it issues:write',
    });
  });

  it('gives a delivery up when no sink of its name is configured', async () => {
    const h = harness({});
    const job = newJobId();
    await h.enqueue(item(job, { sink: 'telegram:gone' }));
    await h.worker.idle();
    expect(await h.one(job)).toMatchObject({
      state: 'dead',
      last_error: 'no sink named telegram:gone is configured',
    });
  });

  it('gives up after the most attempts, saying how many', async () => {
    const down = () => fail(new ForgeError('unavailable', 'connection refused'));
    const h = harness(
      { 'webhook:ops': scripted(down(), down()).fn },
      { backoff: { maxAttempts: 2 } },
    );
    const job = newJobId();
    await h.enqueue(item(job));
    await h.worker.idle();
    h.clock.advance(DEFAULT_BACKOFF.baseMs);
    h.worker.wake();
    await h.worker.idle();
    expect(await h.one(job)).toMatchObject({
      state: 'dead',
      attempts: 2,
      last_error: 'gave up after 2 tries: connection refused',
    });
  });

  it('cuts off a receiver that never answers, and tries it again later', async () => {
    let firstSignal: AbortSignal | undefined;
    // The first try ignores its signal entirely: the timeout must still free the worker.
    const hang = (signal: AbortSignal) => {
      firstSignal = signal;
      return new Promise<void>(() => {});
    };
    const h = harness({ 'webhook:ops': scripted(hang).fn }, { timeoutMs: 50 });
    const job = newJobId();
    await h.enqueue(item(job));
    await h.worker.idle();
    expect(firstSignal?.aborted).toBe(true);
    expect(await h.one(job)).toMatchObject({
      state: 'pending',
      last_error: 'no answer within 50ms',
    });
    h.clock.advance(DEFAULT_BACKOFF.baseMs);
    h.worker.wake();
    await h.worker.idle();
    expect(await h.one(job)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it("keeps one job's deliveries to a sink in order, even across a retry", async () => {
    const order: string[] = [];
    let failedOnce = false;
    const deliver: DeliverFn = (delivery) => {
      order.push(`${delivery.job_id === jobA ? 'A' : 'B'}:${delivery.event}`);
      if (delivery.event === 'queued' && !failedOnce) {
        failedOnce = true;
        return Promise.reject(new ForgeError('unavailable', 'busy'));
      }
      return Promise.resolve();
    };
    const h = harness({ 'webhook:ops': deliver });
    const jobA = newJobId();
    const jobB = newJobId();
    await h.enqueue(
      item(jobA, { event: 'queued' }),
      item(jobA, { event: 'started' }),
      item(jobA, { event: 'finished' }),
      item(jobB, { event: 'finished' }),
    );
    await h.worker.idle();
    // A's first delivery waits for its retry and holds A's others back; B is not held.
    expect(order).toEqual(['A:queued', 'B:finished']);
    h.clock.advance(DEFAULT_BACKOFF.baseMs);
    h.worker.wake();
    await h.worker.idle();
    expect(order).toEqual(['A:queued', 'B:finished', 'A:queued', 'A:started', 'A:finished']);
    const states = (await h.outbox.deliveriesOf(jobA)).map((d) => d.state);
    expect(states).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('stop() aborts a delivery in flight after the grace period and leaves it due again', async () => {
    let signal: AbortSignal | undefined;
    const started = deferred();
    const waitForAbort = (s: AbortSignal) => {
      signal = s;
      started.resolve();
      return new Promise<void>((_, reject) =>
        s.addEventListener('abort', () => reject(s.reason as Error), { once: true }),
      );
    };
    const h = harness({ 'webhook:ops': scripted(waitForAbort).fn }, { graceMs: 10 });
    const job = newJobId();
    await h.enqueue(item(job));
    await started.promise;
    await h.worker.stop();
    expect(signal?.aborted).toBe(true);
    const delivery = await h.one(job);
    expect(delivery).toMatchObject({ state: 'pending', attempts: 1 });
    expect(delivery.last_error).toMatch(/shutting down/);
    expect(delivery.next_at).toBeLessThanOrEqual(h.clock.now());
  });

  it('stop() lets a delivery that finishes within the grace period finish', async () => {
    const started = deferred();
    const release = deferred();
    const slow = async () => {
      started.resolve();
      await release.promise;
    };
    const h = harness({ 'webhook:ops': scripted(slow).fn }, { graceMs: 60_000 });
    const job = newJobId();
    await h.enqueue(item(job));
    await started.promise;
    const stopped = h.worker.stop();
    release.resolve();
    await stopped;
    expect(await h.one(job)).toMatchObject({ state: 'delivered' });
  });

  it('logs a failure with the delivery, sink and job, never the payload', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const h = harness(
      { 'webhook:ops': scripted(fail(new TypeError('fetch failed'))).fn },
      { logger },
    );
    const job = newJobId();
    await h.enqueue(item(job, { payload: { summary: 'private words from the issue' } }));
    await h.worker.idle();
    const failure = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.jobId);
    expect(failure).toMatchObject({ sink: 'webhook:ops', jobId: job });
    expect(typeof failure?.deliveryId).toBe('number');
    expect(lines.join('\n')).not.toContain('private words');
  });
});

describe('retryDelay', () => {
  it('doubles from the base, jittered within the upper half, and stops at the cap', () => {
    const b = DEFAULT_BACKOFF;
    expect(retryDelay(1, b, () => 0)).toBe(b.baseMs / 2);
    expect(retryDelay(1, b, () => 1)).toBe(b.baseMs);
    expect(retryDelay(3, b, () => 1)).toBe(4 * b.baseMs);
    expect(retryDelay(40, b, () => 1)).toBe(b.maxMs);
    expect(retryDelay(40, b, () => 0)).toBe(b.maxMs / 2);
  });
});
