/**
 * Delivery never blocks a job and never loses anything, end to end: with the forge, Telegram and a
 * webhook receiver all down, an issue's job still finishes; its comment, chat messages and webhook
 * wait in the outbox (visible per job and in /health); the server is killed with SIGKILL before
 * any of them went out; after a restart each is delivered exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FakeForgejo } from '../support/fake-forgejo.ts';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.ts';
import { startForge, stopAllForges } from '../support/forge-server.ts';
import {
  TASKS,
  WEBHOOK_SECRET,
  jobsOfIssue,
  startIntakeWorld,
  until,
  type IntakeWorld,
} from '../support/intake-world.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const BOT_TOKEN = '123456:bot-token-for-tests';
const HOOK_SECRET = 'hook-signing-secret';
let world: IntakeWorld;
let telegram: FakeTelegram;
let receiver: WebhookReceiver;

beforeAll(async () => {
  world = await startIntakeWorld('forgejo');
  telegram = await startFakeTelegram({ token: BOT_TOKEN });
  receiver = await startWebhookReceiver(HOOK_SECRET);
});

afterAll(async () => {
  await stopAllForges();
  await telegram.close();
  await receiver.close();
  await world.close();
});

interface DeliveryJson {
  sink: string;
  event: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

it('kill -9 between a job finishing and its reports going out: after restart each is delivered once', async () => {
  const forgejo = world.forge as FakeForgejo;
  const config = {
    ...world.config('tasks'),
    notify: {
      phone: {
        kind: 'telegram',
        token: BOT_TOKEN,
        api_root: telegram.url,
        chats: [111, 222],
        users: [7],
        events: ['finished'],
      },
      hooks: { kind: 'webhook', url: receiver.url, secret: HOOK_SECRET, events: ['finished'] },
    },
  };
  const first = await startForge({ config });
  forgejo.addWebhook({ repo: TASKS, url: `${first.url}/hooks/tasks`, secret: WEBHOOK_SECRET });

  const { number } = await forgejo.createIssue({
    repo: TASKS,
    title: 'print reporting through a restart',
    // No change, so no pull request: the forge being down must only hold up the reports.
    body: 'sleep 1500\nprint done',
    author: 'me',
  });
  await forgejo.setLabels(TASKS, number, ['forge:queued'], 'me');
  const [queued] = await until(
    () => jobsOfIssue(first, 'tasks', number),
    (j) => j.length > 0,
    'the job',
  );
  await first.waitFor(queued!.id, (j) => j.status === 'RUNNING');
  await until(
    () => forgejo.issue(TASKS, number)!,
    (i) => i.labels.includes('forge:running'),
    'forge:running',
  );

  // Everything the job reports to goes down; the job finishes regardless.
  forgejo.down(true);
  telegram.down(true);
  receiver.failNext(3, 503);
  const job = await first.waitFor(queued!.id);
  expect(job.status).toBe('SUCCEEDED');
  // Each report was tried and is still waiting (one chat's messages wait behind the other's: a
  // job's deliveries to one sink go in order).
  await until(
    async () =>
      (await first.api<{ deliveries: DeliveryJson[] }>('GET', `/jobs/${job.id}/deliveries`)).body
        .deliveries,
    (ds) => {
      const finished = ds.filter((d) => d.event === 'finished');
      const tried = (sink: string) =>
        ds.some((d) => d.sink === sink && d.state === 'pending' && d.attempts >= 1);
      return (
        finished.length === 4 &&
        finished.every((d) => d.sink === 'webhook:hooks' || d.state === 'pending') &&
        tried('issue') &&
        tried('telegram:phone')
      );
    },
    'the finished reports tried and still pending',
  );
  const health = (
    await first.api<{ deliveries: Array<{ sink: string; pending: number }> }>('GET', '/health')
  ).body;
  expect(health.deliveries.find((d) => d.sink === 'issue')?.pending).toBeGreaterThan(0);
  await first.stop('SIGKILL');

  forgejo.down(false);
  telegram.down(false);
  const second = await startForge({ config, dataDir: first.dataDir });
  const delivered = await until(
    async () =>
      (await second.api<{ deliveries: DeliveryJson[] }>('GET', `/jobs/${job.id}/deliveries`)).body
        .deliveries,
    (ds) => ds.every((d) => d.state === 'delivered'),
    'every delivery delivered after the restart',
  );
  expect(delivered.length).toBeGreaterThanOrEqual(4);

  const comments = forgejo.comments(TASKS, number).filter((c) => c.author === 'forge-bot');
  expect(comments).toHaveLength(1);
  expect(comments[0]!.body).toMatch(/no changes|changed nothing|nothing changed/i);
  expect(forgejo.issue(TASKS, number)).toMatchObject({ state: 'closed' });
  for (const chat of [111, 222]) {
    const about = telegram.sent(chat).filter((m) => m.text.includes('reporting through a restart'));
    expect(about).toHaveLength(1);
  }
  const hooks = receiver.requests.filter((r) => r.status < 300);
  expect(hooks).toHaveLength(1);
  expect(hooks[0]!.valid).toBe(true);
  expect(JSON.parse(hooks[0]!.body)).toMatchObject({ event: 'finished', job: { id: job.id } });
}, 90_000);
