/**
 * The REST API's contract, in process (`app.request()`): response shapes, validation errors, list
 * queries, unknown paths and methods. The in-memory store stands behind it; a "blocker" job is
 * claimed straight from the store so that one job is RUNNING and the others stay PENDING. A few
 * of these run against the real server too (test/e2e/api-validation.test.ts).
 */
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createApp } from './app.ts';
import {
  apiAnswer,
  apiRequest,
  expectError,
  type ApiResponse,
  type ListJson,
} from '../../test/support/api-answers.ts';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const UNKNOWN_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

type JobJson = Record<string, unknown> & { id: string; status: string };

const config = loadConfig(
  {},
  `
limits: {max_concurrent: 1, max_duration: 5m}
defaults: {agent: script, max_retries: 0, inactivity_timeout: 30s, max_duration: 1m}
agents:
  script: {kind: command, command: [/bin/true]}
profiles:
  secretive:
    env: {API_TOKEN: profile-env-secret-7f3a}
    mcp_servers:
      tools: {command: mcp-tools, env: {TOOLS_KEY: mcp-env-secret-91c2}}
      remote: {type: http, url: 'https://mcp.example.com', headers: {Authorization: mcp-header-secret-5d8e}}
`,
);
const store = createMemoryStore();
const app = createApp({
  store,
  bus: new EventBus(pino({ level: 'silent' })),
  config,
  logs: createMemoryLogs(),
  logger: pino({ level: 'silent' }),
});

/** The same surface as the end-to-end tests' server, answered in process. */
const forge = {
  async api<T = JobJson>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    return apiAnswer<T>(await app.request(path, apiRequest(method, body, headers)));
  },
  async submit(task: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await forge.api<{ id: string }>('POST', '/jobs', {
      task,
      agent: 'script',
      ...extra,
    });
    if (res.status !== 202)
      throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id;
  },
  async job(id: string): Promise<JobJson> {
    return (await forge.api<JobJson>('GET', `/jobs/${id}`)).body;
  },
};
let blocker: string;

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<unknown>> {
  return forge.api<unknown>('POST', '/jobs', body, headers);
}

async function list(query: string): Promise<ApiResponse<ListJson>> {
  return forge.api<ListJson>('GET', `/jobs${query}`);
}

beforeAll(async () => {
  blocker = await forge.submit('sleep 600000', { tags: ['blocker'] });
  const claim = await store.claim('test-runner', 600_000, 'local');
  expect(claim?.job.id).toBe(blocker);
});

