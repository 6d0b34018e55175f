import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../../test/support/fake-telegram.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createJobControl, type JobControl } from '../core/job-control.ts';
import type { JobStore } from '../ports/store.ts';
import type { Delivery } from '../ports/outbox.ts';
import { createTelegramBot, type TelegramBot } from './telegram-bot.ts';

const TOKEN = '123456:test-token';
const CHAT = 42;
const ME = 7;
const config = loadConfig({}, 'defaults: {agent: a}\nagents: {a: {kind: command, command: [run]}}');

let telegram: FakeTelegram;
let store: JobStore;
let control: JobControl;
let bot: TelegramBot;

beforeEach(async () => {
  telegram = await startFakeTelegram({ token: TOKEN });
  store = createMemoryStore();
  control = createJobControl({ store, bus: new EventBus(pino({ level: 'silent' })), config });
  bot = makeBot();
});

afterEach(async () => {
  await bot.stop();
  await telegram.close();
});

function makeBot(token = TOKEN, logger = pino({ level: 'silent' })): TelegramBot {
  return createTelegramBot({
    name: 'phone',
    token,
    apiRoot: telegram.url,
    chats: [CHAT],
    users: [ME],
    intake: true,
    control,
    jobUrl: (id) => `http://forge.test/jobs/${id}`,
    logger,
  });
}

function delivery(jobId: string, event = 'finished'): Delivery {
  return {
    id: 1,
    sink: 'telegram:phone',
    event,
    job_id: jobId,
    key: null,
    payload: { chat_id: CHAT },
    state: 'pending',
    attempts: 1,
    next_at: 0,
    last_error: null,
    created_at: new Date().toISOString(),
    delivered_at: null,
  };
}

const buttons = (markup: unknown) =>
  (
    markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }
  ).inline_keyboard.flat();

