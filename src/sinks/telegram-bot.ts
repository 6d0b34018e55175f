/**
 * A Telegram bot for one `notify:` entry: it delivers job messages from the outbox (with a Cancel
 * or Retry button), answers those buttons, and — with `intake` — files jobs from chat messages and
 * answers /status, /list, /cancel, /retry and /help. It serves only the listed chats, and in them
 * only the listed users. Long polling runs in the background and survives Telegram being down.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError, HttpError, type Context } from 'grammy';
import type { Logger } from 'pino';
import type { JobControl } from '../core/job-control.ts';
import { ForgeError, isForgeError } from '../domain/errors.ts';
import type { Delivery } from '../ports/outbox.ts';
import { parseCommand, parseTask, OPTION_KEYS } from './telegram-commands.ts';
import { renderJob, renderJobLine, type RenderedJob } from './telegram-message.ts';
import { escapeAttribute, escapeHtml, splitMessages } from './telegram-text.ts';

export interface TelegramBotOptions {
  /** Name of the notifier under `notify:`. */
  name: string;
  token: string;
  apiRoot?: string;
  /** Chats notified, and the only chats served. */
  chats: number[];
  /** Users whose messages and button presses are served. */
  users: number[];
  /** Messages to the bot file jobs. */
  intake: boolean;
  control: JobControl;
  jobUrl(id: string): string;
  logger: Logger;
  /** Defaults for jobs filed from chat. */
  defaults?: { repo?: string; profile?: string };
}

export interface TelegramBot {
  /** Sends the job's message to the delivery's chat. Throws ForgeError: 'unavailable' (Telegram
   *  down or rate-limiting: retry later), 'unauthorized' (bad token), 'invalid_request' (the chat
   *  refused it). Aborting `signal` abandons the call. */
  deliver(delivery: Delivery, signal: AbortSignal): Promise<void>;
  /** Starts long polling in the background; returns at once and never throws. */
  start(): Promise<void>;
  /** Ends polling promptly. */
  stop(): Promise<void>;
}

/** grammY types its signals with the abort-controller package; Node's are the same at runtime. */
type ApiSignal = Parameters<Bot['api']['getMe']>[0];
const apiSignal = (signal: AbortSignal | undefined) => signal as unknown as ApiSignal;

const MAX_BACKOFF_MS = 60_000;
/** How long stop() waits for Telegram to confirm the last update seen. */
const STOP_CONFIRM_MS = 2_000;

const HELP = [
  '<b>Forge</b>',
  '/run &lt;task&gt; — file a job (or just send the task)',
  `  options first: ${OPTION_KEYS.map((k) => `${k}=…`).join(' ')}`,
  '/status [id] — a job (default: this chat’s newest)',
  '/list — the last 10 jobs',
  '/cancel &lt;id&gt;, /retry &lt;id&gt;',
].join('\n');

