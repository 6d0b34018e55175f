/**
 * A Telegram bot as a sink and a door: it tells the configured chats about jobs (one delivery per
 * chat, from the outbox), answers its Cancel and Retry buttons, and, with `intake`, files jobs from
 * messages and answers `/status`, `/list`, `/cancel`, `/retry`. It long-polls (no public URL
 * needed) and serves only listed chats and users: anything else is ignored and logged once.
 * Telegram being down delays messages and never affects a job.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError, HttpError, InlineKeyboard, type Context } from 'grammy';
import type { Logger } from 'pino';
import { ForgeError } from '../domain/errors.ts';
import type { Job, JobRecord } from '../domain/job.ts';
import type { JobControl } from '../core/job-control.ts';
import type { Delivery } from '../ports/outbox.ts';
import { jobMessages } from './telegram-job-text.ts';
import { parseRunRequest } from './telegram-options.ts';
import { escapeHtml } from './telegram-text.ts';

export interface TelegramBotOptions {
  /** The notifier's name under `notify:`. */
  name: string;
  token: string;
  apiRoot?: string;
  chats: readonly number[];
  users: readonly number[];
  /** Messages file jobs and commands are served. */
  intake: boolean;
  control: JobControl;
  jobUrl(id: string): string;
  logger: Logger;
  defaults?: { repo?: string; profile?: string };
}

