/**
 * A Telegram Bot API server on loopback, as far as Forge uses it: getMe, deleteWebhook, getUpdates
 * (real long polling), sendMessage, editMessageText and answerCallbackQuery. It checks what the
 * real API checks and Forge could get wrong: the bot token, message length after HTML entities are
 * parsed, HTML Telegram cannot parse, and callback data over 64 bytes. Tests act as people in
 * chats (`sendUserMessage`, `pressButton`) and read what the bot sent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface SentMessage {
  message_id: number;
  chat_id: number;
  /** The text as sent (HTML). */
  text: string;
  reply_markup?: unknown;
  edited: boolean;
}

export interface FakeBotApi {
  /** The API root to configure (`api_root`). */
  url: string;
  sendUserMessage(m: { chatId: number; userId: number; text: string }): number;
  pressButton(p: { chatId: number; userId: number; messageId: number; data: string }): number;
  /** Messages the bot sent (to one chat, or all), edits applied. */
  sent(chatId?: number): SentMessage[];
  answeredCallbacks(): Array<{ callback_query_id: string; text?: string }>;
  /** The next `times` sendMessage/editMessageText calls fail with `status`. */
  failNext(status: number, opts?: { retry_after?: number; times?: number }): void;
  /** While down, every method answers 502. */
  down(on: boolean): void;
  close(): Promise<void>;
}

/** Tags Telegram's HTML parse mode accepts. */
const TAGS = new Set(
  'b strong i em u ins s strike del a code pre tg-spoiler span blockquote tg-emoji'.split(' '),
);