describe('POST /jobs', () => {
  it('answers 202 with exactly {id, status: PENDING, created_at} and a ULID id', async () => {
    const res = await forge.api<Record<string, unknown>>('POST', '/jobs', {
      task: 'print hello',
      agent: 'script',
    });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'status']);
    expect(res.body.id).toMatch(ULID);
    expect(res.body.status).toBe('PENDING');
    expect(new Date(res.body.created_at as string).toISOString()).toBe(res.body.created_at);
  });

  it('gives ids that increase across quick successive submits', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(await forge.submit(`print ${i}`, { tags: ['monotonic'] }));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(ULID);
  });

  it('returns the same job with 200 when an Idempotency-Key is repeated', async () => {
    const first = await post({ task: 'print once' }, { 'Idempotency-Key': 'api-validation-key-1' });
    expect(first.status).toBe(202);
    const again = await post({ task: 'print once' }, { 'Idempotency-Key': 'api-validation-key-1' });
    expect(again.status).toBe(200);
    const a = first.body as { id: string; created_at: string };
    const b = again.body as { id: string; created_at: string; status: string };
    expect(b.id).toBe(a.id);
    expect(b.created_at).toBe(a.created_at);
    expect(b.status).toBe('PENDING');
    const other = await post({ task: 'print once' }, { 'Idempotency-Key': 'api-validation-key-2' });
    expect(other.status).toBe(202);
    expect((other.body as { id: string }).id).not.toBe(a.id);
  });

  it('accepts a task of exactly 100,000 characters', async () => {
    const res = await post({ task: `print ${'x'.repeat(100_000 - 6)}` });
    expect(res.status).toBe(202);
  });

  it('refuses a task over 100,000 characters with 413 payload_too_large', async () => {
    const res = await post({ task: 'x'.repeat(100_001) });
    expectError(res, 413, 'payload_too_large', /task/);
  });

  it('refuses malformed JSON with 400 saying the body is not JSON', async () => {
    expectError(await post('{"task": "print hi"'), 400, 'invalid_request', /JSON/);
  });

  it.each([
    ['an array', [{ task: 'print hi' }]],
    ['a string', 'print hi'],
    ['null', null],
    ['a number', 42],
  ])('refuses a body that is %s with 400 asking for an object', async (_what, body) => {
    expectError(await post(JSON.stringify(body)), 400, 'invalid_request', /JSON object/);
  });

  it.each([
    ['a blank task', { task: '' }, /task/],
    ['a whitespace-only task', { task: ' \n\t ' }, /task/],
    ['a missing task', { agent: 'script' }, /task/],
    ['a task that is not a string', { task: 7 }, /task/],
    ['an unknown field', { task: 'print hi', priority: 'high' }, /priority/],
    ['max_retries -1', { task: 'print hi', max_retries: -1 }, /max_retries/],
    ['max_retries 11', { task: 'print hi', max_retries: 11 }, /max_retries/],
    ['max_retries 1.5', { task: 'print hi', max_retries: 1.5 }, /max_retries/],
    ['max_retries "2"', { task: 'print hi', max_retries: '2' }, /max_retries/],
    ['an unknown agent', { task: 'print hi', agent: 'no-such-agent' }, /agent.*no-such-agent/],
    [
      'an unknown profile',
      { task: 'print hi', profile: 'no-such-profile' },
      /profile.*no-such-profile/,
    ],
    [
      'inactivity_timeout "soon"',
      { task: 'print hi', inactivity_timeout: 'soon' },
      /inactivity_timeout.*soon/,
    ],
    ['max_duration "later"', { task: 'print hi', max_duration: 'later' }, /max_duration/],
    [
      'max_duration over the configured limit',
      { task: 'print hi', max_duration: '6m' },
      /max_duration.*5m/,
    ],
    [
      'inactivity_timeout over the configured limit',
      { task: 'print hi', inactivity_timeout: '2h' },
      /inactivity_timeout/,
    ],
    ['budget_usd over the configured limit', { task: 'print hi', budget_usd: 1000 }, /budget_usd/],
    ['tags that are not a list', { task: 'print hi', tags: 'a,b' }, /tags/],
  ])('refuses %s with 400 invalid_request naming the field', async (_what, body, field) => {
    expectError(await post(body), 400, 'invalid_request', field);
  });

  it('creates no job for a refused request', async () => {
    await post({ task: 'print refused', tags: ['refused'], max_retries: 99 });
    const res = await list('?tags=refused');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
  });
});

