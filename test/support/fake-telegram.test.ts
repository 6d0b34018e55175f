import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTelegramHtml, startFakeTelegram, type FakeTelegram } from './fake-telegram.ts';

const TOKEN = '123456:fake-token';
let telegram: FakeTelegram;

beforeEach(async () => {
  telegram = await startFakeTelegram({ token: TOKEN });
});
afterEach(() => telegram.close());

async function call(method: string, params: Record<string, unknown> = {}, token = TOKEN) {
  const res = await fetch(`${telegram.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('fake Telegram Bot API', () => {
  it('refuses a wrong token as Telegram does: 401 when well formed, 404 when not', async () => {
    expect((await call('getMe', {}, '123456:other')).status).toBe(401);
    expect((await call('getMe', {}, 'nonsense')).status).toBe(404);
    expect((await call('getMe')).body).toMatchObject({ ok: true, result: { is_bot: true } });
  });

  it('long-polls: answers when an update is queued, [] after the timeout, and drops confirmed ones', async () => {
    const empty = await call('getUpdates', { timeout: 0 });
    expect(empty.body.result).toEqual([]);
    const waiting = call('getUpdates', { timeout: 30 });
    const id = telegram.sendUserMessage({ chatId: 5, userId: 6, text: '/run x' });
    const got = (await waiting).body.result as Array<{ update_id: number }>;
    expect(got.map((u) => u.update_id)).toEqual([id]);
    expect((await call('getUpdates', { offset: id + 1 })).body.result).toEqual([]);
  });

  it('delivers only the update types asked for', async () => {
    telegram.sendUserMessage({ chatId: 5, userId: 6, text: 'hi' });
    const press = telegram.pressButton({ chatId: 5, userId: 6, messageId: 1, data: 'c:1' });
    const got = await call('getUpdates', { allowed_updates: ['callback_query'] });
    expect((got.body.result as Array<{ update_id: number }>).map((u) => u.update_id)).toEqual([
      press,
    ]);
  });

  it('checks messages as Telegram does: chat, HTML, length after parsing, button data', async () => {
    const send = (p: Record<string, unknown>) => call('sendMessage', { parse_mode: 'HTML', ...p });
    expect((await send({ text: 'hi' })).body.description).toBe('Bad Request: chat_id is empty');
    expect((await send({ chat_id: 1, text: '<b>open' })).body.description).toMatch(
      /^Bad Request: can't parse entities/,
    );
    expect((await send({ chat_id: 1, text: '<script>x</script>' })).status).toBe(400);
    const tagged = `<b>${'a'.repeat(4096)}</b>`;
    expect((await send({ chat_id: 1, text: tagged })).status).toBe(200);
    expect((await send({ chat_id: 1, text: `&amp;${'a'.repeat(4096)}` })).body.description).toBe(
      'Bad Request: message is too long',
    );
    const button = (data: string) => ({ inline_keyboard: [[{ text: 'B', callback_data: data }]] });
    expect(
      (await send({ chat_id: 1, text: 'x', reply_markup: button('é'.repeat(33)) })).status,
    ).toBe(400);
    expect(
      (await send({ chat_id: 1, text: 'x', reply_markup: button('y'.repeat(64)) })).status,
    ).toBe(200);
    expect(telegram.sent(1)).toHaveLength(2);
  });

  it('accepts one answer per pressed button, and none for a query it never sent', async () => {
    telegram.pressButton({ chatId: 5, userId: 6, messageId: 1, data: 'c:1' });
    const [update] = (await call('getUpdates')).body.result as Array<{
      callback_query: { id: string };
    }>;
    const id = update!.callback_query.id;
    expect((await call('answerCallbackQuery', { callback_query_id: id, text: 'ok' })).status).toBe(
      200,
    );
    expect((await call('answerCallbackQuery', { callback_query_id: id })).status).toBe(400);
    expect((await call('answerCallbackQuery', { callback_query_id: 'made-up' })).status).toBe(400);
    expect(telegram.answeredCallbacks()).toEqual([{ callback_query_id: id, text: 'ok' }]);
  });

  it('fails the next send with 429 and retry_after, then sends', async () => {
    telegram.failNext(429, { retry_after: 3 });
    expect((await call('sendMessage', { chat_id: 1, text: 'x' })).body).toMatchObject({
      error_code: 429,
      parameters: { retry_after: 3 },
    });
    expect((await call('sendMessage', { chat_id: 1, text: 'x' })).status).toBe(200);
  });

  it('parses HTML to its visible text', () => {
    expect(parseTelegramHtml('<b>a</b> &lt;<a href="u">b</a>')).toBe('a xb');
    expect(parseTelegramHtml('<b><i>a</b></i>')).toEqual({
      error: 'Unmatched end tag "b"',
    });
  });
});
