import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsLogs } from '../../src/adapters/logs/nats-logs.ts';
import { ForgeError } from '../../src/domain/errors.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { logsContract } from './logs.contract.ts';

let server: NatsServer;
const opened: { close(): Promise<void> }[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await Promise.all(opened.map((logs) => logs.close()));
  await server?.stop();
});

/** An adapter on its own stream, so tests never see each other's logs. */
function natsLogs(prefix = `t${++prefixes}`) {
  const logs = createNatsLogs({ url: server.url, prefix });
  opened.push(logs);
  return logs;
}

logsContract('nats logs', () => natsLogs());

describe('nats logs across replicas', () => {
  const key = { job_id: '01JOBLOGS0000000000000000C', attempt: 1 };

  it('lets a second replica read and follow a log the first one writes', async () => {
    const prefix = `t${++prefixes}`;
    const writer = natsLogs(prefix);
    const reader = natsLogs(prefix);
    const log = writer.open(key);
    log.append(Buffer.from('one\n'));
    await writer.read(key, 0, 0); // waits until this replica's appends are stored
    expect(await reader.read(key, 0, 100)).toEqual({ bytes: Buffer.from('one\n'), size: 4 });

    const chunks = reader.follow(key, 2, new AbortController().signal)[Symbol.asyncIterator]();
    expect((await chunks.next()).value).toEqual({ bytes: Buffer.from('e\n'), end: 4 });
    const pending = chunks.next();
    log.append(Buffer.from('two\n'));
    expect((await pending).value).toEqual({ bytes: Buffer.from('two\n'), end: 8 });
    log.close();
    expect((await chunks.next()).done).toBe(true);

    const again = reader.open(key); // the attempt resumed on the other replica
    again.append(Buffer.from('three\n'));
    again.close();
    expect((await reader.read(key, 0, 100))?.bytes.toString()).toBe('one\ntwo\nthree\n');
  });

  it("removes every log of a job, and only that job's", async () => {
    const logs = natsLogs();
    const other = { job_id: '01JOBLOGS0000000000000000D', attempt: 1 };
    for (const k of [key, { ...key, attempt: 2 }, other]) {
      const log = logs.open(k);
      log.append(Buffer.from('bytes\n'));
      log.close();
    }
    await logs.read(other, 0, 0);
    await logs.removeJob(key.job_id);
    expect(await logs.read(key, 0, 10)).toBeNull();
    expect(await logs.read({ ...key, attempt: 2 }, 0, 10)).toBeNull();
    expect((await logs.read(other, 0, 10))?.bytes.toString()).toBe('bytes\n');
  });

  it('reports an unreachable server as unavailable, naming its URL', async () => {
    const logs = createNatsLogs({ url: 'nats://127.0.0.1:1' });
    const err = await logs.read(key, 0, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).code).toBe('unavailable');
    expect((err as ForgeError).message).toContain('nats://127.0.0.1:1');
    await logs.close();
  });
});
