import { createMemoryStore } from '../../src/adapters/store/memory-store.ts';
import { outboxContract } from './outbox.contract.ts';
import { queueContract } from './queue.contract.ts';
import type { TestClock } from './store-fixtures.ts';
import { stewardStoreContract } from './steward-store.contract.ts';
import { storeContract, type StoreHarness } from './store.contract.ts';

function harness(clock: TestClock): Promise<StoreHarness> {
  const store = createMemoryStore({ clock: clock.now });
  return Promise.resolve({ store, cleanup: () => store.close() });
}

storeContract('memory store', harness, { durable: false });
stewardStoreContract('memory store', harness, false);
queueContract('memory queue', harness);
outboxContract(
  'memory store',
  (clock, route) => {
    const store = createMemoryStore({ clock: clock.now, route });
    return Promise.resolve({ store, cleanup: () => store.close() });
  },
  false,
);
