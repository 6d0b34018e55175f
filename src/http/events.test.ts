// The live stream in process: output is followed in the log at the client's cursor and pace, so a
// client that stops reading holds nothing but its cursor, and one that comes back resumes there.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { ForgeError } from '../domain/errors.ts';
import type { NextState } from '../domain/lifecycle.ts';
import type { AttemptLog, AttemptLogs } from '../ports/logs.ts';
import { createApp } from './app.ts';
import { spec } from '../../test/contracts/store-fixtures.ts';

const config = loadConfig({}, 'agents: {script: {kind: command, command: [/bin/true]}}');

interface SseEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

/** Reads SSE events from a response body as they come, one `next()` at a time. */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const data = field('data');
      if (typeof data === 'string')
        yield {
          event: String(field('event')),
          id: String(field('id')),
          data: JSON.parse(data) as Record<string, unknown>,
        };
    }
  }
}

/** The memory logs, counting what the stream takes from them and telling when a follow ends. */
function watchedLogs() {
  const logs = createMemoryLogs();
  let taken = 0;
  let followEnded: () => void = () => {};
  const watched: AttemptLogs = {
    ...logs,
    async *follow(key, offset, signal) {
      try {
        for await (const chunk of logs.follow(key, offset, signal)) {
          taken = chunk.end;
          yield chunk;
        }
      } finally {
        followEnded();
      }
    },
  };
  return {
    logs: watched,
    taken: () => taken,
    nextFollowEnd: () => new Promise<void>((resolve) => (followEnded = resolve)),
  };
}

async function setup() {
  const store = createMemoryStore();
  const bus = new EventBus(pino({ level: 'silent' }));
  const watched = watchedLogs();
  const app = createApp({
    store,
    bus,
    config,
    logs: watched.logs,
    logger: pino({ level: 'silent' }),
  });
  const { job } = await store.create(spec({ repo: null }));
  let log: AttemptLog | null = null;
  let attempt = 0;
  /** Claims the job's next attempt; its log opens with `open()` (the runner does both). */
  const claim = async () => {
    attempt = (await store.claim('runner', 60_000, 'local'))!.attempt;
    bus.publish({ type: 'job.status', jobId: job.id, status: 'RUNNING', attempt, failure: null });
  };
  const open = () => (log = watched.logs.open({ job_id: job.id, attempt }));
  const start = async () => {
    await claim();
    open();
  };
  const print = (line: string) => {
    const offset = log!.append(Buffer.from(`${line}\n`));
    bus.publish({ type: 'attempt.output', jobId: job.id, attempt, offset, text: line });
  };
  const end = async (next: NextState = { status: 'SUCCEEDED' }) => {
    log!.close();
    const failure = next.status === 'FAILED' ? next.failure : null;
    const key = { job_id: job.id, attempt };
    await store.finish(
      key,
      'runner',
      { exit_code: 0, output: '', truncated: false, failure },
      next,
    );
    bus.publish({ type: 'job.status', jobId: job.id, status: next.status, attempt, failure });
  };
  const connect = async (lastEventId?: string) => {
    const res = await app.request(`/jobs/${job.id}/events`, {
      headers: lastEventId ? { 'last-event-id': lastEventId } : {},
    });
    const stream = events(res.body!);
    return {
      next: async () => (await stream.next()).value as SseEvent | undefined,
      /** Reads to the end of the stream. */
      rest: async () => {
        const all: SseEvent[] = [];
        for await (const e of stream) all.push(e);
        return all;
      },
      /** Leaves without reading further: the body is cancelled, as when a socket closes. */
      leave: () => stream.return(undefined),
    };
  };
  return { job, store, bus, watched, claim, open, start, print, end, connect, log: () => log! };
}

const lines = (events: SseEvent[]) =>
  events.filter((e) => e.event === 'output').map((e) => String(e.data.line));

