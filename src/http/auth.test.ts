// API tokens in process: with `server.tokens` every route but /health needs a bearer token, and
// viewers may only read. test/e2e/auth.test.ts checks the real server's wiring and start-up.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createApp } from './app.ts';
import { apiAnswer, apiRequest, expectError } from '../../test/support/api-answers.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

function serve(tokens: string) {
  const config = loadConfig(
    {},
    `
server: {host: 127.0.0.1, port: 0, tokens: ${tokens}}
agents: {script: {kind: command, command: [/bin/true]}}
`,
  );
  const app = createApp({
    store: createMemoryStore(),
    bus: new EventBus(pino({ level: 'silent' })),
    config,
    logs: createMemoryLogs(),
    logger: pino({ level: 'silent' }),
  });
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => apiAnswer<T>(await app.request(path, apiRequest(method, body, headers)));
}

const api = serve(`[
  {name: ops, token: ${ADMIN}, role: admin},
  {name: deploys, token: ${OPERATOR}, role: operator},
  {name: dashboard, token: ${VIEWER}, role: viewer}]`);
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const submit = { task: 'print hi', agent: 'script' };

describe('with server.tokens configured', () => {
  it('leaves /health open without a token', async () => {
    const res = await api('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers 401 to a request without a token and says how to send one', async () => {
    expectError(await api('GET', '/jobs'), 401, 'unauthorized', /Bearer/);
    expectError(await api('POST', '/jobs', submit), 401, 'unauthorized');
    expectError(await api('GET', '/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/events'), 401, 'unauthorized');
  });

  it('answers 401 to a wrong token, including one that differs only in its last character', async () => {
    expectError(
      await api('GET', '/jobs', undefined, bearer('not-a-real-token-0123456789')),
      401,
      'unauthorized',
    );
    expectError(
      await api('GET', '/jobs', undefined, bearer(`${ADMIN.slice(0, -1)}X`)),
      401,
      'unauthorized',
    );
    expectError(await api('GET', '/jobs', undefined, bearer(`${ADMIN}X`)), 401, 'unauthorized');
  });

  it('answers 401 to a token sent without the Bearer scheme', async () => {
    expectError(
      await api('GET', '/jobs', undefined, { authorization: ADMIN }),
      401,
      'unauthorized',
    );
    expectError(
      await api('GET', '/jobs', undefined, { authorization: `Basic ${ADMIN}` }),
      401,
      'unauthorized',
    );
  });

  it('lets an admin submit (202) and read', async () => {
    const res = await api<{ id: string; status: string }>('POST', '/jobs', submit, bearer(ADMIN));
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('PENDING');
    expect((await api('GET', `/jobs/${res.body.id}`, undefined, bearer(ADMIN))).status).toBe(200);
  });

  it('lets an operator submit and cancel', async () => {
    const res = await api<{ id: string }>('POST', '/jobs', submit, bearer(OPERATOR));
    expect(res.status).toBe(202);
    const cancelled = await api('POST', `/jobs/${res.body.id}/cancel`, undefined, bearer(OPERATOR));
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED' });
  });

  it('lets a viewer read (200) but not submit, cancel or retry (403)', async () => {
    const listed = await api<{ jobs: unknown[] }>('GET', '/jobs', undefined, bearer(VIEWER));
    expect(listed.status).toBe(200);
    expect(Array.isArray(listed.body.jobs)).toBe(true);
    expectError(await api('POST', '/jobs', submit, bearer(VIEWER)), 403, 'forbidden', /viewer/);
    const admin = await api<{ id: string }>('POST', '/jobs', submit, bearer(ADMIN));
    expectError(
      await api('POST', `/jobs/${admin.body.id}/cancel`, undefined, bearer(VIEWER)),
      403,
      'forbidden',
    );
    expectError(
      await api('POST', `/jobs/${admin.body.id}/retry`, undefined, bearer(VIEWER)),
      403,
      'forbidden',
    );
    expect((await api('GET', `/jobs/${admin.body.id}/log`, undefined, bearer(VIEWER))).status).toBe(
      404,
    );
  });

  it('creates no job for a refused submission', async () => {
    const refused = { ...submit, tags: ['refused'] };
    await api('POST', '/jobs', refused, bearer(VIEWER));
    await api('POST', '/jobs', refused);
    await api('POST', '/jobs', refused, bearer('not-a-real-token-0123456789'));
    const res = await api<{ total: number }>('GET', '/jobs?tags=refused', undefined, bearer(ADMIN));
    expect(res.body.total).toBe(0);
  });
});

describe('without tokens', () => {
  it('serves the API without a token', async () => {
    const open = serve('[]');
    expect((await open('POST', '/jobs', submit)).status).toBe(202);
    expect((await open('GET', '/jobs')).status).toBe(200);
  });
});
