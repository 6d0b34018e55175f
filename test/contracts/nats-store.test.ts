import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNatsStore } from '../../src/adapters/store/nats/nats-store.ts';
import type { JobEntry } from '../../src/adapters/store/job-entry.ts';
import { CLAIM_GRACE_MS } from '../../src/adapters/store/nats/run-slots.ts';
import type { OutboxRoute } from '../../src/ports/outbox.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { outboxContract } from './outbox.contract.ts';
import { queueContract } from './queue.contract.ts';
import {
  CANCELLED,
  LEASE_MS,
  OK,
  OWNER,
  UNKNOWN_ID,
  must,
  reopenableHarness,
  spec,
  testClock,
  type TestClock,
} from './store-fixtures.ts';
import { stewardStoreContract } from './steward-store.contract.ts';
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
  return reopenableHarness(open);
}

storeContract('nats store', harness, { durable: true });
stewardStoreContract('nats store', harness, true);
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

it('two servers claiming at the same instant never both get the job', async () => {
  const { a, b, close } = pair();
  for (let i = 0; i < 10; i++) {
    const { job } = await a.create(spec());
    await vi.waitFor(async () => expect(await b.get(job.id)).not.toBeNull());
    const claims = await Promise.all([
      a.claim('server-a', LEASE_MS, 'local'),
      b.claim('server-b', LEASE_MS, 'local'),
    ]);
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    const record = must(await a.get(job.id), 'record');
    expect(record.attempts).toHaveLength(1);
    await a.cancel(job.id, CANCELLED);
  }
  await close();
});

