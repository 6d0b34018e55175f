import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../test/support/nats-server.ts';
import { loadConfig } from './config.ts';
import { storeChecks } from './compose-store.ts';

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(() => nats.stop());

describe('forge doctor for the store', () => {
  it('says which NATS answers, with JetStream, and what a newer server would add', async () => {
    const [check] = await storeChecks(loadConfig({}, `store: {kind: nats, url: "${nats.url}"}`));
    expect(check).toMatchObject({ name: 'store', ok: true });
    expect(check!.detail).toMatch(/NATS 2\.\d+\.\d+ at nats:\/\/127\.0\.0\.1:\d+ with JetStream/);
    expect(check!.detail).toContain('2.12+');
  });

  it('fails, saying what to check, when NATS is not there', async () => {
    const [check] = await storeChecks(
      loadConfig({}, 'store: {kind: nats, url: "nats://127.0.0.1:1"}'),
    );
    expect(check).toMatchObject({ name: 'store', ok: false, level: 'error' });
    expect(check!.detail).toContain('-js');
  });

  it('has nothing to say about SQLite', async () => {
    expect(await storeChecks(loadConfig({}, null))).toEqual([]);
  });
});
