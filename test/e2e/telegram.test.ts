/**
 * Telegram, end to end: the real `forge serve` long-polling a fake Bot API server. Chats listed
 * hear about every finished job, once each; a chat files jobs with `/run`, its Cancel button
 * works, and a chat Forge does not serve gets nothing at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../support/fake-telegram.ts';
import {
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';
import { until } from '../support/intake-world.ts';

const BOT_TOKEN = '123456:bot-token-for-tests';
const ME = 7;
const CHAT = 111;
const OTHER_CHAT = 222;
let telegram: FakeTelegram;
let forge: ForgeProcess;

beforeAll(async () => {
  telegram = await startFakeTelegram({ token: BOT_TOKEN });
  forge = await startForge({
    config: {
      notify: {
        phone: {
          kind: 'telegram',
          token: BOT_TOKEN,
          api_root: telegram.url,
          chats: [CHAT, OTHER_CHAT],
          users: [ME],
          events: ['started', 'finished'],
          intake: true,
        },
      },
      // Telegram takes no idempotency key: a message whose answer comes after the timeout is
      // sent again (at least once, never lost). A timeout a loaded machine can exceed would
      // then show two messages where the test counts one.
      outbox: { poll_interval: '100ms', max_backoff: '300ms', delivery_timeout: '20s' },
    },
  });
});

afterAll(async () => {
  await stopAllForges();
  await telegram.close();
});

const messagesAbout = (chat: number, text: string) =>
  telegram.sent(chat).filter((m) => m.text.includes(text));

async function jobFromChat(text: string): Promise<JobJson> {
  const jobs = await until(
    async () => (await forge.api<{ jobs: JobJson[] }>('GET', '/jobs?limit=100')).body.jobs,
    (js) => js.some((j) => String(j.task).includes(text)),
    `a job for "${text}"`,
  );
  return jobs.find((j) => String(j.task).includes(text))!;
}

describe('Telegram', () => {
  it('tells each allowed chat once when a job finishes', async () => {
    const id = await forge.submit('print told by telegram');
    await forge.waitFor(id);
    for (const chat of [CHAT, OTHER_CHAT]) {
      const finished = await until(
        () => messagesAbout(chat, 'told by telegram').filter((m) => /succeeded/i.test(m.text)),
        (ms) => ms.length > 0,
        `the finished message in chat ${chat}`,
      );
      expect(finished).toHaveLength(1);
    }
  });

  it('ignores a chat it does not serve, and files a job from /run in one it does', async () => {
    telegram.sendUserMessage({ chatId: 999, userId: ME, text: '/run print from a stranger chat' });
    telegram.sendUserMessage({
      chatId: CHAT,
      userId: 666,
      text: '/run print from a stranger user',
    });
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: '/run print from my phone' });
    const job = await jobFromChat('from my phone');
    expect(job).toMatchObject({ source: 'telegram', origin: { kind: 'telegram', chat_id: CHAT } });
    await until(
      () => messagesAbout(CHAT, job.id),
      (ms) => ms.length > 0,
      'the reply naming the job',
    );
    // Updates are handled in order: the ones before were seen and dropped.
    expect(telegram.sent(999)).toEqual([]);
    const all = (await forge.api<{ jobs: JobJson[] }>('GET', '/jobs?limit=100')).body.jobs;
    expect(all.filter((j) => String(j.task).includes('stranger'))).toEqual([]);
  });

  it('cancels a running job from its Cancel button, and answers the press', async () => {
    const id = await forge.submit('sleep 20000');
    await forge.waitFor(id, (j) => j.status === 'RUNNING');
    const started = await until(
      () =>
        telegram
          .sent(CHAT)
          .filter((m) => m.reply_markup && JSON.stringify(m.reply_markup).includes(id)),
      (ms) => ms.length > 0,
      'the started message with its Cancel button',
    );
    const message = started[0]!;
    const button = (
      message.reply_markup as {
        inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
      }
    ).inline_keyboard
      .flat()
      .find((b) => /cancel/i.test(b.text))!;
    telegram.pressButton({
      chatId: CHAT,
      userId: ME,
      messageId: message.message_id,
      data: button.callback_data,
    });
    const job = await forge.waitFor(id);
    expect(job.status).toBe('CANCELLED');
    await until(
      () => telegram.answeredCallbacks(),
      (a) => a.length > 0,
      'the answered press',
    );
  });
});