it('a lease renewal racing recovery of the same lease: exactly one of them wins', async () => {
  const prefix = `t${++tests}`;
  const clock = testClock();
  const a = createNatsStore({ url: server.url, prefix, clock: clock.now });
  const b = createNatsStore({ url: server.url, prefix, clock: clock.now });
  for (let i = 0; i < 10; i++) {
    const { job } = await a.create(spec());
    const claim = must(await a.claim('server-a', 1_000, 'local'), 'claim');
    const key = { job_id: job.id, attempt: claim.attempt };
    await vi.waitFor(async () => expect(await b.get(job.id)).toMatchObject({ status: 'RUNNING' }));
    clock.advance(1_001); // the lease has just expired: a may still renew, b may recover
    const [renewed, abandoned] = await Promise.all([
      a.renew(key, 'server-a', 60_000),
      b.recover({ self: 'server-b', running: [], foreignOwners: false }),
    ]);
    const recovered = abandoned.some((x) => x.job_id === job.id);
    expect(renewed).toBe(!recovered);
    const record = must(await a.get(job.id), 'record');
    if (renewed) {
      expect(record.status).toBe('RUNNING');
      expect(record.attempts[0]?.finished_at).toBeNull();
      await a.cancel(job.id, CANCELLED);
      await a.finish(key, 'server-a', OK, { status: 'SUCCEEDED' });
    } else {
      expect(record.attempts[0]?.failure?.category).toBe('interrupted');
      if (record.status === 'PENDING') await a.cancel(job.id, CANCELLED);
    }
  }
  await Promise.all([a.close(), b.close()]);
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

describe('maxRunning: a cap on open attempts across replicas', () => {
  const OTHER = 'server-b';

  /** Two servers on one prefix with a cap of `max`, and `jobs` pending jobs both can see. */
  async function capped(max: number, jobs: number) {
    const prefix = `t${++tests}`;
    const clock = testClock();
    const open = () =>
      createNatsStore({ url: server.url, prefix, clock: clock.now, maxRunning: max });
    const a = open();
    const b = open();
    await b.ping();
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) ids.push((await a.create(spec())).job.id);
    await vi.waitFor(async () =>
      expect((await b.list({ limit: 100, offset: 0 })).total).toBe(jobs),
    );
    /** Writes a slot key directly, as a replica that crashed would have left it. */
    const writeSlot = async (key: string, value: string) => {
      const nc = await connect({ servers: server.url });
      try {
        const keys = await new Kvm(nc).create(`${prefix}_keys`, { history: 1 });
        await keys.put(key, value);
      } finally {
        await nc.close();
      }
    };
    const running = async () =>
      (await a.list({ statuses: ['RUNNING'], limit: 100, offset: 0 })).total;
    return {
      a,
      b,
      ids,
      clock,
      writeSlot,
      running,
      close: async () => Promise.all([a.close(), b.close()]),
    };
  }

  it('concurrent claims from two servers never open more attempts than the cap', async () => {
    const { a, b, running, close } = await capped(3, 8);
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claim(OWNER, LEASE_MS, 'local')),
    );
    expect(claims.filter(Boolean).length).toBeLessThanOrEqual(3);
    // Whatever lost the race, the cap is reached, and not passed, by claiming on.
    while (await a.claim(OWNER, LEASE_MS, 'local'));
    expect(await b.claim(OTHER, LEASE_MS, 'local')).toBeNull();
    expect(await running()).toBe(3);
    const ids = new Set(claims.filter(Boolean).map((c) => c!.job.id));
    expect(ids.size).toBe(claims.filter(Boolean).length);
    await close();
  });

  it('finishing an attempt on one server frees its slot for the other', async () => {
    const { a, b, close } = await capped(3, 8);
    const first = must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
    must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
    must(await b.claim(OTHER, LEASE_MS, 'local'), 'claim');
    expect(await b.claim(OTHER, LEASE_MS, 'local')).toBeNull();
    await a.finish({ job_id: first.job.id, attempt: first.attempt }, OWNER, OK, {
      status: 'SUCCEEDED',
    });
    expect(await b.claim(OTHER, LEASE_MS, 'local')).not.toBeNull();
    expect(await a.claim(OWNER, LEASE_MS, 'local')).toBeNull();
    await close();
  });

  it("a cancelled job's attempt keeps its slot until its runner finishes it", async () => {
    const { a, b, close } = await capped(1, 3);
    const claim = must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
    await b.cancel(claim.job.id, CANCELLED);
    expect(await b.claim(OTHER, LEASE_MS, 'local')).toBeNull();
    const record = await a.finish({ job_id: claim.job.id, attempt: claim.attempt }, OWNER, OK, {
      status: 'SUCCEEDED',
    });
    expect(record?.status).toBe('CANCELLED');
    expect(await b.claim(OTHER, LEASE_MS, 'local')).not.toBeNull();
    await close();
  });

  it('recovering an expired lease frees its slot', async () => {
    const { a, b, clock, close } = await capped(1, 3);
    const claim = must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
    expect(await b.claim(OTHER, LEASE_MS, 'local')).toBeNull();
    clock.advance(LEASE_MS + 1);
    const abandoned = await b.recover({ self: OTHER, running: [], foreignOwners: false });
    expect(abandoned).toMatchObject([{ job_id: claim.job.id, attempt: claim.attempt }]);
    expect(await b.claim(OTHER, LEASE_MS, 'local')).not.toBeNull();
    // A late finish by the runner that lost the job frees nothing more.
    await a.finish({ job_id: claim.job.id, attempt: claim.attempt }, OWNER, OK, {
      status: 'SUCCEEDED',
    });
    expect(await a.claim(OWNER, LEASE_MS, 'local')).toBeNull();
    await close();
  });

  it('takes over a slot whose job is gone or whose attempt closed without giving it back', async () => {
    const { a, b, ids, clock, writeSlot, close } = await capped(1, 3);
    // The holder's job does not exist.
    await writeSlot('slot.0', `${UNKNOWN_ID}/1@${clock.now()}`);
    const first = must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
    expect(await b.claim(OTHER, LEASE_MS, 'local')).toBeNull();
    await a.finish({ job_id: first.job.id, attempt: first.attempt }, OWNER, OK, {
      status: 'SUCCEEDED',
    });
    // A crash after the attempt closed, before the slot went back.
    await writeSlot('slot.0', `${first.job.id}/${first.attempt}@${clock.now()}`);
    const second = must(await b.claim(OTHER, LEASE_MS, 'local'), 'claim');
    expect(second.job.id).toBe(ids[1]);
    expect(await a.claim(OWNER, LEASE_MS, 'local')).toBeNull();
    await close();
  });

  it('takes over a slot taken for a claim that never wrote its job, once past the grace', async () => {
    const { a, b, ids, clock, writeSlot, close } = await capped(1, 2);
    await writeSlot('slot.0', `${ids[0]}/1@${clock.now()}`);
    // Maybe a claim under way: left alone.
    expect(await a.claim(OWNER, LEASE_MS, 'local')).toBeNull();
    clock.advance(CLAIM_GRACE_MS);
    const claim = must(await b.claim(OTHER, LEASE_MS, 'local'), 'claim');
    expect(claim).toMatchObject({ job: { id: ids[0] }, attempt: 1 });
    expect(await a.claim(OWNER, LEASE_MS, 'local')).toBeNull();
    await close();
  });
});

it("judges leases on the NATS server's clock, so a replica whose clock runs an hour fast recovers nothing early", async () => {
  const prefix = `t${++tests}`;
  const a = createNatsStore({ url: server.url, prefix });
  const fast = createNatsStore({
    url: server.url,
    prefix,
    localClock: () => Date.now() + 3_600_000,
  });
  const { job } = await a.create(spec());
  must(await a.claim('server-a', 60_000, 'local'), 'claim');
  await vi.waitFor(async () => expect(await fast.get(job.id)).toMatchObject({ status: 'RUNNING' }));
  expect(await fast.recover({ self: 'server-fast', running: [], foreignOwners: false })).toEqual(
    [],
  );
  // Its own times are the server's too.
  const { job: mine } = await fast.create(spec());
  expect(Math.abs(Date.parse(mine.created_at) - Date.now())).toBeLessThan(60_000);
  expect(must(await fast.get(job.id), 'record').status).toBe('RUNNING');
  await Promise.all([a.close(), fast.close()]);
});

