/**
 * Part of the composition root: the doors beyond the API (issue queues, Telegram) and the sinks
 * (issue comments and labels, chat, webhooks), wired to one outbox worker. Everything here is
 * built from the configuration; nothing runs until `start()`.
 */
import type { Logger } from 'pino';
import type { ForgeConfig, IssueIntakeConfig } from './config.ts';
import type { EventBus } from './core/events.ts';
import type { JobControl } from './core/job-control.ts';
import { createOutboxRoute, ISSUE_SINK, type RouteNotifier } from './core/outbox-route.ts';
import { createOutboxWorker, type DeliverFn } from './core/outbox-worker.ts';
import { composeIssueTrackers } from './compose-git-hosts.ts';
import { createIssueIntake, type IssueLabels } from './intake/issue-intake.ts';
import { createIssuePoller, type IssuePoller } from './intake/issue-poller.ts';
import { issueSignalOf } from './intake/issue-signal.ts';
import { createPullFeedback } from './intake/pull-feedback.ts';
import { storedPullEvent } from './intake/pull-events.ts';
import { createTriggerRules } from './intake/trigger-rules.ts';
import {
  createWebhookReceiver,
  intakeSink,
  type WebhookReceiver,
} from './intake/webhook-receiver.ts';
import { formatDuration } from './domain/duration.ts';
import type { DoctorCheck } from './ports/doctor-check.ts';
import type { OutboxRoute } from './ports/outbox.ts';
import type { JobStore } from './ports/store.ts';
import { createIssueSink, type IssueSinkSource } from './sinks/issue-sink.ts';
import { createTelegramBot } from './sinks/telegram-bot.ts';
import { createWebhookNotifier } from './sinks/webhook-notifier.ts';

/** The deliveries job changes cause, from the configured notifiers (given to the store). */
export function composeOutboxRoute(config: ForgeConfig): OutboxRoute {
  const notifiers: RouteNotifier[] = Object.entries(config.notify).map(([name, n]) =>
    n.kind === 'telegram'
      ? { sink: `telegram:${name}`, name, events: n.events, chats: n.chats }
      : { sink: `webhook:${name}`, events: n.events },
  );
  return createOutboxRoute(notifiers);
}

export function sourceLabels(source: IssueIntakeConfig): IssueLabels {
  return { queued: source.label, ...source.labels };
}

export interface Doors {
  /** Webhook receivers by intake source name, for POST /hooks/{source}. */
  hooks: ReadonlyMap<string, WebhookReceiver>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For GET /health: delivery backlog per sink and each poller's last error. */
  health(): Promise<Record<string, unknown>>;
}

export interface DoorsDeps {
  config: ForgeConfig;
  store: JobStore;
  bus: EventBus;
  control: JobControl;
  logger: Logger;
  owner: string;
  publicUrl: string;
}

export function composeDoors(deps: DoorsDeps): Doors {
  const { config, store, logger } = deps;
  const trackers = composeIssueTrackers(config);
  const jobUrl = (id: string) => `${deps.publicUrl}/jobs/${id}`;
  const logUrl = (id: string) => `${deps.publicUrl}/jobs/${id}/log`;
  const sinks = new Map<string, DeliverFn>();
  const hooks = new Map<string, WebhookReceiver>();
  const pollers = new Map<string, IssuePoller>();
  const issueSources = new Map<string, IssueSinkSource>();
  const starters: Array<() => Promise<void>> = [];
  const stoppers: Array<() => Promise<void>> = [];

  for (const [name, source] of Object.entries(config.intake)) {
    const tracker = trackers.get(source.forge)!;
    const forge = config.forges[source.forge]!;
    const [owner, repoName] = source.repo.split('/') as [string, string];
    const repo = { owner, name: repoName };
    const labels = sourceLabels(source);
    issueSources.set(name, { tracker, repo, labels });
    const intake = createIssueIntake({
      source: {
        name,
        repo: source.repo,
        forgeUrl: forge.url,
        labels,
        target_repo: source.target_repo,
        profile: source.profile,
        allowed_users: source.allowed_users,
        allow: source.allow,
        refusal_comment: source.refusal_comment,
      },
      tracker,
      control: deps.control,
      records: store,
      outbox: store,
      logger,
    });
    const pullFeedback = createPullFeedback({
      source: name,
      tracker,
      rules: createTriggerRules(source, tracker),
      control: deps.control,
      logger,
    });
    sinks.set(intakeSink(name), async (delivery, signal) => {
      // Feedback on a pull request may come from the repository the jobs work on, not the
      // source's own: the pull request itself proves which job it belongs to.
      const pullEvent = storedPullEvent(delivery.payload);
      if (pullEvent) return pullFeedback.handle(pullEvent, signal);
      const issueSignal = issueSignalOf(delivery.payload, source.repo);
      if (issueSignal) await intake.handle(issueSignal, signal);
    });
    hooks.set(
      name,
      createWebhookReceiver({
        source: name,
        kind: forge.kind,
        secret: source.webhook_secret ?? null,
        outbox: store,
      }),
    );
    pollers.set(
      name,
      createIssuePoller({
        source: name,
        tracker,
        repo,
        label: source.label,
        intervalMs: source.poll,
        intake,
        logger,
      }),
    );
  }
  if (issueSources.size > 0) {
    sinks.set(
      ISSUE_SINK,
      createIssueSink({
        sources: issueSources,
        getJob: (id) => store.get(id),
        jobUrl,
        logUrl,
        logger,
      }),
    );
    const ticker = progressTicker(
      deps,
      Math.min(...Object.values(config.intake).map((s) => s.comment_interval)),
    );
    starters.push(() => {
      ticker.start();
      return Promise.resolve();
    });
    stoppers.push(() => ticker.stop());
  }

  for (const [name, notifier] of Object.entries(config.notify)) {
    if (notifier.kind === 'webhook') {
      sinks.set(
        `webhook:${name}`,
        createWebhookNotifier({
          name,
          url: notifier.url,
          secret: notifier.secret,
          getJob: (id) => store.get(id),
        }),
      );
      continue;
    }
    const bot = createTelegramBot({
      name,
      token: notifier.token,
      apiRoot: notifier.api_root,
      chats: notifier.chats,
      users: notifier.users,
      intake: notifier.intake,
      control: deps.control,
      jobUrl,
      logger,
      defaults: {
        ...(notifier.repo ? { repo: notifier.repo } : {}),
        ...(notifier.profile ? { profile: notifier.profile } : {}),
      },
    });
    sinks.set(`telegram:${name}`, (delivery, signal) => bot.deliver(delivery, signal));
    starters.push(() => bot.start());
    stoppers.push(() => bot.stop());
  }

  const worker = createOutboxWorker({
    outbox: store,
    deliver: (sink) => sinks.get(sink) ?? null,
    owner: deps.owner,
    logger,
    pollMs: config.outbox.poll_interval,
    timeoutMs: config.outbox.delivery_timeout,
    // A server that died mid-delivery leaves a lease; the next one retakes it after this.
    leaseMs: config.outbox.delivery_timeout * 2,
    backoff: {
      baseMs: 1000,
      maxMs: config.outbox.max_backoff,
      maxAttempts: config.outbox.max_attempts,
    },
  });
  // Without sinks nothing is routed to the outbox, so a job's changes give the worker nothing to
  // take: it is not woken for them (its poll still finds what an older config left).
  const unsubscribe =
    sinks.size === 0
      ? () => {}
      : deps.bus.subscribe((event) => {
          if (event.type === 'job.status' || event.type === 'job.created') worker.wake();
        });

  return {
    hooks,
    async start() {
      worker.start();
      for (const poller of pollers.values()) poller.start();
      for (const start of starters) await start();
    },
    async stop() {
      unsubscribe();
      await Promise.all([...pollers.values()].map((p) => p.stop()));
      await Promise.all(stoppers.map((stop) => stop()));
      await worker.stop();
    },
    async health() {
      const intake = Object.fromEntries(
        [...pollers].map(([name, p]) => [name, { poll_error: p.lastError() }]),
      );
      return { deliveries: await store.summary(), intake };
    },
  };
}