describe('GET /jobs', () => {
  const many: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 22; i++)
      many.push(await forge.submit(`print ${i}`, { tags: ['many', i % 2 === 0 ? 'even' : 'odd'] }));
  });

  it('returns 20 jobs by default with the full total', async () => {
    const res = await list('?tags=many');
    expect(res.status).toBe(200);
    expect(res.body.jobs).toHaveLength(20);
    expect(res.body.total).toBe(22);
  });

  it('lists newest first', async () => {
    const res = await list('?tags=many&limit=100');
    expect(res.body.jobs.map((j) => j.id)).toEqual([...many].reverse());
    const times = res.body.jobs.map((j) => Date.parse(j.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('pages with limit and offset', async () => {
    const page = await list('?tags=many&limit=5&offset=20');
    expect(page.body.total).toBe(22);
    expect(page.body.jobs.map((j) => j.id)).toEqual([many[1], many[0]]);
    const second = await list('?tags=many&limit=5&offset=5');
    expect(second.body.jobs.map((j) => j.id)).toEqual([...many].reverse().slice(5, 10));
  });

  it('filters by tags, requiring every tag given', async () => {
    const even = await list('?tags=many,even&limit=100');
    expect(even.body.total).toBe(11);
    expect(even.body.jobs.every((j) => j.tags.includes('even') && j.tags.includes('many'))).toBe(
      true,
    );
    const none = await list('?tags=even,odd');
    expect(none.body).toEqual({ jobs: [], total: 0 });
  });

  it('filters by status case-insensitively and trims each value', async () => {
    const res = await list(`?status=${encodeURIComponent(' failed ,Pending')}&tags=many&limit=100`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(22);
    expect(res.body.jobs.every((j) => j.status === 'PENDING')).toBe(true);
    const running = await list('?status=running');
    expect(running.body.jobs.map((j) => j.id)).toEqual([blocker]);
    expect(running.body.total).toBe(1);
    const failed = await list('?status=FAILED');
    expect(failed.body).toEqual({ jobs: [], total: 0 });
  });

  it('counts every job in total, matching what paging returns', async () => {
    const all = await list('?limit=100');
    const seen = new Set(all.body.jobs.map((j) => j.id));
    for (let offset = 100; offset < all.body.total; offset += 100) {
      for (const j of (await list(`?limit=100&offset=${offset}`)).body.jobs) seen.add(j.id);
    }
    expect(seen.size).toBe(all.body.total);
    expect(seen.has(blocker)).toBe(true);
  });

  it('keeps list items cheap: no attempts and no output', async () => {
    const res = await list('?limit=100');
    expect(res.body.jobs.length).toBeGreaterThan(0);
    for (const job of res.body.jobs) {
      expect(job).not.toHaveProperty('attempts');
      expect(job).not.toHaveProperty('output');
      expect(job).toHaveProperty('id');
      expect(job).toHaveProperty('status');
    }
  });

  it('refuses an unknown status with 400 naming it', async () => {
    expectError(await list('?status=PENDING,sleeping'), 400, 'invalid_request', /status.*sleeping/);
  });

  it.each([['0'], ['101'], ['abc'], ['-1'], ['2.5']])(
    'refuses limit=%s with 400',
    async (limit) => {
      expectError(await list(`?limit=${limit}`), 400, 'invalid_request', /limit/);
    },
  );

  it.each([['-1'], ['abc']])('refuses offset=%s with 400', async (offset) => {
    expectError(await list(`?offset=${offset}`), 400, 'invalid_request', /offset/);
  });

  it('accepts the bounds limit=1 and limit=100', async () => {
    expect((await list('?limit=1')).body.jobs).toHaveLength(1);
    expect((await list('?limit=100')).status).toBe(200);
  });
});

describe('job routes for missing things', () => {
  it('answers 404 JSON for an unknown job', async () => {
    expectError(await forge.api('GET', `/jobs/${UNKNOWN_ID}`), 404, 'not_found', UNKNOWN_ID);
  });

  it('answers 404 when cancelling an unknown job', async () => {
    expectError(
      await forge.api('POST', `/jobs/${UNKNOWN_ID}/cancel`),
      404,
      'not_found',
      UNKNOWN_ID,
    );
  });

  it('answers 404 "no output available" for a job that has not started an attempt', async () => {
    const id = await forge.submit('print later');
    expect((await forge.job(id)).status).toBe('PENDING');
    expectError(
      await forge.api('GET', `/jobs/${id}/output`),
      404,
      'not_found',
      /no output available/,
    );
  });

  it('gives the full record of a pending job with no attempts', async () => {
    const id = await forge.submit('print record', { tags: ['t1', 't2'], max_retries: 3 });
    const job = await forge.job(id);
    expect(job).toMatchObject({
      id,
      task: 'print record',
      agent: 'script',
      status: 'PENDING',
      max_retries: 3,
      tags: ['t1', 't2'],
      source: 'api',
      attempts: [],
    });
    expect(job).not.toHaveProperty('failure');
  });
});

describe('routing', () => {
  it('answers 404 JSON for an unknown path', async () => {
    expectError(await forge.api('GET', '/no/such/path'), 404, 'not_found', /no\/such\/path/);
  });

  it.each([
    ['DELETE', '/jobs', /GET|POST/],
    ['GET', `/jobs/${UNKNOWN_ID}/cancel`, /POST/],
    ['PUT', `/jobs/${UNKNOWN_ID}`, /GET/],
    ['POST', '/health', /GET/],
  ])('answers 405 JSON for %s %s and says which methods work', async (method, path, allowed) => {
    const res = await forge.api(method, path);
    expectError(res, 405, 'method_not_allowed', allowed);
    expect(res.headers.get('allow')).toMatch(allowed);
  });

  it('answers GET /health with 200 {"status":"ok"}', async () => {
    const res = await forge.api('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

describe('POST /jobs/{id}/follow-up', () => {
  it('refuses a body over 256 KiB with 413, malformed JSON and unknown fields with 400, an unknown job with 404', async () => {
    const id = await forge.submit('print parent');
    await forge.api('POST', `/jobs/${id}/cancel`);
    const huge = await forge.api('POST', `/jobs/${id}/follow-up`, {
      message: 'x'.repeat(300 * 1024),
    });
    expectError(huge, 413, 'payload_too_large', /256 KiB/);
    expectError(
      await forge.api('POST', `/jobs/${id}/follow-up`, '{"message": "more'),
      400,
      'invalid_request',
      /JSON/,
    );
    expectError(
      await forge.api('POST', `/jobs/${id}/follow-up`, { message: 'more', repo: 'elsewhere' }),
      400,
      'invalid_request',
      /repo/,
    );
    expectError(
      await forge.api('POST', `/jobs/${'0'.repeat(26)}/follow-up`, { message: 'more' }),
      404,
      'not_found',
      /no job/,
    );
    expect((await forge.api('POST', `/jobs/${id}/follow-up`, { message: 'more' })).status).toBe(
      202,
    );
  });
});

describe('bounds on what a caller may send', () => {
  it('refuses more than 20 tags or statuses in a list filter, naming the limit', async () => {
    const tags = Array.from({ length: 21 }, (_, i) => `t${i}`).join(',');
    expectError(await list(`?tags=${tags}`), 400, 'invalid_request', /tags: 21 values.*20/);
    const statuses = Array.from({ length: 21 }, () => 'PENDING').join(',');
    expectError(await list(`?status=${statuses}`), 400, 'invalid_request', /status: 21 values/);
    expect((await list(`?tags=${tags.split(',').slice(0, 20).join(',')}`)).status).toBe(200);
  });

  it('refuses a filter value over 100 characters', async () => {
    expectError(await list(`?tags=${'x'.repeat(101)}`), 400, 'invalid_request', /101 characters/);
  });

  it("never shows a job's frozen settings, whose env and MCP env and headers may hold secrets", async () => {
    const secrets = ['profile-env-secret-7f3a', 'mcp-env-secret-91c2', 'mcp-header-secret-5d8e'];
    const key = { 'Idempotency-Key': 'api-validation-settings' };
    const answers: ApiResponse<unknown>[] = [
      await post({ task: 'print settings', profile: 'secretive' }, key),
      await post({ task: 'print settings', profile: 'secretive' }, key),
    ];
    const id = (answers[0]!.body as { id: string }).id;
    answers.push(
      await forge.api('GET', `/jobs/${id}`),
      await list('?limit=100'),
      await forge.api('POST', `/jobs/${id}/cancel`),
      await forge.api('POST', `/jobs/${id}/retry`),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 200, 200, 200, 200, 200]);
    expect(answers[2]!.body).toMatchObject({ id, profile: 'secretive' });
    const stream = (await app.request(`/jobs/${id}/events`)).body!.getReader();
    const first = (await stream.read()).value as Uint8Array | undefined;
    const status = new TextDecoder().decode(first);
    await stream.cancel();
    expect(status).toMatch(/^event: status\n/);
    const texts = [...answers.map((a) => JSON.stringify(a.body)), status];
    for (const text of texts) {
      expect(text).not.toContain('"settings"');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    expect((await store.get(id))?.settings.env).toEqual({ API_TOKEN: secrets[0] });
  });

  it.each(['/etc', 'file:///etc/passwd', 'ssh://git@example.com/x.git'])(
    'refuses the repository %s from a caller with 400',
    async (repo) => {
      expectError(await post({ task: 'print hi', repo }), 400, 'invalid_request', /not accepted/);
    },
  );
});
