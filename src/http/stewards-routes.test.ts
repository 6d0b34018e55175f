// The stewards' routes in process, fed what a careless or hostile caller sends: every answer is a
// clear 4xx naming what to fix, nothing changes, and no body, however large, is read in full.
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createJobControl } from '../core/job-control.ts';
import { createStewards, stewardJobBudget } from '../stewards/stewards.ts';
import { forgeSignature } from '../stewards/wake-signature.ts';
import { createApp } from './app.ts';

const TOKEN = 'an-operator-token-1234';
const SECRET = 'steward-wake-secret-123';

function setUp() {
  const config = loadConfig(
    {},
    `agents: {script: {kind: command, command: [/bin/true]}}
server: {tokens: [{name: ops, token: ${TOKEN}, role: operator}]}
repos: {app: {url: /srv/app.git}}
stewards:
  ci: {repo: app, prompt: watch, triggers: [webhook], webhook_secret: ${SECRET}, notes_max_bytes: 1024}
  quiet: {repo: app, prompt: watch}`,
  );
  const store = createMemoryStore();
  const logger = pino({ level: 'silent' });
  const bus = new EventBus(logger);
  const stewards = createStewards({
    stewards: config.stewards,
    store,
    control: createJobControl({ store, bus, config }),
    bus,
    logger,
    redact: (t) => t,
    jobBudgetUsd: (s) => stewardJobBudget(config, s),
  });
  const app = createApp({ store, bus, config, logs: createMemoryLogs(), logger, stewards });
  const call = (
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      ...(body === undefined ? {} : { body }),
    });
  return { app, store, call };
}

const error = async (res: Response) => (await res.json()) as { error: string; code: string };

describe('the stewards routes', () => {
  it('refuse notes that are not {text, version?}, or over the cap, and keep none', async () => {
    const { call, store } = setUp();
    const cases: Array<[string, number, RegExp]> = [
      ['not json', 400, /not JSON/],
      ['[]', 400, /"text"/],
      ['{"text": 5}', 400, /"text"/],
      ['{"text": "x", "extra": 1}', 400, /"text"/],
      ['{"text": "x", "version": -1}', 400, /"text"/],
      [JSON.stringify({ text: 'x'.repeat(1025) }), 400, /notes_max_bytes \(1024\)/],
      [JSON.stringify({ text: 'ok', version: 3 }), 409, /version 0, not 3/],
    ];
    for (const [body, status, message] of cases) {
      const res = await call('PUT', '/stewards/ci/notes', body, {
        'content-type': 'application/json',
      });
      expect(res.status, String(body).slice(0, 40)).toBe(status);
      expect((await error(res)).error).toMatch(message);
    }
    expect(await store.getNotes('ci')).toBeNull();
  });

  it('answer any JSON as notes or a 400, never a crash', async () => {
    const { call } = setUp();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const res = await call('PUT', '/stewards/ci/notes', JSON.stringify(value), {
          'content-type': 'application/json',
        });
        expect([200, 400, 409]).toContain(res.status);
      }),
      { numRuns: 100 },
    );
  });

  it('cut off a body over the limit before reading it', async () => {
    const { call } = setUp();
    const huge = 'x'.repeat(3 * 1024 * 1024);
    const notes = await call('PUT', '/stewards/ci/notes', huge, {
      'content-type': 'application/json',
    });
    expect(notes.status).toBe(413);
    const wake = await call('POST', '/stewards/ci/wake', huge);
    expect(wake.status).toBe(413);
  });

  it('refuse a signed wake for a steward that takes none, a forged one, and a bad history', async () => {
    const { app, call, store } = setUp();
    const body = Buffer.from('{}');
    const ts = Math.floor(Date.now() / 1000);
    const signed = (steward: string, secret: string) =>
      app.request(`/stewards/${steward}/wake`, {
        method: 'POST',
        headers: {
          'x-forge-timestamp': String(ts),
          'x-forge-signature': forgeSignature(secret, ts, body),
        },
        body,
      });
    const quiet = await signed('quiet', SECRET);
    expect(quiet.status).toBe(403);
    expect((await error(quiet)).error).toMatch(/add webhook to stewards\.quiet\.triggers/);
    expect((await signed('ci', 'not-the-secret-at-all')).status).toBe(401);
    // Without a signature or a token there is no way in.
    expect((await app.request('/stewards/ci/wake', { method: 'POST', body })).status).toBe(401);
    expect(await store.getSteward('ci')).toBeNull();
    for (const history of ['0', '101', 'many', '1.5'])
      expect((await call('GET', `/stewards/ci/notes?history=${history}`)).status).toBe(400);
    expect((await call('GET', '/stewards/nobody')).status).toBe(404);
  });
});
