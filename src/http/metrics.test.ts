// GET /metrics in process: the text parses, counts move as the runner's events arrive, routes
// are labelled by template, and the endpoint sits behind the tokens unless metrics.public.
import { setImmediate as tick } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import type { Failure } from '../domain/failure.ts';
import type { NextState } from '../domain/lifecycle.ts';
import type { JobStore } from '../ports/store.ts';
import { createApp } from './app.ts';
import { createMetrics } from './metrics.ts';
import { spec } from '../../test/contracts/store-fixtures.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const AGENTS = 'agents: {script: {kind: command, command: [/bin/true]}}';

/** A Prometheus text exposition, strictly parsed: every sample belongs to a declared family. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const [, name, , labels = '', raw] = sample;
    const family = name!.replace(/_(bucket|sum|count|total|created)$/, '');
    expect(types.has(name!) || types.has(family), `no TYPE for ${name}`).toBe(true);
    const pairs = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)];
    expect(pairs.map((p) => p[0]).join('')).toBe(labels);
    const key = pairs
      .map((p) => `${p[1]}=${p[2]}`)
      .sort()
      .join(',');
    // Prometheus parses floats as Go does: NaN in any case, +Inf, -Inf.
    const value = /^[+-]?inf$/i.test(raw!) ? Number(`${raw![0]}Infinity`) : Number(raw);
    expect(Number.isNaN(value) && !/^nan$/i.test(raw!), `bad value in ${line}`).toBe(false);
    samples.set(key ? `${name}{${key}}` : name!, value);
  }
  return samples;
}

function setup(configText = AGENTS, store: JobStore = createMemoryStore()) {
  const config = loadConfig({}, configText);
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(line) });
  const bus = new EventBus(logger);
  const app = createApp({ store, bus, config, logs: createMemoryLogs(), logger });
  const scrape = async (headers: Record<string, string> = {}) => {
    await tick(); // listeners that read the store finish
    const res = await app.request('/metrics', { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  const submit = async () => {
    const res = await app.request('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'count me', tags: ['m'] }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  /** Claims the next job and says so, as the runner does. */
  const claim = async () => {
    const { job, attempt } = (await store.claim('runner', 60_000, 'local'))!;
    bus.publish({ type: 'job.status', jobId: job.id, status: 'RUNNING', attempt, failure: null });
    return { id: job.id, attempt };
  };
  /** Closes the attempt and announces the job's status afterwards, as the runner does. */
  const finish = async (id: string, attempt: number, next: NextState, cost: number) => {
    const failure: Failure | null =
      next.status === 'SUCCEEDED' ? null : { category: 'agent_error', message: 'exit 1' };
    const result = { exit_code: 0, output: '', truncated: false, failure, cost_usd: cost };
    const record = await store.finish({ job_id: id, attempt }, 'runner', result, next);
    bus.publish({
      type: 'job.status',
      jobId: id,
      status: record!.status,
      attempt,
      failure: record!.failure,
    });
  };
  return { app, bus, store, logged, scrape, submit, claim, finish };
}

