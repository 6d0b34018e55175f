/**
 * API tokens and start-up refusals, against the real `forge serve`: with `server.tokens` every
 * route but /health needs a bearer token, viewers may only read; binding a non-loopback address
 * without tokens is refused; a config file's problems are all reported at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startForge,
  stopAllForges,
  type ApiResponse,
  type ForgeProcess,
} from '../support/forge-server.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function expectError(res: ApiResponse<unknown>, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error?: unknown; code?: unknown };
  expect(typeof body.error === 'string' && body.error.length > 0).toBe(true);
  expect(body.code).toBe(code);
}

afterAll(async () => {
  await stopAllForges();
});

describe('with server.tokens configured', () => {
  let forge: ForgeProcess;

  beforeAll(async () => {
    forge = await startForge({
      config: {
        server: {
          host: '127.0.0.1',
          port: 0,
          tokens: [
            { name: 'ops', token: ADMIN, role: 'admin' },
            { name: 'dashboard', token: VIEWER, role: 'viewer' },
          ],
        },
      },
    });
  });

  it('leaves /health open without a token', async () => {
    const res = await forge.api('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers 401 to a request without a token and says how to send one', async () => {
    const res = await forge.api<{ error: string }>('GET', '/jobs');
    expectError(res, 401, 'unauthorized');
    expect(res.body.error).toMatch(/Bearer/);
    expectError(await forge.api('POST', '/jobs', { task: 'print hi' }), 401, 'unauthorized');
  });

  it('answers 401 to a wrong token, including one that differs only in its last character', async () => {
    expectError(
      await forge.api('GET', '/jobs', undefined, bearer('not-a-real-token-0123456789')),
      401,
      'unauthorized',
    );
    expectError(
      await forge.api('GET', '/jobs', undefined, bearer(`${ADMIN.slice(0, -1)}X`)),
      401,
      'unauthorized',
    );
    expectError(
      await forge.api('GET', '/jobs', undefined, { authorization: ADMIN }),
      401,
      'unauthorized',
    );
  });

  it('lets an admin submit (202) and read', async () => {
    const res = await forge.api<{ id: string; status: string }>(
      'POST',
      '/jobs',
      { task: 'print hi', agent: 'script' },
      bearer(ADMIN),
    );
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('PENDING');
    const read = await forge.api('GET', `/jobs/${res.body.id}`, undefined, bearer(ADMIN));
    expect(read.status).toBe(200);
  });

  it('lets a viewer read (200) but not submit or cancel (403)', async () => {
    const listed = await forge.api<{ jobs: unknown[]; total: number }>(
      'GET',
      '/jobs',
      undefined,
      bearer(VIEWER),
    );
    expect(listed.status).toBe(200);
    expect(Array.isArray(listed.body.jobs)).toBe(true);

    const submit = await forge.api<{ error: string }>(
      'POST',
      '/jobs',
      { task: 'print hi', agent: 'script' },
      bearer(VIEWER),
    );
    expectError(submit, 403, 'forbidden');
    expect(submit.body.error).toMatch(/viewer/);

    const admin = await forge.api<{ id: string }>(
      'POST',
      '/jobs',
      { task: 'print hi', agent: 'script' },
      bearer(ADMIN),
    );
    expectError(
      await forge.api('POST', `/jobs/${admin.body.id}/cancel`, undefined, bearer(VIEWER)),
      403,
      'forbidden',
    );
  });

  it('creates no job for a refused submission', async () => {
    await forge.api(
      'POST',
      '/jobs',
      { task: 'print refused', agent: 'script', tags: ['refused'] },
      bearer(VIEWER),
    );
    await forge.api('POST', '/jobs', { task: 'print refused', agent: 'script', tags: ['refused'] });
    const res = await forge.api<{ total: number }>(
      'GET',
      '/jobs?tags=refused',
      undefined,
      bearer(ADMIN),
    );
    expect(res.body.total).toBe(0);
  });
});

describe('without tokens on loopback', () => {
  it('serves the API without a token', async () => {
    const forge = await startForge();
    const res = await forge.api('POST', '/jobs', { task: 'print open', agent: 'script' });
    expect(res.status).toBe(202);
    await forge.stop('SIGTERM');
  });
});

describe('refusing to start', () => {
  it('refuses to bind a non-loopback host without tokens, saying to add a token', async () => {
    const started = startForge({ config: { server: { host: '0.0.0.0', port: 0 } } });
    await expect(started).rejects.toThrow(/exited with [1-9]\d*/);
    await expect(started).rejects.toThrow(/server\.host/);
    await expect(started).rejects.toThrow(/tokens/);
  });

  it('reports every problem in the config file at once', async () => {
    const started = startForge({
      config: { limits: { max_concurrent: 0 }, defaults: { agent: 'script', max_retries: 'lots' } },
    });
    await expect(started).rejects.toThrow(/exited with [1-9]\d*/);
    await expect(started).rejects.toThrow(/limits\.max_concurrent/);
    await expect(started).rejects.toThrow(/defaults\.max_retries/);
  });

  it('refuses tokens shorter than 16 characters', async () => {
    const started = startForge({
      config: {
        server: { host: '127.0.0.1', port: 0, tokens: [{ name: 'short', token: 'tooshort' }] },
      },
    });
    await expect(started).rejects.toThrow(/server\.tokens\.0\.token.*16 characters/);
  });
});
