import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNatsStore } from '../../src/adapters/store/nats/nats-store.ts';
import type { OutboxRoute } from '../../src/ports/outbox.ts';
import type { JobStore } from '../../src/ports/store.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { outboxContract } from './outbox.contract.ts';
import { queueContract } from './queue.contract.ts';
import type { TestClock } from './store-fixtures.ts';
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
