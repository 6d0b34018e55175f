// POST /hooks/{source} in process: the signature is checked over the raw body before anything
// else, a delivery is queued once whatever the number of times it arrives, and nothing a forge
// could send makes the route throw.
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createWebhookReceiver } from '../intake/webhook-receiver.ts';
import { signatureFor } from '../intake/webhook-signature.ts';
import { createApp } from './app.ts';

const SECRET = 'webhook-secret-123';
const config = loadConfig(
  {},
  'agents: {script: {kind: command, command: [/bin/true]}}\nserver: {tokens: [{name: ci, token: a-long-api-token-1234}]}',
);

function setUp() {
  const store = createMemoryStore();
  const hooks = new Map([
    [
      'tasks',
      createWebhookReceiver({ source: 'tasks', kind: 'forgejo', secret: SECRET, outbox: store }),
    ],
    [
      'quiet',
      createWebhookReceiver({ source: 'quiet', kind: 'forgejo', secret: null, outbox: store }),
    ],
  ]);
  const logger = pino({ level: 'silent' });
  const app = createApp({
    store,
    bus: new EventBus(logger),
    config,
    logs: createMemoryLogs(),
    logger,
    hooks,
  });
  return { store, app };
}

const labelled = (delivery: string) => ({
  body: JSON.stringify({
    action: 'label_updated',
    issue: {
      number: 4,
      title: 'fix it',
      body: 'please',
      state: 'open',
      html_url: 'https://git.example.com/me/tasks/issues/4',
      updated_at: '2026-11-28T10:00:00Z',
      user: { login: 'me', id: 1 },
      labels: [{ name: 'forge:queued' }],
    },
    repository: { full_name: 'me/tasks' },
    sender: { login: 'me', id: 1 },
  }),
  delivery,
});

function post(
  app: ReturnType<typeof setUp>['app'],
  source: string,
  body: string,
  headers: Record<string, string>,
) {
  return app.request(`/hooks/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forgejo-event': 'issues', ...headers },
    body,
  });
}

describe('POST /hooks/{source}', () => {
  it('queues a signed delivery once, however often it arrives, without a bearer token', async () => {
    const { app, store } = setUp();
    const { body, delivery } = labelled('d-1');
    const signed = {
      'x-forgejo-delivery': delivery,
      'x-forgejo-signature': signatureFor('forgejo', SECRET, Buffer.from(body)),
    };
    expect((await post(app, 'tasks', body, signed)).status).toBe(202);
    const again = await post(app, 'tasks', body, signed);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: true });
    const queued = await store.take('test', 1000, 10);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ sink: 'intake:tasks', event: 'labels', key: 'd-1' });
  });

  it('refuses a bad or missing signature with 401, and queues nothing', async () => {
    const { app, store } = setUp();
    const { body } = labelled('d-2');
    const forged = signatureFor('forgejo', 'another-secret', Buffer.from(body));
    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-forgejo-signature': forged },
      { 'x-forgejo-signature': 'zz' },
    ];
    for (const headers of attempts) {
      const res = await post(app, 'tasks', body, headers);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
    }
    // The body is signed as sent: the same signature over other bytes fails.
    const signature = signatureFor('forgejo', SECRET, Buffer.from(body));
    expect(
      (await post(app, 'tasks', `${body} `, { 'x-forgejo-signature': signature })).status,
    ).toBe(401);
    expect(await store.take('test', 1000, 10)).toEqual([]);
  });

  it('refuses a body over 2 MiB with 413 before checking anything, and queues nothing', async () => {
    const { app, store } = setUp();
    const huge = JSON.stringify({ action: 'opened', padding: 'x'.repeat(3 * 1024 * 1024) });
    const res = await post(app, 'tasks', huge, {
      'x-forgejo-signature': signatureFor('forgejo', SECRET, Buffer.from(huge)),
    });
    expect(res.status).toBe(413);
    expect(await store.take('test', 1000, 10)).toEqual([]);
  });

  it('says so for a source without a webhook secret, or none at all', async () => {
    const { app } = setUp();
    const quiet = await post(app, 'quiet', '{}', {});
    expect(quiet.status).toBe(403);
    expect(((await quiet.json()) as { error: string }).error).toContain(
      'intake.quiet.webhook_secret',
    );
    expect((await post(app, 'nope', '{}', {})).status).toBe(404);
  });

  it('answers any signed body, however hostile, without queuing what it cannot read', async () => {
    const { app, store } = setUp();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string()), async (body) => {
        const res = await post(app, 'tasks', body, {
          'x-forgejo-delivery': 'hostile',
          'x-forgejo-signature': signatureFor('forgejo', SECRET, Buffer.from(body)),
        });
        expect([200, 202, 400]).toContain(res.status);
      }),
      { numRuns: 200 },
    );
    for (const d of await store.take('test', 1000, 100)) expect(d.sink).toBe('intake:tasks');
  });
});
