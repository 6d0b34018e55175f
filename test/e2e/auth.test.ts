/**
 * API tokens and start-up refusals, against the real `forge serve`: tokens from the config file
 * guard the API (every case of tokens and roles is tested in process in src/http/auth.test.ts);
 * binding a non-loopback address without tokens is refused; a config file's problems are all
 * reported at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api-answers.ts';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

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

  it('needs a token on every route but /health, and gives each role its rights', async () => {
    expect((await forge.api('GET', '/health')).status).toBe(200);
    expectError(await forge.api('GET', '/jobs'), 401, 'unauthorized', /Bearer/);
    expectError(
      await forge.api('GET', '/jobs', undefined, bearer(`${ADMIN.slice(0, -1)}X`)),
      401,
      'unauthorized',
    );
    const res = await forge.api<{ id: string; status: string }>(
      'POST',
      '/jobs',
      { task: 'print hi', agent: 'script' },
      bearer(ADMIN),
    );
    expect(res.status).toBe(202);
    expect((await forge.api('GET', `/jobs/${res.body.id}`, undefined, bearer(VIEWER))).status).toBe(
      200,
    );
    expectError(
      await forge.api('POST', `/jobs/${res.body.id}/cancel`, undefined, bearer(VIEWER)),
      403,
      'forbidden',
    );
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
