/**
 * A Telegram Bot API server on loopback, as far as Forge uses it: getMe, deleteWebhook, getUpdates
 * (real long polling), sendMessage, editMessageText and answerCallbackQuery. It checks what the real
 * API checks and Forge could get wrong: the bot token, the chat id, the message length, HTML
 * Telegram cannot parse, callback data outside 1–64 bytes, and answers to button presses it never
 * sent. Tests act as people in chats (`sendUserMessage`, `pressButton`) and read what the bot sent.
 *
 * Deliberately stricter than Telegram in two ways, so that a missed escape shows up here rather
 * than as garbled text in a chat: a bare `&` or `>` is refused (Telegram shows it as it is), and
 * the length is counted in UTF-16 code units (Telegram's unit for entities; never more lenient).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface SentMessage {
  message_id: number;
  chat_id: number;
  /** The text as sent (HTML), edits applied. */
  text: string;
  reply_markup?: unknown;
  edited: boolean;
}

export interface AnsweredCallback {
  callback_query_id: string;
  text?: string;
}

export interface FakeTelegram {
  /** The API root to configure (`apiRoot`, `api_root`). */
  url: string;
  /** Queues a text message from a user in a chat; returns its update id. */
  sendUserMessage(m: { chatId: number; userId: number; text: string }): number;
  /** Queues a press on an inline button of one of the bot's messages; returns its update id. */
  pressButton(p: { chatId: number; userId: number; messageId: number; data: string }): number;
  /** Messages the bot sent (to one chat, or all), oldest first. */
  sent(chatId?: number): SentMessage[];
  answeredCallbacks(): AnsweredCallback[];
  /** How many calls of `method` arrived (with the right token), answered or failed. */
  calls(method: string): number;
  /** The next `times` (default 1) sendMessage/editMessageText calls fail with `status`. */
  failNext(status: number, opts?: { retry_after?: number; times?: number }): void;
  /** While on, every method answers 502. */
  down(on: boolean): void;
  /** Ends pending long polls at once and stops the server. */
  close(): Promise<void>;
}

type Params = Record<string, unknown>;
type Problem = { problem: number; description: string };

/** Tags Telegram's HTML parse mode accepts. */
const TAGS = new Set(
  'b strong i em u ins s strike del a code pre tg-spoiler span blockquote'.split(' '),
);

/** The visible text of Telegram HTML, or the reason the API would refuse it (see the header for
 *  where this is stricter). */
export function parseTelegramHtml(html: string): string | { error: string } {
  const stack: string[] = [];
  let text = '';
  const re = /<(\/?)([a-z][a-z-]*)([^>]*)>|&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|([<>&])|([^<&>]+)/gi;
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
  const open = stack.at(-1);
  if (open) return { error: `Can't find end tag corresponding to start tag "${open}"` };
  return text;
}

function checkMessage(p: Params): Problem | null {
  const bad = (description: string): Problem => ({ problem: 400, description });
  if (p.chat_id === undefined || p.chat_id === '') return bad('Bad Request: chat_id is empty');
  if (!Number.isSafeInteger(Number(p.chat_id))) return bad('Bad Request: chat not found');
  if (typeof p.text !== 'string' || p.text === '') return bad('Bad Request: message text is empty');
  const visible = p.parse_mode === 'HTML' ? parseTelegramHtml(p.text) : p.text;
  if (typeof visible !== 'string')
    return bad(`Bad Request: can't parse entities: ${visible.error}`);
  if (visible.trim() === '') return bad('Bad Request: message text is empty');
  if (visible.length > 4096) return bad('Bad Request: message is too long');
  const markup = (
    typeof p.reply_markup === 'string' ? JSON.parse(p.reply_markup) : p.reply_markup
  ) as { inline_keyboard?: Array<Array<{ callback_data?: string }>> } | undefined;
  for (const button of markup?.inline_keyboard?.flat() ?? []) {
    const bytes = Buffer.byteLength(button.callback_data ?? '');
    if (bytes < 1 || bytes > 64) return bad('Bad Request: BUTTON_DATA_INVALID');
  }
  return null;
}

async function readParams(req: IncomingMessage): Promise<Params> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw === '') return {};
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
    const params: Params = {};
    for (const [key, value] of new URLSearchParams(raw)) {
      params[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
    }
    return params;
  }
  return JSON.parse(raw) as Params;
}