describe('Telegram bot', () => {
  it('delivers one message about a running job, with a Cancel button', async () => {
    const job = await control.submit({ task: 'fix <the> bug & more' });
    await bot.deliver(delivery(job.id), AbortSignal.timeout(5000));
    const sent = telegram.sent(CHAT);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toContain('fix &lt;the&gt; bug &amp; more');
    expect(sent[0]!.text).toContain(job.id);
    expect(buttons(sent[0]!.reply_markup)).toEqual([
      { text: 'Cancel', callback_data: `c:${job.id}` },
    ]);
  });

  it('cancels the job when its Cancel button is pressed, and answers the press', async () => {
    const job = await control.submit({ task: 'run for a long time' });
    await bot.deliver(delivery(job.id), AbortSignal.timeout(5000));
    await bot.start();
    const message = telegram.sent(CHAT)[0]!;
    telegram.pressButton({
      chatId: CHAT,
      userId: ME,
      messageId: message.message_id,
      data: `c:${job.id}`,
    });
    await vi.waitFor(() => expect(telegram.answeredCallbacks()).toHaveLength(1));
    expect(telegram.answeredCallbacks()[0]!.text).toBe('cancelling…');
    expect((await control.get(job.id))!.status).toBe('CANCELLED');
    await vi.waitFor(() => expect(telegram.sent(CHAT)[0]!.edited).toBe(true));
    expect(buttons(telegram.sent(CHAT)[0]!.reply_markup)).toEqual([
      { text: 'Retry', callback_data: `r:${job.id}` },
    ]);
  });

  it('ignores messages from a chat it does not serve', async () => {
    await bot.start();
    telegram.sendUserMessage({ chatId: 999, userId: ME, text: '/run print from a stranger' });
    telegram.sendUserMessage({ chatId: CHAT, userId: 666, text: '/run print from a stranger' });
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: '/run print from me' });
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(1));
    const { jobs } = await control.list({ limit: 10, offset: 0 });
    expect(jobs.map((j) => j.task)).toEqual(['print from me']);
    expect(telegram.sent(999)).toEqual([]);
  });

  it('logs an unserved chat or user once, however many messages they send', async () => {
    type Line = { msg: string; chatId?: number; userId?: number };
    const lines: Line[] = [];
    await bot.stop();
    bot = makeBot(
      TOKEN,
      pino({ level: 'info' }, { write: (line) => lines.push(JSON.parse(line) as Line) }),
    );
    await bot.start();
    for (let i = 0; i < 2; i++) {
      telegram.sendUserMessage({ chatId: 999, userId: ME, text: 'print from a stranger' });
      telegram.sendUserMessage({ chatId: CHAT, userId: 666, text: 'print from a stranger' });
    }
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: 'print from me' });
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(1));
    const ignored = lines.filter((l) => /not served/.test(l.msg));
    expect(ignored).toEqual([
      expect.objectContaining({ chatId: 999 }),
      expect.objectContaining({ chatId: CHAT, userId: 666 }),
    ]);
  });

  it('files a job from /run, from Telegram, and names it in the reply', async () => {
    await bot.start();
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: '/run print hi' });
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(1));
    const { jobs } = await control.list({ limit: 10, offset: 0 });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      task: 'print hi',
      source: 'telegram',
      origin: { kind: 'telegram', notifier: 'phone', chat_id: CHAT },
    });
    expect(telegram.sent(CHAT)[0]!.text).toContain(`Queued job <code>${jobs[0]!.id}</code>`);
  });

  it('retries a message Telegram rate-limited, and delivers it', async () => {
    const job = await control.submit({ task: 'print hi' });
    telegram.failNext(429, { retry_after: 1 });
    await bot.deliver(delivery(job.id), AbortSignal.timeout(10_000));
    expect(telegram.sent(CHAT)).toHaveLength(1);
  });

  it('splits a long failure message into several messages', async () => {
    const job = await control.submit({ task: 'print hi' });
    await control.cancel(job.id, `<oops> ${'x'.repeat(9000)}`);
    await bot.deliver(delivery(job.id), AbortSignal.timeout(5000));
    const sent = telegram.sent(CHAT);
    expect(sent.length).toBeGreaterThan(2);
    expect(sent.at(-1)!.reply_markup).toBeDefined();
    expect(sent.slice(0, -1).every((m) => m.reply_markup === undefined)).toBe(true);
  });

  it('answers a press from a user it does not serve with "not allowed", and does nothing', async () => {
    const job = await control.submit({ task: 'print hi' });
    await bot.deliver(delivery(job.id), AbortSignal.timeout(5000));
    await bot.start();
    const message = telegram.sent(CHAT)[0]!;
    telegram.pressButton({
      chatId: CHAT,
      userId: 666,
      messageId: message.message_id,
      data: `c:${job.id}`,
    });
    await vi.waitFor(() => expect(telegram.answeredCallbacks()).toHaveLength(1));
    expect(telegram.answeredCallbacks()[0]!.text).toBe('not allowed');
    expect((await control.get(job.id))!.status).toBe('PENDING');
  });

  it('answers /status with the newest job of the chat, and a bad option with what is allowed', async () => {
    await bot.start();
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: 'colour=red print hi' });
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(1));
    expect(telegram.sent(CHAT)[0]!.text).toMatch(/unknown option "colour"/);
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: 'print from plain text' });
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: '/status' });
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(3));
    expect(telegram.sent(CHAT)[2]!.text).toMatch(/Queued[\s\S]*print from plain text/);
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: '/list' });
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(4));
    expect(telegram.sent(CHAT)[3]!.text).toMatch(/pending — print from plain text/);
  });

  it('reports a refused token, a refused chat and an unreachable Telegram as coded errors', async () => {
    const job = await control.submit({ task: 'print hi' });
    const wrong = makeBot('999:wrong');
    await expect(wrong.deliver(delivery(job.id), AbortSignal.timeout(5000))).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'Telegram refused the bot token; check notify.phone.token',
    });
    telegram.failNext(403);
    await expect(bot.deliver(delivery(job.id), AbortSignal.timeout(5000))).rejects.toMatchObject({
      code: 'invalid_request',
    });
    telegram.failNext(429, { retry_after: 120 });
    const limited = await bot
      .deliver(delivery(job.id), AbortSignal.timeout(5000))
      .catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: 'unavailable' });
    expect(String((limited as Error).message)).not.toContain(TOKEN);
    telegram.down(true);
    const down = await bot
      .deliver(delivery(job.id), AbortSignal.timeout(300))
      .catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'unavailable' });
    expect(String((down as Error).message)).not.toContain(TOKEN);
  });

  it('starts while Telegram is down and serves once it is back', async () => {
    telegram.down(true);
    await bot.start();
    telegram.sendUserMessage({ chatId: CHAT, userId: ME, text: '/run print later' });
    await vi.waitFor(() => expect(telegram.calls('getMe')).toBeGreaterThan(0));
    telegram.down(false);
    await vi.waitFor(() => expect(telegram.sent(CHAT)).toHaveLength(1), { timeout: 10_000 });
    expect(telegram.sent(CHAT)[0]!.text).toContain('Queued job');
  });

  it('stops promptly while Telegram is down', async () => {
    telegram.down(true);
    await bot.start();
    await vi.waitFor(() => expect(telegram.calls('getMe')).toBeGreaterThan(0));
    const started = Date.now();
    await bot.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