export interface TelegramBot {
  deliver(delivery: Delivery, signal: AbortSignal): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const HELP = [
  '<b>Forge</b>',
  '/run [repo=… profile=… agent=… model=… budget=… max_turns=… max_duration=… base_branch=…] &lt;task&gt; — file a job (a plain message does too)',
  '/status [id] — a job (default: the last one from this chat)',
  '/list — the last 10 jobs',
  '/cancel id · /retry id',
].join('\n');

export function createTelegramBot(opts: TelegramBotOptions): TelegramBot {
  const bot = new Bot(opts.token, opts.apiRoot ? { client: { apiRoot: opts.apiRoot } } : {});
  // Waits out a short 429 in place; anything longer, and Telegram being down, is the outbox's to
  // retry with its own back-off (a delivery must never outlive its timeout and send late).
  bot.api.config.use(
    autoRetry({ maxRetryAttempts: 2, maxDelaySeconds: 10, rethrowInternalServerErrors: true }),
  );
  const log = opts.logger.child({ notifier: opts.name });
  const ignored = new Set<string>();
  const stopping = new AbortController();
  let polling: Promise<void> | null = null;

  const buttons = (job: Job) =>
    job.status === 'PENDING' || job.status === 'RUNNING'
      ? new InlineKeyboard().text('Cancel', `c:${job.id}`)
      : job.status === 'FAILED' || job.status === 'CANCELLED'
        ? new InlineKeyboard().text('Retry', `r:${job.id}`)
        : undefined;

  async function send(chatId: number, job: JobRecord, signal: AbortSignal): Promise<void> {
    const parts = jobMessages(job, opts.jobUrl(job.id));
    for (const [i, text] of parts.entries()) {
      const markup = i === parts.length - 1 ? buttons(job) : undefined;
      await bot.api.sendMessage(
        chatId,
        text,
        {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          ...(markup ? { reply_markup: markup } : {}),
        },
        // grammY types the signal with an older AbortSignal declaration; it is the same object.
        signal as unknown as Parameters<typeof bot.api.sendMessage>[3],
      );
    }
  }

  // Only listed chats and users get anything; the rest is dropped here and logged once each.
  bot.use(async (ctx, next) => {
    const chat = ctx.chat?.id;
    const user = ctx.from?.id;
    if (
      chat !== undefined &&
      user !== undefined &&
      opts.chats.includes(chat) &&
      opts.users.includes(user)
    )
      return next();
    const key = `${chat}/${user}`;
    if (!ignored.has(key)) {
      ignored.add(key);
      log.warn({ chat, user }, 'telegram update from a chat or user not configured; ignored');
    }
    if (ctx.callbackQuery)
      await ctx.answerCallbackQuery({ text: 'not allowed' }).catch(() => undefined);
  });

  bot.on('callback_query:data', async (ctx) => {
    const [, action, id] = /^([cr]):([0-9A-Z]{26})$/.exec(ctx.callbackQuery.data) ?? [];
    if (!action || !id) return ctx.answerCallbackQuery({ text: 'unknown button' });
    const [answer, act] =
      action === 'c'
        ? [
            'cancelling…',
            () => opts.control.cancel(id, `cancelled from Telegram by user ${ctx.from.id}`),
          ]
        : ['retrying…', () => opts.control.retry(id)];
    try {
      const job = await act();
      await ctx.answerCallbackQuery({ text: answer });
      const [text] = jobMessages(job, opts.jobUrl(job.id));
      const markup = buttons(job);
      await ctx
        .editMessageText(text!, { parse_mode: 'HTML', ...(markup ? { reply_markup: markup } : {}) })
        .catch(() => undefined);
    } catch (err) {
      await ctx.answerCallbackQuery({ text: clip((err as Error).message, 190) });
    }
  });

  if (opts.intake) {
    const reply = (ctx: Context, html: string) =>
      ctx.reply(html, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
    const fail = (ctx: Context, err: unknown) =>
      reply(ctx, `⚠️ ${escapeHtml((err as Error).message)}`);
    const run = async (ctx: Context, text: string) => {
      const request = parseRunRequest(text);
      if (!request.ok) return reply(ctx, `⚠️ ${escapeHtml(request.problem)}`);
      try {
        const job = await opts.control.submit(
          { ...opts.defaults, ...request.options, task: request.task, source: 'telegram' },
          { origin: { kind: 'telegram', notifier: opts.name, chat_id: ctx.chat!.id } },
        );
        return reply(
          ctx,
          `Queued job <a href="${escapeHtml(opts.jobUrl(job.id))}"><code>${job.id}</code></a>`,
        );
      } catch (err) {
        return fail(ctx, err);
      }
    };
    const show = async (ctx: Context, id: string) => {
      const job = await opts.control.get(id);
      if (!job)
        return reply(
          ctx,
          `No job <code>${escapeHtml(id.slice(0, 40))}</code>; /list shows the last ones`,
        );
      for (const text of jobMessages(job, opts.jobUrl(job.id))) await reply(ctx, text);
    };
    bot.command(['start', 'help'], (ctx) => reply(ctx, HELP));
    bot.command('run', (ctx) => run(ctx, ctx.match));
    bot.command('status', async (ctx) => {
      const id = ctx.match.trim();
      if (id) return show(ctx, id);
      const { jobs } = await opts.control.list({ limit: 50, offset: 0 });
      const mine = jobs.find(
        (j) => j.origin?.kind === 'telegram' && j.origin.chat_id === ctx.chat.id,
      );
      return mine ? show(ctx, mine.id) : reply(ctx, 'No job from this chat yet; /run files one');
    });
    bot.command('list', async (ctx) => {
      const { jobs } = await opts.control.list({ limit: 10, offset: 0 });
      const lines = jobs.map(
        (j) =>
          `<code>${j.id}</code> ${j.status} — ${escapeHtml(clip(j.task.split('\n')[0] ?? '', 60))}`,
      );
      return reply(ctx, lines.join('\n') || 'No jobs yet');
    });
    for (const [command, act] of [
      [
        'cancel',
        (id: string, from: number) =>
          opts.control.cancel(id, `cancelled from Telegram by user ${from}`),
      ],
      ['retry', (id: string) => opts.control.retry(id)],
    ] as const) {
      bot.command(command, async (ctx) => {
        const id = ctx.match.trim();
        if (!id) return reply(ctx, `Give the job id: /${command} &lt;id&gt;`);
        try {
          await act(id, ctx.from?.id ?? 0);
          return show(ctx, id);
        } catch (err) {
          return fail(ctx, err);
        }
      });
    }
    bot.on('message:text', (ctx) =>
      ctx.message.text.startsWith('/') ? reply(ctx, HELP) : run(ctx, ctx.message.text),
    );
  }

  bot.catch((err) => log.error({ err: err.error }, 'telegram update failed'));

  /** Polls until stopped; Telegram being down or refusing at start is retried with back-off. */
  async function poll(): Promise<void> {
    for (let delay = 1000; !stopping.signal.aborted; delay = Math.min(delay * 2, 60_000)) {
      try {
        await bot.start({
          allowed_updates: ['message', 'callback_query'],
          // stop() may have come while the bot was still starting.
          onStart: () => {
            if (stopping.signal.aborted) void bot.stop();
          },
        });
        return;
      } catch (err) {
        if (stopping.signal.aborted) return;
        log.warn({ err: describe(err, opts.name) }, 'telegram polling stopped; starting again');
        await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  }

  return {
    async deliver(delivery, signal) {
      const chatId = Number(delivery.payload.chat_id);
      if (!delivery.job_id || !Number.isInteger(chatId)) return;
      const job = await opts.control.get(delivery.job_id);
      if (!job) return;
      try {
        await send(chatId, job, signal);
      } catch (err) {
        throw new ForgeError(codeOf(err), describe(err, opts.name));
      }
    },
    start() {
      polling ??= poll();
      return Promise.resolve();
    },
    async stop() {
      stopping.abort();
      if (bot.isRunning()) await bot.stop().catch(() => undefined);
      await polling;
    },
  };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function codeOf(err: unknown): 'unavailable' | 'unauthorized' | 'invalid_request' {
  if (err instanceof GrammyError) {
    if (err.error_code === 401) return 'unauthorized';
    if (err.error_code === 400 || err.error_code === 403) return 'invalid_request';
  }
  return 'unavailable';
}

/** What went wrong, in our words: grammY's own messages can carry the request URL, token included. */
function describe(err: unknown, name: string): string {
  if (err instanceof GrammyError) {
    if (err.error_code === 401) return `Telegram refused the bot token; check notify.${name}.token`;
    return `Telegram answered ${err.error_code}: ${clip(err.description, 300)}`;
  }
  if (err instanceof HttpError) return 'Telegram could not be reached (network error)';
  return 'Telegram could not be reached';
}