it('deliveries a replica staged with a change but died before moving are swept into the outbox once, in order', async () => {
  const prefix = `t${++tests}`;
  const route: OutboxRoute = ({ job, to }) => [
    { sink: 'chat', event: to, job_id: job.id, payload: {} },
  ];
  const a = createNatsStore({ url: server.url, prefix, route });
  const { job } = await a.create(spec());
  // What a replica leaves when it dies between its compare-and-set and the move: the change
  // written, its deliveries still staged in the entry.
  const nc = await connect({ servers: server.url });
  const jobs = await new Kvm(nc).open(`${prefix}_jobs`);
  const kvEntry = must(await jobs.get(job.id), 'entry');
  const entry = kvEntry.json<JobEntry>();
  entry.job.revision++;
  entry.job.updated_at = new Date(Date.now() - 60_000).toISOString();
  entry.outbox = ['first', 'second'].map((event, i) => ({
    token: `${job.id}.${entry.job.revision}.${i}`,
    item: { sink: 'chat', event, job_id: job.id, payload: {} },
  }));
  await jobs.update(job.id, JSON.stringify(entry), kvEntry.revision);
  const b = createNatsStore({ url: server.url, prefix, route });
  await b.ping();
  // Both replicas sweep at once; each delivery still lands once.
  await Promise.all([a.take('worker-a', 60_000, 10), b.take('worker-b', 60_000, 10)]);
  const events = (await b.deliveriesOf(job.id)).map((d) => d.event);
  expect(events).toEqual(['PENDING', 'first', 'second']);
  expect(
    must(await jobs.get(job.id), 'entry').json<Record<string, unknown>>().outbox,
  ).toBeUndefined();
  await nc.close();
  await Promise.all([a.close(), b.close()]);
});

it('retention deletes finished jobs older than the cut-off, with their keys and deliveries, on every replica', async () => {
  const prefix = `t${++tests}`;
  const clock = testClock();
  const route: OutboxRoute = ({ job, to }) => [
    { sink: 'chat', event: to, job_id: job.id, payload: {} },
  ];
  const a = createNatsStore({ url: server.url, prefix, clock: clock.now, route });
  const b = createNatsStore({ url: server.url, prefix, clock: clock.now, route });
  const { job: done } = await a.create(spec(), 'old-key');
  const claim = must(await a.claim(OWNER, LEASE_MS, 'local'), 'claim');
  await a.finish({ job_id: done.id, attempt: claim.attempt }, OWNER, OK, { status: 'SUCCEEDED' });
  const { job: cancelled } = await a.create(spec());
  await a.cancel(cancelled.id, CANCELLED);
  const { job: waiting } = await a.create(spec());
  clock.advance(10 * 86_400_000);
  const { job: recent } = await a.create(spec());
  await a.cancel(recent.id, CANCELLED);
  await vi.waitFor(async () => expect((await b.list({ limit: 10, offset: 0 })).total).toBe(4));

  const removed = await a.purgeFinished(clock.now() - 86_400_000);
  expect(removed.sort()).toEqual([done.id, cancelled.id].sort());
  expect(await a.get(done.id)).toBeNull();
  expect(await a.deliveriesOf(done.id)).toEqual([]);
  // The other replica's view drops them too; what is newer or unfinished stays.
  await vi.waitFor(async () =>
    expect((await b.list({ limit: 10, offset: 0 })).jobs.map((j) => j.id).sort()).toEqual(
      [waiting.id, recent.id].sort(),
    ),
  );
  // The idempotency key is free again.
  expect(await b.create(spec(), 'old-key')).toMatchObject({ created: true });
  expect(await a.purgeFinished(clock.now() - 86_400_000)).toEqual([]);
  await Promise.all([a.close(), b.close()]);
});

describe('the wake-up stream', () => {
  it('wakes exactly one replica for each job that becomes claimable, whoever filed it', async () => {
    const prefix = `t${++tests}`;
    const a = createNatsStore({ url: server.url, prefix });
    const b = createNatsStore({ url: server.url, prefix });
    const c = createNatsStore({ url: server.url, prefix });
    const woken: string[] = [];
    b.onWake((id) => woken.push(`b:${id}`));
    c.onWake((id) => woken.push(`c:${id}`));
    await Promise.all([b.ping(), c.ping()]);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await a.create(spec())).job.id);
    // A retry makes a job claimable again: one more wake-up.
    await a.cancel(ids[0]!, CANCELLED);
    await a.retry(ids[0]!);
    await vi.waitFor(() => expect(woken).toHaveLength(7));
    expect(woken.map((w) => w.slice(2)).sort()).toEqual([...ids, ids[0]!].sort());
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('wakes someone again for a job nobody took after its wake-up was used', async () => {
    const prefix = `t${++tests}`;
    const a = createNatsStore({ url: server.url, prefix, reconcileMs: 200 });
    const woken: string[] = [];
    a.onWake((id) => woken.push(id)); // heard, and never claimed
    const { job } = await a.create(spec());
    await vi.waitFor(() => expect(woken.filter((id) => id === job.id).length).toBeGreaterThan(1), {
      timeout: 5_000,
    });
    await a.close();
  });
});