export function createTelegramBot(opts: TelegramBotOptions): TelegramBot {
  const bot = new Bot(opts.token, {
    client: { apiRoot: opts.apiRoot ?? 'https://api.telegram.org' },
  });
  // A short 429 is waited out in place; Telegram being down is the outbox's to retry, with its
  // own back-off and the delivery's timeout (so nothing is sent late).
  bot.api.config.use(
    autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30, rethrowInternalServerErrors: true }),
  );
  const log = opts.logger.child({ notifier: opts.name });
  const chats = new Set(opts.chats);
  const users = new Set(opts.users);
  const ignored = new Set<string>();
  const redact = (text: string) => text.split(opts.token).join('<token>');
  let polling: Promise<void> | null = null;
  let stopping: AbortController | null = null;

  /** Turns any error of a Bot API call into a ForgeError with a message of our own. */
  function toForgeError(err: unknown, what: string): ForgeError {
    if (err instanceof GrammyError) {
      const code = err.error_code;
      const said = redact(err.description);
      if (code === 401) {
        return new ForgeError(
          'unauthorized',
          `Telegram refused the bot token; check notify.${opts.name}.token`,
        );
      }
      if (code === 429 || code >= 500) {
        return new ForgeError(
          'unavailable',
          `Telegram could not take ${what} now (${code}: ${said})`,
        );
      }
      return new ForgeError('invalid_request', `Telegram refused ${what} (${code}: ${said})`);
    }
    if (err instanceof HttpError) {
      return new ForgeError('unavailable', `could not reach Telegram for ${what}`);
    }
    const message = err instanceof Error ? redact(err.message) : 'unknown error';
    return new ForgeError('unavailable', `Telegram call for ${what} failed: ${message}`);
  }

  async function sendRendered(chatId: number, rendered: RenderedJob, signal?: AbortSignal) {
    for (const [i, text] of rendered.texts.entries()) {
      const last = i === rendered.texts.length - 1;
      const markup = last && rendered.keyboard ? { reply_markup: rendered.keyboard } : {};
      try {
        await bot.api.sendMessage(
          chatId,
          text,
          { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...markup },
          apiSignal(signal),
        );
      } catch (err) {
        throw toForgeError(err, `the message to chat ${chatId}`);
      }
    }
  }

  const replyHtml = (chatId: number, html: string) =>
    sendRendered(chatId, { texts: splitMessages(html.split('\n')), keyboard: null });

  function allowed(ctx: Context): boolean {
    const chatId = ctx.chat?.id;
    const userId = ctx.from?.id;
    if (chatId === undefined || !chats.has(chatId)) {
      noteIgnored(`chat ${chatId ?? 'none'}`, { chatId });
      return false;
    }
    if (userId === undefined || !users.has(userId)) {
      noteIgnored(`user ${userId ?? 'none'}`, { chatId, userId });
      return false;
    }
    return true;
  }

  function noteIgnored(key: string, fields: Record<string, unknown>) {
    if (ignored.has(key)) return;
    ignored.add(key);
    log.warn(fields, 'telegram message from a chat or user not served; ignored');
  }

  bot.catch((err) => {
    log.warn(
      { updateId: err.ctx.update.update_id, error: toForgeError(err.error, 'an update').message },
      'telegram update failed',
    );
  });

  bot.use(async (ctx, next) => {
    if (allowed(ctx)) return next();
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: 'not allowed' });
  });

  bot.on('callback_query:data', async (ctx) => {
    const match = /^([cr]):(\S+)$/.exec(ctx.callbackQuery.data);
    if (!match) {
      await ctx.answerCallbackQuery({ text: 'unknown button' });
      return;
    }
    const [, action, id] = match as unknown as [string, 'c' | 'r', string];
    let answer = action === 'c' ? 'cancelling…' : 'retrying…';
    try {
      if (action === 'c')
        await opts.control.cancel(id, `cancelled from Telegram by ${ctx.from.id}`);
      else await opts.control.retry(id);
    } catch (err) {
      answer = errorText(err);
    }
    await ctx.answerCallbackQuery({ text: answer.slice(0, 200) });
    const job = await opts.control.get(id);
    if (!job) return;
    const rendered = renderJob(job, opts.jobUrl(id));
    try {
      await ctx.editMessageText(rendered.texts.at(-1)!, {
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(rendered.keyboard ? { reply_markup: rendered.keyboard } : {}),
      });
    } catch (err) {
      log.debug({ jobId: id, error: toForgeError(err, 'an edit').message }, 'telegram edit failed');
    }
  });

  bot.on('message:text', async (ctx) => {
    if (!opts.intake) return;
    const chatId = ctx.chat.id;
    const text = ctx.message.text;
    const command = parseCommand(text);
    try {
      if (!command) await fileJob(chatId, text);
      else await runCommand(chatId, command.name, command.args, ctx.from.id);
    } catch (err) {
      if (!isForgeError(err) || err.code === 'unavailable' || err.code === 'unauthorized')
        throw err;
      await replyHtml(chatId, escapeHtml(err.message));
    }
  });

  function errorText(err: unknown): string {
    if (isForgeError(err)) return err.message;
    log.error(
      { error: err instanceof Error ? redact(err.message) : String(err) },
      'job action failed',
    );
    return 'something went wrong; see the Forge log';
  }

  async function fileJob(chatId: number, text: string) {
    const parsed = parseTask(text);
    if (!parsed.ok) return replyHtml(chatId, escapeHtml(parsed.error));
    const { repo, profile } = opts.defaults ?? {};
    const job = await opts.control.submit(
      {
        task: parsed.task,
        source: 'telegram',
        ...(repo ? { repo } : {}),
        ...(profile ? { profile } : {}),
        ...parsed.options,
      },
      { origin: { kind: 'telegram', notifier: opts.name, chat_id: chatId } },
    );
    const link = `<a href="${escapeAttribute(opts.jobUrl(job.id))}">open</a>`;
    await replyHtml(chatId, `Queued job <code>${escapeHtml(job.id)}</code> · ${link}`);
  }

  async function showJob(chatId: number, id: string) {
    const job = await opts.control.get(id);
    if (!job) return replyHtml(chatId, `No job <code>${escapeHtml(id)}</code>.`);
    await sendRendered(chatId, renderJob(job, opts.jobUrl(id)));
  }

  async function newestOfChat(chatId: number): Promise<string | null> {
    const { jobs } = await opts.control.list({ limit: 20, offset: 0 });
    const mine = jobs.filter(
      (j) =>
        j.origin?.kind === 'telegram' &&
        j.origin.notifier === opts.name &&
        j.origin.chat_id === chatId,
    );
    mine.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
    return mine[0]?.id ?? null;
  }

  async function runCommand(chatId: number, name: string, args: string, userId: number) {
    const id = args.split(/\s+/)[0] ?? '';
    switch (name) {
      case 'run':
        return fileJob(chatId, args);
      case 'status': {
        const target = id || (await newestOfChat(chatId));
        if (!target) return replyHtml(chatId, 'No job from this chat yet; /run one.');
        return showJob(chatId, target);
      }
      case 'list': {
        const { jobs } = await opts.control.list({ limit: 10, offset: 0 });
        if (jobs.length === 0) return replyHtml(chatId, 'No jobs yet.');
        return replyHtml(chatId, jobs.map(renderJobLine).join('\n'));
      }
      case 'cancel':
      case 'retry': {
        if (!id) return replyHtml(chatId, `Say which job: /${name} &lt;id&gt;`);
        if (name === 'cancel')
          await opts.control.cancel(id, `cancelled from Telegram by ${userId}`);
        else await opts.control.retry(id);
        return showJob(chatId, id);
      }
      case 'help':
      case 'start':
        return replyHtml(chatId, HELP);
      default:
        return replyHtml(chatId, `Unknown command /${escapeHtml(name)}.\n${HELP}`);
    }
  }

  async function poll(signal: AbortSignal) {
    let backoff = 1000;
    while (!signal.aborted) {
      try {
        if (!bot.isInited()) bot.botInfo = await bot.api.getMe(apiSignal(signal));
        if (signal.aborted) return;
        backoff = 1000;
        await bot.start({
          drop_pending_updates: false,
          allowed_updates: ['message', 'callback_query'],
        });
        if (signal.aborted) return;
      } catch (err) {
        if (signal.aborted) return;
        log.warn(
          { error: toForgeError(err, 'polling').message, retryInMs: backoff },
          'telegram polling failed; trying again',
        );
      }
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  return {
    async deliver(delivery, signal) {
      const chatId = delivery.payload.chat_id;
      if (typeof chatId !== 'number') {
        throw new ForgeError('invalid_request', `telegram delivery ${delivery.id} has no chat_id`);
      }
      if (!delivery.job_id) return;
      const job = await opts.control.get(delivery.job_id);
      if (!job) return;
      await sendRendered(chatId, renderJob(job, opts.jobUrl(job.id)), signal);
    },
    start() {
      if (!polling) {
        stopping = new AbortController();
        polling = poll(stopping.signal);
      }
      return Promise.resolve();
    },
    async stop() {
      if (!polling || !stopping) return;
      stopping.abort();
      const confirmed = bot.stop().catch((err: unknown) => {
        log.debug({ error: toForgeError(err, 'stopping').message }, 'telegram stop not confirmed');
      });
      await Promise.race([confirmed, sleep(STOP_CONFIRM_MS, undefined, { ref: false })]);
      await Promise.race([polling, sleep(STOP_CONFIRM_MS, undefined, { ref: false })]);
      polling = null;
      stopping = null;
    },
  };
}
