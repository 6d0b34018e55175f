// GET /jobs/{id}/log in process: the full log of an attempt, by byte range, from the logs port.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createApp } from './app.ts';
import { apiAnswer, expectError } from '../../test/support/api-answers.ts';
import { spec, UNKNOWN_ID } from '../../test/contracts/store-fixtures.ts';

const config = loadConfig({}, 'agents: {script: {kind: command, command: [/bin/true]}}');

async function setup() {
  const store = createMemoryStore();
  const logs = createMemoryLogs();
  const bus = new EventBus(pino({ level: 'silent' }));
  const app = createApp({ store, bus, config, logs, logger: pino({ level: 'silent' }) });
  const { job } = await store.create(spec({ repo: null }));
  /** Runs one attempt that writes `bytes` to its log. */
  const attempt = async (bytes: Buffer) => {
    const { attempt } = (await store.claim('runner', 60_000, 'local'))!;
    const key = { job_id: job.id, attempt };
    const log = logs.open(key);
    log.append(bytes);
    log.close();
    const result = { exit_code: 1, output: '', truncated: false, failure: null };
    await store.finish(key, 'runner', result, { status: 'PENDING', retry_after_ms: 0 });
  };
  const get = (query = '') => app.request(`/jobs/${job.id}/log${query}`);
  return { app, job, store, attempt, get };
}

describe('GET /jobs/{id}/log', () => {
  it('answers 404 for an unknown job and for a job that has not started an attempt', async () => {
    const s = await setup();
    const unknown = await s.app.request(`/jobs/${UNKNOWN_ID}/log`);
    expectError(await apiAnswer(unknown), 404, 'not_found', UNKNOWN_ID);
    expectError(await apiAnswer(await s.get()), 404, 'not_found', /no log yet/);
  });

  it('gives the latest attempt by default, any attempt asked for, with its size and number', async () => {
    const s = await setup();
    await s.attempt(Buffer.from('first\n'));
    await s.attempt(Buffer.from('second try\n'));
    const latest = await s.get();
    expect(latest.status).toBe(200);
    expect(latest.headers.get('content-type')).toMatch(/text\/plain/);
    expect(latest.headers.get('x-forge-attempt')).toBe('2');
    expect(latest.headers.get('x-forge-log-size')).toBe('11');
    expect(await latest.text()).toBe('second try\n');
    const first = await s.get('?attempt=1');
    expect(first.headers.get('x-forge-attempt')).toBe('1');
    expect(await first.text()).toBe('first\n');
  });

  it('gives the log from a byte offset, and nothing from its end or past it', async () => {
    const s = await setup();
    await s.attempt(Buffer.from('0123456789\n'));
    const from = await s.get('?offset=4');
    expect(await from.text()).toBe('456789\n');
    expect(from.headers.get('x-forge-log-size')).toBe('11');
    for (const offset of [11, 500]) {
      const past = await s.get(`?offset=${offset}`);
      expect(past.status).toBe(200);
      expect(await past.text()).toBe('');
      expect(past.headers.get('x-forge-log-size')).toBe('11');
    }
  });

  it('sends any bytes as they are, invalid UTF-8 included', async () => {
    const s = await setup();
    const bytes = Buffer.from([0x61, 0x80, 0xff, 0x00, 0x0a, 0xc3]);
    await s.attempt(bytes);
    expect(Buffer.from(await (await s.get()).arrayBuffer())).toEqual(bytes);
  });

  it('sends a log of several megabytes whole, piece by piece', async () => {
    const s = await setup();
    const bytes = Buffer.alloc(2.5 * 1024 * 1024 + 7, 'abcdefgh\n');
    await s.attempt(bytes);
    const res = await s.get('?offset=3');
    expect(res.headers.get('x-forge-log-size')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(3))).toBe(true);
  });

  it('answers an empty log for an attempt that has not written one yet', async () => {
    const s = await setup();
    await s.store.claim('runner', 60_000, 'local');
    const res = await s.get();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-forge-log-size')).toBe('0');
    expect(await res.text()).toBe('');
  });

  it.each([['0'], ['3'], ['x']])('refuses attempt=%s with 400 naming the range', async (n) => {
    const s = await setup();
    await s.attempt(Buffer.from('a\n'));
    await s.attempt(Buffer.from('b\n'));
    expectError(
      await apiAnswer(await s.get(`?attempt=${n}`)),
      400,
      'invalid_request',
      /attempt.*1 to 2/,
    );
  });

  it.each([['-1'], ['1.5']])('refuses offset=%s with 400', async (offset) => {
    const s = await setup();
    await s.attempt(Buffer.from('a\n'));
    expectError(
      await apiAnswer(await s.get(`?offset=${offset}`)),
      400,
      'invalid_request',
      /offset/,
    );
  });
});