/** While an issue's job runs, its status comment shows elapsed time, cost and turns: refreshed
 *  every `intervalMs`, through the outbox, and only when the last refresh went out. */
function progressTicker(deps: DoorsDeps, intervalMs: number) {
  let timer: NodeJS.Timeout | null = null;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const { jobs } = await deps.store.list({ statuses: ['RUNNING'], limit: 100, offset: 0 });
      for (const job of jobs) {
        if (job.origin?.kind !== 'issue') continue;
        const pending = (await deps.store.deliveriesOf(job.id)).some(
          (d) => d.sink === ISSUE_SINK && d.state === 'pending',
        );
        if (pending) continue;
        await deps.store.enqueue([
          { sink: ISSUE_SINK, event: 'progress', job_id: job.id, payload: {} },
        ]);
      }
    } catch (err) {
      deps.logger.warn({ err }, 'refreshing status comments failed');
    } finally {
      busy = false;
    }
  };
  return {
    start() {
      timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      return Promise.resolve();
    },
  };
}

/** `forge doctor`'s checks of the doors: each issue source's forge answers with its token and
 *  the repository's issues can be listed; each Telegram bot's token works. Down is a warning: a
 *  job never waits for them. */
export async function doorChecks(config: ForgeConfig): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const trackers = composeIssueTrackers(config);
  const signal = AbortSignal.timeout(10_000);
  for (const [name, source] of Object.entries(config.intake)) {
    const tracker = trackers.get(source.forge)!;
    const [owner, repoName] = source.repo.split('/') as [string, string];
    try {
      const me = await tracker.self(signal);
      await tracker.listLabelledIssues(
        { owner, name: repoName },
        source.label,
        new Date().toISOString(),
        signal,
      );
      checks.push({
        name: `intake.${name}`,
        ok: true,
        level: 'ok',
        detail: `${source.repo} on ${source.forge} answers as @${me.login}${source.webhook_secret ? '' : '; no webhook_secret, so only polling every ' + formatDuration(source.poll)}`,
      });
    } catch (err) {
      checks.push({
        name: `intake.${name}`,
        ok: false,
        level: 'warn',
        detail: (err as Error).message,
      });
    }
  }
  for (const [name, notifier] of Object.entries(config.notify)) {
    if (notifier.kind !== 'telegram') continue;
    try {
      const res = await fetch(
        `${notifier.api_root.replace(/\/+$/, '')}/bot${notifier.token}/getMe`,
        { signal },
      );
      const body = (await res.json()) as {
        ok?: boolean;
        result?: { username?: string };
        description?: string;
      };
      if (!body.ok)
        throw new Error(
          `Telegram answered ${res.status}: ${body.description ?? 'not ok'}; check notify.${name}.token`,
        );
      checks.push({
        name: `notify.${name}`,
        ok: true,
        level: 'ok',
        detail: `bot @${body.result?.username ?? '?'} answers`,
      });
    } catch (err) {
      // fetch's messages never hold the URL, so the token stays out of them.
      checks.push({
        name: `notify.${name}`,
        ok: false,
        level: 'warn',
        detail: `Telegram is not reachable: ${(err as Error).message}`,
      });
    }
  }
  return checks;
}
