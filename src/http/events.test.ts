// The live stream in process: output is read from the log at the client's cursor, so a client
// that stops reading holds nothing but its cursor, and one that comes back resumes exactly there.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createApp } from './app.ts';
import { spec } from '../../test/contracts/store-fixtures.ts';

const config = loadConfig({}, 'agents: {script: {kind: command, command: [/bin/true]}}');

interface SseEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

/** Reads SSE events from a response body as they come. */
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

async function setup() {
  const store = createMemoryStore();
  const bus = new EventBus(pino({ level: 'silent' }));
  const logs = createMemoryLogs();
  const app = createApp({ store, bus, config, logs, logger: pino({ level: 'silent' }) });
  const { job } = await store.create(spec({ repo: null }));
  await store.claim('runner', 60_000, 'local');
  const key = { job_id: job.id, attempt: 1 };
  const log = logs.open(key);
  let offset = 0;
  const print = (line: string) => {
    const bytes = Buffer.from(`${line}\n`);
    log.append(bytes);
    offset += bytes.length;
    bus.publish({ type: 'attempt.output', jobId: job.id, attempt: 1, offset, line });
  };
  const finish = async () => {
    log.close();
    await store.finish(
      key,
      'runner',
      { exit_code: 0, output: '', truncated: false, failure: null },
      { status: 'SUCCEEDED' },
    );
    bus.publish({
      type: 'job.status',
      jobId: job.id,
      status: 'SUCCEEDED',
      attempt: 1,
      failure: null,
    });
  };
  const open = async (lastEventId?: string) => {
    const controller = new AbortController();
    const res = await app.request(`/jobs/${job.id}/events`, {
      headers: lastEventId ? { 'last-event-id': lastEventId } : {},
      signal: controller.signal,
    });
    return { stream: events(res.body!), close: () => controller.abort() };
  };
  return { print, finish, open };
}

describe('GET /jobs/{id}/events', () => {
  it('a client that stops reading while thousands of lines arrive resumes at its cursor and sees each line once', async () => {
    const s = await setup();
    const first = await s.open();
    const seen: string[] = [];
    let lastId = '';
    s.print('line 0');
    for await (const e of first.stream) {
      if (e.event !== 'output') continue;
      seen.push(String(e.data.line));
      lastId = e.id;
      break; // the client reads one line, then goes quiet
    }
    for (let i = 1; i < 5000; i++) s.print(`line ${i}`);
    first.close();
    await s.finish();
    const again = await s.open(lastId);
    for await (const e of again.stream) if (e.event === 'output') seen.push(String(e.data.line));
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => `line ${i}`));
  });

  it('ends the stream once the job is finished, after the last line and status', async () => {
    const s = await setup();
    s.print('only line');
    await s.finish();
    const { stream } = await s.open();
    const all: SseEvent[] = [];
    for await (const e of stream) all.push(e);
    expect(all.map((e) => e.event)).toEqual(['status', 'output']);
    expect(all[0]?.data).toMatchObject({ status: 'SUCCEEDED' });
    expect(all[1]?.data).toEqual({ attempt: 1, line: 'only line' });
  });
});
