import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createNatsStore } from '../../src/adapters/store/nats/nats-store.ts';
import type { OutboxRoute } from '../../src/ports/outbox.ts';
import type { JobStore } from '../../src/ports/store.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { outboxContract } from './outbox.contract.ts';
import { queueContract } from './queue.contract.ts';
import {
  CANCELLED,
  LEASE_MS,
  OK,
  OWNER,
  must,
  spec,
  testClock,
  type TestClock,
} from './store-fixtures.ts';
import { storeContract, type StoreHarness } from './store.contract.ts';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(() => server.stop());

/** Each test gets its own buckets, so tests never see each other's jobs. */
let tests = 0;
function harness(clock: TestClock, route?: OutboxRoute): Promise<StoreHarness> {
  const prefix = `t${++tests}`;
  const open = () =>
    createNatsStore({ url: server.url, prefix, clock: clock.now, ...(route ? { route } : {}) });
  const opened: JobStore[] = [open()];
  return Promise.resolve({
    store: opened[0] as JobStore,
    reopen: () => {
      const store = open();
      opened.push(store);
      return Promise.resolve(store);
    },
    cleanup: async () => {
      for (const store of opened) await store.close();
    },
  });
}

storeContract('nats store', harness, { durable: true });
queueContract('nats queue', harness);
outboxContract('nats store', harness, true);

it('a store whose server cannot be reached rejects as unavailable, naming the URL', async () => {
  const store = createNatsStore({ url: 'nats://127.0.0.1:1' });
  await expect(store.ping()).rejects.toMatchObject({
    code: 'unavailable',
    message: expect.stringContaining('nats://127.0.0.1:1') as unknown,
  });
  await store.close();
});

/** Two servers on one prefix, sharing a test clock. */
function pair() {
  const prefix = `t${++tests}`;
  const clock = testClock();
  const a = createNatsStore({ url: server.url, prefix, clock: clock.now });
  const b = createNatsStore({ url: server.url, prefix, clock: clock.now });
  return { a, b, close: async () => Promise.all([a.close(), b.close()]) };
}

it('a cancel racing a runner on another server is never overwritten', async () => {
  const { a, b, close } = pair();
  for (let i = 0; i < 10; i++) {
    const { job } = await a.create(spec());
    const claim = must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
    const [cancelled, finished] = await Promise.allSettled([
      b.cancel(job.id, CANCELLED),
      a.finish({ job_id: job.id, attempt: claim.attempt }, OWNER, OK, { status: 'SUCCEEDED' }),
    ]);
    expect(finished.status).toBe('fulfilled');
    const record = must(await b.get(job.id), 'record');
    // Whichever came first wins; the other is refused (cancel) or closes only the attempt.
    expect(record.status).toBe(cancelled.status === 'fulfilled' ? 'CANCELLED' : 'SUCCEEDED');
    expect(record.attempts[0]?.finished_at).not.toBeNull();
  }
  await close();
});

it('a server sees jobs another server created after it started, and can claim them', async () => {
  const { a, b, close } = pair();
  await b.ping(); // b is connected and watching before a creates anything
  const { job } = await a.create(spec());
  await vi.waitFor(async () => expect((await b.list({ limit: 10, offset: 0 })).total).toBe(1));
  expect(await b.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ job: { id: job.id } });
  await close();
});

it('tells a server about changes another server made, and only those', async () => {
  const { a, b, close } = pair();
  const seenByB: string[] = [];
  b.onRemoteChange((job) => seenByB.push(`${job.id}:${job.status}`));
  await b.ping();
  const { job } = await a.create(spec());
  await a.claim(OWNER, LEASE_MS, 'local');
  await vi.waitFor(() => expect(seenByB).toContain(`${job.id}:RUNNING`));
  // b's own cancel is not news to b; a hears it from the watch.
  const seenByA: string[] = [];
  a.onRemoteChange((j) => seenByA.push(`${j.id}:${j.status}`));
  await b.cancel(job.id, CANCELLED);
  await vi.waitFor(() => expect(seenByA).toContain(`${job.id}:CANCELLED`));
  expect(seenByB).not.toContain(`${job.id}:CANCELLED`);
  await close();
});

it('jobs survive a restart of nats-server, and the stores reconnect and keep watching', async () => {
  const { a, b, close } = pair();
  const { job } = await a.create(spec(), 'restart-key');
  await b.ping();
  await server.restart();
  await vi.waitFor(() => expect(a.get(job.id)).resolves.toMatchObject({ id: job.id }), {
    timeout: 10_000,
  });
  expect(await a.create(spec(), 'restart-key')).toMatchObject({ created: false });
  const { job: later } = await a.create(spec());
  await vi.waitFor(async () => expect((await b.list({ limit: 10, offset: 0 })).total).toBe(2), {
    timeout: 10_000,
  });
  expect(await b.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ job: { id: job.id } });
  expect(await b.claim(OWNER, LEASE_MS, 'local')).toMatchObject({ job: { id: later.id } });
  await close();
});