describe('GET /metrics', () => {
  it('serves parseable Prometheus text with the process metrics and every Forge family', async () => {
    const s = setup();
    const text = await (await s.app.request('/metrics')).text();
    const samples = parseExposition(text);
    expect(samples.has('process_cpu_user_seconds_total')).toBe(true);
    for (const family of [
      'forge_jobs',
      'forge_queue_depth',
      'forge_running_attempts',
      'forge_attempts_started_total',
      'forge_queue_wait_seconds',
      'forge_attempt_duration_seconds',
      'forge_sse_clients',
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
    expect(samples.get('forge_jobs{status=PENDING}')).toBe(0);
  });

  it('moves as jobs are created, claimed, retried, finished and cancelled', async () => {
    const s = setup();
    const first = await s.submit();
    await s.submit();
    let m = await s.scrape();
    expect(m.get('forge_jobs{status=PENDING}')).toBe(2);
    expect(m.get('forge_queue_depth')).toBe(2);

    const a = await s.claim();
    expect(a.id).toBe(first);
    m = await s.scrape();
    expect(m.get('forge_attempts_started_total')).toBe(1);
    expect(m.get('forge_running_attempts')).toBe(1);
    expect(m.get('forge_jobs{status=RUNNING}')).toBe(1);
    expect(m.get('forge_queue_depth')).toBe(1);
    expect(m.get('forge_queue_wait_seconds_count')).toBe(1);

    await s.finish(a.id, a.attempt, { status: 'SUCCEEDED' }, 0.25);
    m = await s.scrape();
    expect(m.get('forge_attempts_finished_total{category=none,outcome=succeeded}')).toBe(1);
    expect(m.get('forge_cost_usd_total{agent=script,profile=none}')).toBe(0.25);
    expect(m.get('forge_attempt_duration_seconds_count')).toBe(1);
    expect(m.get('forge_running_attempts')).toBe(0);
    expect(m.get('forge_jobs{status=SUCCEEDED}')).toBe(1);

    // A retryable failure: the job goes back to PENDING, the category is the attempt's.
    const b = await s.claim();
    await s.finish(b.id, b.attempt, { status: 'PENDING', retry_after_ms: 0 }, 0.5);
    m = await s.scrape();
    expect(m.get('forge_attempts_finished_total{category=agent_error,outcome=retrying}')).toBe(1);
    expect(m.get('forge_cost_usd_total{agent=script,profile=none}')).toBe(0.75);
    expect(m.get('forge_queue_depth')).toBe(1);

    // Cancelled while running: counted once when the job leaves RUNNING; its cost once the
    // attempt closes (the runner announces the status again then).
    const c = await s.claim();
    expect(c).toEqual({ id: b.id, attempt: 2 });
    expect((await s.app.request(`/jobs/${c.id}/cancel`, { method: 'POST' })).status).toBe(200);
    m = await s.scrape();
    expect(m.get('forge_attempts_finished_total{category=cancelled,outcome=cancelled}')).toBe(1);
    expect(m.get('forge_running_attempts')).toBe(0);
    await s.finish(c.id, c.attempt, { status: 'SUCCEEDED' }, 1);
    m = await s.scrape();
    expect(m.get('forge_attempts_finished_total{category=cancelled,outcome=cancelled}')).toBe(1);
    expect(m.get('forge_cost_usd_total{agent=script,profile=none}')).toBe(1.75);
    expect(m.get('forge_attempts_started_total')).toBe(3);
    expect(m.get('forge_attempt_duration_seconds_count')).toBe(3);
    expect(m.get('forge_jobs{status=CANCELLED}')).toBe(1);
  });

  it('labels requests by route template, never by id', async () => {
    const s = setup();
    const id = await s.submit();
    await s.app.request(`/jobs/${id}`);
    await s.app.request('/jobs/01NOSUCHJOB00000000000000');
    await s.app.request('/no/such/route');
    const m = await s.scrape();
    const routes = [...m.keys()]
      .filter((k) => k.startsWith('forge_http_request_duration_seconds_count'))
      .map((k) => k.slice(k.indexOf('{')));
    expect(routes).toEqual(
      expect.arrayContaining([
        '{method=POST,route=/jobs,status=202}',
        '{method=GET,route=/jobs/:id,status=200}',
        '{method=GET,route=/jobs/:id,status=404}',
        '{method=GET,route=unmatched,status=404}',
      ]),
    );
    expect(routes.join()).not.toContain(id);
  });

  it('counts live SSE clients', async () => {
    const s = setup();
    const id = await s.submit();
    const res = await s.app.request(`/jobs/${id}/events`);
    const reader = res.body!.getReader();
    await reader.read(); // the first status event: the stream is open
    expect((await s.scrape()).get('forge_sse_clients')).toBe(1);
    await reader.cancel();
    await expect.poll(async () => (await s.scrape()).get('forge_sse_clients')).toBe(0);
  });

  it('asks for a token unless metrics.public', async () => {
    const tokens = `server: {host: 127.0.0.1, port: 0, tokens: [{name: ops, token: ${TOKEN}, role: viewer}]}`;
    const closed = setup(`${tokens}\n${AGENTS}`);
    const refused = await closed.app.request('/metrics');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'unauthorized' });
    await closed.scrape({ authorization: `Bearer ${TOKEN}` });
    const open = setup(`${tokens}\nmetrics: {public: true}\n${AGENTS}`);
    await open.scrape();
  });

  it('never throws into the bus when the store fails, and still serves the scrape', async () => {
    const store = createMemoryStore();
    const broken: JobStore = {
      ...store,
      get: () => Promise.reject(new Error('store is down')),
      list: () => Promise.reject(new Error('store is down')),
    };
    const s = setup(AGENTS, broken);
    const { job } = await store.create(spec());
    expect(() =>
      s.bus.publish({
        type: 'job.status',
        jobId: job.id,
        status: 'RUNNING',
        attempt: 1,
        failure: null,
      }),
    ).not.toThrow();
    const m = await s.scrape();
    expect(m.get('forge_attempts_started_total')).toBe(1);
    expect(m.has('forge_jobs{status=PENDING}')).toBe(false);
    expect(s.logged.join('')).toContain('store is down');
  });

  it('keeps each instance in its own registry', async () => {
    const store = createMemoryStore();
    const logger = pino({ level: 'silent' });
    const bus = new EventBus(logger);
    const one = createMetrics({ store, bus, logger });
    const two = createMetrics({ store, bus, logger });
    one.sseOpened();
    const text = async (m: typeof one) => (await m.routes.request('/metrics')).text();
    expect(await text(one)).toContain('forge_sse_clients 1');
    expect(await text(two)).toContain('forge_sse_clients 0');
  });
});