export async function startFakeTelegram(opts: { token: string }): Promise<FakeTelegram> {
  const updates: Array<Params & { update_id: number }> = [];
  const waiters = new Set<() => void>();
  const messages: SentMessage[] = [];
  const answers: AnsweredCallback[] = [];
  const failures: Array<{ status: number; retry_after?: number }> = [];
  /** Callback queries pressed and not yet answered. */
  const pending = new Set<string>();
  /** Update types getUpdates delivers (null: all); like Telegram, the last list given stays. */
  let allowedUpdates: string[] | null = null;
  let nextUpdate = 1;
  let nextMessage = 1;
  let isDown = false;
  let closing = false;
  const callCounts = new Map<string, number>();

  const queue = (update: Params): number => {
    const update_id = nextUpdate++;
    updates.push({ update_id, ...update });
    for (const wake of waiters) wake();
    return update_id;
  };
  const user = (id: number) => ({ id, is_bot: false, first_name: `user${id}` });
  const chat = (id: number) => ({ id, type: id > 0 ? 'private' : 'group' });
  const asMessage = (m: SentMessage) => ({
    message_id: m.message_id,
    date: Math.floor(Date.now() / 1000),
    chat: chat(m.chat_id),
    text: m.text,
  });

  /** Telegram never delivers an update of a type the bot did not ask for. */
  function dropNotAllowed() {
    if (!allowedUpdates) return;
    const allowed = allowedUpdates;
    for (let i = updates.length - 1; i >= 0; i--) {
      const type = Object.keys(updates[i]!).find((k) => k !== 'update_id') ?? '';
      if (!allowed.includes(type)) updates.splice(i, 1);
    }
  }

  function waitForUpdate(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        waiters.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(wake, seconds * 1000);
      waiters.add(wake);
    });
  }

  const methods: Record<string, (p: Params) => unknown> = {
    getMe: () => ({ id: 1, is_bot: true, first_name: 'Forge', username: 'forge_test_bot' }),
    deleteWebhook: () => true,
    async getUpdates(p) {
      const offset = Number(p.offset ?? 0);
      if (offset > 0) {
        while (updates.length > 0 && updates[0]!.update_id < offset) updates.shift();
      }
      if (Array.isArray(p.allowed_updates)) {
        allowedUpdates = p.allowed_updates.length > 0 ? p.allowed_updates.map(String) : null;
      }
      dropNotAllowed();
      const timeout = Math.max(0, Number(p.timeout ?? 0));
      if (updates.length === 0 && !closing && timeout > 0) await waitForUpdate(timeout);
      dropNotAllowed();
      return updates.slice(0, Math.min(100, Math.max(1, Number(p.limit ?? 100))));
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
      return asMessage(message);
    },
    editMessageText(p) {
      const problem = checkMessage(p);
      if (problem) return problem;
      const message = messages.find(
        (m) => m.chat_id === Number(p.chat_id) && m.message_id === Number(p.message_id),
      );
      if (!message) return { problem: 400, description: 'Bad Request: message to edit not found' };
      message.text = String(p.text);
      message.edited = true;
      if (p.reply_markup) message.reply_markup = p.reply_markup;
      else delete message.reply_markup;
      return asMessage(message);
    },
    answerCallbackQuery(p) {
      if (!pending.delete(String(p.callback_query_id))) {
        return {
          problem: 400,
          description:
            'Bad Request: query is too old and response timeout expired or query ID is invalid',
        };
      }
      answers.push({
        callback_query_id: String(p.callback_query_id),
        ...(typeof p.text === 'string' ? { text: p.text } : {}),
      });
      return true;
    },
  };

  function failure(method: string): { status: number; body: Params } | null {
    if (method !== 'sendMessage' && method !== 'editMessageText') return null;
    const next = failures.shift();
    if (!next) return null;
    const description =
      next.status === 429
        ? `Too Many Requests: retry after ${next.retry_after ?? 1}`
        : `Error ${next.status}`;
    return {
      status: next.status,
      body: {
        ok: false,
        error_code: next.status,
        description,
        ...(next.retry_after !== undefined
          ? { parameters: { retry_after: next.retry_after } }
          : {}),
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const error = (status: number, description: string) =>
      reply(status, { ok: false, error_code: status, description });
    const params = await readParams(req);
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!match) return error(404, 'Not Found');
    // Telegram: a token of the wrong shape names no bot (404); a well-formed wrong one is 401.
    if (match[1] !== opts.token) {
      return /^\d+:[\w-]+$/.test(match[1]!) ? error(401, 'Unauthorized') : error(404, 'Not Found');
    }
    callCounts.set(match[2]!, (callCounts.get(match[2]!) ?? 0) + 1);
    if (isDown) return error(502, 'Bad Gateway');
    const name = match[2]!;
    const method = methods[name];
    if (!method) return error(404, 'Not Found: method not found');
    const failed = failure(name);
    if (failed) return reply(failed.status, failed.body);
    const result = await method(params);
    if (result && typeof result === 'object' && 'problem' in result) {
      const { problem, description } = result as Problem;
      return error(problem, description);
    }
    reply(200, { ok: true, result });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ok: false,
            error_code: 400,
            description: `Bad Request: ${String(err)}`,
          }),
        );
      }
    });
  });
  const listening = await listenOnLoopback(server);

  return {
    url: listening.url,
    sendUserMessage: ({ chatId, userId, text }) => {
      const command = /^\/[A-Za-z0-9_]+(@\w+)?/.exec(text)?.[0];
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
    pressButton: ({ chatId, userId, messageId, data }) => {
      const message = messages.find((m) => m.chat_id === chatId && m.message_id === messageId);
      const id = `cb-${nextUpdate}`;
      pending.add(id);
      return queue({
        callback_query: {
          id,
          from: user(userId),
          chat_instance: String(chatId),
          message: {
            message_id: messageId,
            date: Math.floor(Date.now() / 1000),
            chat: chat(chatId),
            text: message?.text ?? '',
          },
          data,
        },
      });
    },
    sent: (chatId) => messages.filter((m) => chatId === undefined || m.chat_id === chatId),
    answeredCallbacks: () => [...answers],
    calls: (method) => callCounts.get(method) ?? 0,
    failNext(status, o = {}) {
      for (let i = 0; i < (o.times ?? 1); i++) {
        failures.push({
          status,
          ...(o.retry_after !== undefined ? { retry_after: o.retry_after } : {}),
        });
      }
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