/** The visible text of Telegram HTML, or an error as the real API words it. */
export function parseTelegramHtml(html: string): string | { error: string } {
  const stack: string[] = [];
  let text = '';
  const re = /<(\/?)([a-z-]+)([^>]*)>|&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|([<>&])|([^<&>]+)/gi;
  for (const m of html.matchAll(re)) {
    if (m[2] !== undefined) {
      const tag = m[2].toLowerCase();
      if (!TAGS.has(tag)) return { error: `Unsupported start tag "${tag}"` };
      if (m[1]) {
        if (stack.pop() !== tag) return { error: `Unmatched end tag "${tag}"` };
      } else stack.push(tag);
    } else if (m[4] !== undefined) text += 'x';
    else if (m[5] !== undefined) return { error: `Unexpected "${m[5]}"` };
    else text += m[6] ?? '';
  }
  if (stack.length > 0)
    return { error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return text;
}

export async function startFakeBotApi(opts: { token: string }): Promise<FakeBotApi> {
  const updates: Array<Record<string, unknown> & { update_id: number }> = [];
  const waiters = new Set<() => void>();
  const messages: SentMessage[] = [];
  const answers: Array<{ callback_query_id: string; text?: string }> = [];
  const failures: Array<{ status: number; retry_after?: number }> = [];
  let nextUpdate = 1;
  let nextMessage = 1;
  let isDown = false;
  let closing = false;

  const queue = (update: Record<string, unknown>): number => {
    const update_id = nextUpdate++;
    updates.push({ update_id, ...update });
    for (const wake of waiters) wake();
    return update_id;
  };
  const user = (id: number) => ({ id, is_bot: false, first_name: `user${id}` });
  const chat = (id: number) => ({ id, type: id > 0 ? 'private' : 'group' });

  const methods: Record<string, (p: Record<string, unknown>) => unknown> = {
    getMe: () => ({ id: 1, is_bot: true, first_name: 'Forge', username: 'forge_test_bot' }),
    deleteWebhook: () => true,
    async getUpdates(p) {
      const offset = Number(p.offset ?? 0);
      if (offset > 0) updates.splice(0, updates.filter((u) => u.update_id < offset).length);
      if (updates.length === 0 && !closing) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(Number(p.timeout ?? 0), 30) * 1000);
          waiters.add(wake);
        });
      }
      return updates.slice(0, Number(p.limit ?? 100));
    },
    sendMessage(p) {
      const problem = checkMessage(p);
      if (problem) return problem;
      const message: SentMessage = {
        message_id: nextMessage++,
        chat_id: Number(p.chat_id),
        text: String(p.text),
        ...(p.reply_markup ? { reply_markup: p.reply_markup } : {}),
        edited: false,
      };
      messages.push(message);
      return {
        message_id: message.message_id,
        date: 0,
        chat: chat(message.chat_id),
        text: message.text,
      };
    },
    editMessageText(p) {
      const problem = checkMessage(p);
      if (problem) return problem;
      const message = messages.find(
        (m) => m.chat_id === Number(p.chat_id) && m.message_id === Number(p.message_id),
      );
      if (!message) return { status: 400, description: 'Bad Request: message to edit not found' };
      Object.assign(message, { text: String(p.text), reply_markup: p.reply_markup, edited: true });
      return {
        message_id: message.message_id,
        date: 0,
        chat: chat(message.chat_id),
        text: message.text,
      };
    },
    answerCallbackQuery(p) {
      answers.push({
        callback_query_id: String(p.callback_query_id),
        ...(typeof p.text === 'string' ? { text: p.text } : {}),
      });
      return true;
    },
  };

  function checkMessage(
    p: Record<string, unknown>,
  ): { status: number; description: string } | null {
    if (typeof p.text !== 'string')
      return { status: 400, description: 'Bad Request: message text is empty' };
    const visible = p.parse_mode === 'HTML' ? parseTelegramHtml(p.text) : p.text;
    if (typeof visible !== 'string')
      return { status: 400, description: `Bad Request: can't parse entities: ${visible.error}` };
    if (visible.trim().length === 0)
      return { status: 400, description: 'Bad Request: message text is empty' };
    if ([...visible].length > 4096)
      return { status: 400, description: 'Bad Request: message is too long' };
    const keyboard = (
      p.reply_markup as { inline_keyboard?: Array<Array<{ callback_data?: string }>> }
    )?.inline_keyboard;
    for (const button of keyboard?.flat() ?? []) {
      const bytes = Buffer.byteLength(button.callback_data ?? '');
      if (bytes < 1 || bytes > 64)
        return { status: 400, description: 'Bad Request: BUTTON_DATA_INVALID' };
    }
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    if (match[1] !== opts.token)
      return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    if (isDown) return reply(502, { ok: false, error_code: 502, description: 'Bad Gateway' });
    const method = methods[match[2]!];
    if (!method)
      return reply(404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    const raw = Buffer.concat(chunks).toString('utf8');
    const params = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    if (match[2] === 'sendMessage' || match[2] === 'editMessageText') {
      const failure = failures.shift();
      if (failure)
        return reply(failure.status, {
          ok: false,
          error_code: failure.status,
          description:
            failure.status === 429
              ? `Too Many Requests: retry after ${failure.retry_after ?? 1}`
              : 'Internal Server Error',
          ...(failure.retry_after ? { parameters: { retry_after: failure.retry_after } } : {}),
        });
    }
    const result = await method(params);
    const problem = result as { status?: number; description?: string } | null;
    if (
      problem &&
      typeof problem === 'object' &&
      typeof problem.status === 'number' &&
      problem.description
    )
      return reply(problem.status, {
        ok: false,
        error_code: problem.status,
        description: problem.description,
      });
    return reply(200, { ok: true, result });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  const listening = await listenOnLoopback(server);

  return {
    url: listening.url,
    sendUserMessage: ({ chatId, userId, text }) => {
      const command = /^\/[A-Za-z0-9_]+/.exec(text)?.[0];
      return queue({
        message: {
          message_id: nextMessage++,
          date: Math.floor(Date.now() / 1000),
          chat: chat(chatId),
          from: user(userId),
          text,
          ...(command
            ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }
            : {}),
        },
      });
    },
    pressButton: ({ chatId, userId, messageId, data }) =>
      queue({
        callback_query: {
          id: `cb-${nextUpdate}`,
          from: user(userId),
          chat_instance: String(chatId),
          message: { message_id: messageId, date: 0, chat: chat(chatId), text: '' },
          data,
        },
      }),
    sent: (chatId) => messages.filter((m) => chatId === undefined || m.chat_id === chatId),
    answeredCallbacks: () => answers,
    failNext(status, o = {}) {
      for (let i = 0; i < (o.times ?? 1); i++)
        failures.push({
          status,
          ...(o.retry_after !== undefined ? { retry_after: o.retry_after } : {}),
        });
    },
    down(on) {
      isDown = on;
    },
    async close() {
      closing = true;
      for (const wake of waiters) wake();
      await listening.close();
    },
  };
}