describe('GET /jobs/{id}/events', () => {
  it('reads the log only as fast as a client that stops reading takes it; the client resumes and sees each line once', async () => {
    const s = await setup();
    await s.start();
    const client = await s.connect();
    const line = (i: number) => `line ${String(i).padStart(5, '0')} ${'x'.repeat(88)}`; // 100 bytes
    s.print(line(0));
    const seen: string[] = [];
    let lastId = '';
    const take = async () => {
      for (let e = await client.next(); e; e = await client.next()) {
        if (e.event !== 'output') continue;
        seen.push(String(e.data.line));
        lastId = e.id;
        return;
      }
    };
    await take();
    for (let i = 1; i < 20_000; i++) s.print(line(i)); // 2 MB the client does not read yet
    // However slowly the client reads, the stream is at most a chunk or so ahead of it.
    for (let i = 0; i < 50; i++) {
      await take();
      const delivered = Number(lastId.split(':')[1]);
      expect(s.watched.taken() - delivered).toBeLessThanOrEqual(200 * 1024);
    }
    expect(s.watched.taken()).toBeLessThan(2_000_000 / 4);
    // The client goes away mid-stream: the server lets go of the log.
    const followEnded = s.watched.nextFollowEnd();
    await client.leave();
    await followEnded;
    await s.end();
    const again = await s.connect(lastId);
    seen.push(...lines(await again.rest()));
    expect(seen).toEqual(Array.from({ length: 20_000 }, (_, i) => line(i)));
  });

  it('ends the stream once the job is finished, after the last line and status', async () => {
    const s = await setup();
    await s.start();
    s.print('only line');
    await s.end();
    const all = await (await s.connect()).rest();
    expect(all.map((e) => e.event)).toEqual(['status', 'output']);
    expect(all[0]?.data).toMatchObject({ status: 'SUCCEEDED' });
    expect(all[1]?.data).toEqual({ attempt: 1, line: 'only line' });
    expect(all[1]?.id).toBe('1:10');
  });

  it('follows a live job through a retry: the first attempt, its status, the second attempt', async () => {
    const s = await setup();
    await s.start();
    const client = await s.connect();
    s.print('first try');
    expect(await client.next()).toMatchObject({
      event: 'status',
      id: '1:0',
      data: { status: 'RUNNING', attempt: 1 },
    });
    expect(await client.next()).toMatchObject({
      event: 'output',
      id: '1:10',
      data: { line: 'first try' },
    });
    await s.end({ status: 'PENDING', retry_after_ms: 0 });
    expect(await client.next()).toMatchObject({
      event: 'status',
      id: '1:10',
      data: { status: 'PENDING' },
    });
    await s.start();
    s.print('second try');
    expect(await client.next()).toMatchObject({
      event: 'status',
      id: '1:10',
      data: { status: 'RUNNING', attempt: 2 },
    });
    expect(await client.next()).toEqual({
      event: 'output',
      id: '2:11',
      data: { attempt: 2, line: 'second try' },
    });
    await s.end();
    expect(await client.rest()).toEqual([
      { event: 'status', id: '2:11', data: { status: 'SUCCEEDED', attempt: 2 } },
    ]);
  });

  it('resumes from a cursor at the end of an attempt with the next attempt only', async () => {
    const s = await setup();
    await s.start();
    s.print('first try');
    await s.end({ status: 'PENDING', retry_after_ms: 0 });
    await s.start();
    s.print('second try');
    await s.end();
    expect(lines(await (await s.connect('1:10')).rest())).toEqual(['second try']);
    expect(lines(await (await s.connect('1:3')).rest())).toEqual(['st try', 'second try']);
    expect(lines(await (await s.connect('2:11')).rest())).toEqual([]);
  });

  it('waits for an attempt whose log is not open yet, then follows it', async () => {
    const s = await setup();
    await s.claim(); // the runner has claimed the job but not opened the log
    const followEnded = s.watched.nextFollowEnd();
    const client = await s.connect();
    expect(await client.next()).toMatchObject({ event: 'status', data: { status: 'RUNNING' } });
    await followEnded; // it found no log yet
    s.open();
    s.print('late start');
    await s.end();
    expect(lines(await client.rest())).toEqual(['late start']);
  });

  it('sends the end of a log that lacks a final newline once the log is closed', async () => {
    const s = await setup();
    await s.start();
    s.print('whole');
    s.log().append(Buffer.from('no newline'));
    await s.end();
    const all = await (await s.connect()).rest();
    expect(lines(all)).toEqual(['whole', 'no newline']);
    expect(all.at(-1)?.id).toBe('1:16');
  });

  it('ends with the status when a job is cancelled before it ever ran', async () => {
    const s = await setup();
    const client = await s.connect();
    expect(await client.next()).toMatchObject({ data: { status: 'PENDING' } });
    await s.store.cancel(s.job.id, { category: 'cancelled', message: 'cancelled via the API' });
    s.bus.publish({
      type: 'job.status',
      jobId: s.job.id,
      status: 'CANCELLED',
      attempt: 0,
      failure: null,
    });
    const rest = await client.rest();
    expect(rest.map((e) => [e.event, e.id])).toEqual([['status', '1:0']]);
    expect(rest[0]?.data).toMatchObject({ status: 'CANCELLED' });
  });

  it('ends the stream and logs why when the logs cannot be read, so the client resumes', async () => {
    const store = createMemoryStore();
    const { job } = await store.create(spec({ repo: null }));
    await store.claim('runner', 60_000, 'local');
    const logged: string[] = [];
    const logs: AttemptLogs = {
      ...createMemoryLogs(),
      follow: () => {
        throw new ForgeError('unavailable', 'logs backend is down');
      },
    };
    const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(line) });
    const bus = new EventBus(logger);
    const app = createApp({ store, bus, config, logs, logger });
    const res = await app.request(`/jobs/${job.id}/events`);
    const all: SseEvent[] = [];
    for await (const e of events(res.body!)) all.push(e);
    expect(all.map((e) => e.event)).toEqual(['status']);
    expect(logged.join('')).toMatch(
      /live stream failed.*logs backend is down|logs backend is down.*live stream failed/,
    );
  });
});
