/**
 * The safety net under webhooks: every `poll` interval, the open issues carrying the queue label
 * are listed (every page) and each is handled as if its label had just been seen, so a lost or
 * refused webhook delays a job and never loses it. The first listing after start takes every
 * labelled issue; later ones only those updated since the last listing began (with a margin for
 * the forge's clock).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RepoCoordinates } from '../ports/git-host.ts';
import type { IssueTracker } from '../ports/issue-tracker.ts';
import type { IssueIntake } from './issue-intake.ts';

/** How far the `since` cursor reaches back, for a forge whose clock is behind this one's. */
const CLOCK_MARGIN_MS = 5 * 60_000;

export interface IssuePollerDeps {
  source: string;
  tracker: IssueTracker;
  repo: RepoCoordinates;
  label: string;
  intervalMs: number;
  intake: IssueIntake;
  logger: Logger;
  clock?: () => number;
}

export interface IssuePoller {
  start(): void;
  stop(): Promise<void>;
  /** Lists and handles once; resolves when every listed issue was handled (tests, doctor). */
  pollOnce(signal: AbortSignal): Promise<void>;
  /** The last listing's error, or null when it worked (shown by /health). */
  lastError(): string | null;
}

export function createIssuePoller(deps: IssuePollerDeps): IssuePoller {
  const clock = deps.clock ?? Date.now;
  const stopping = new AbortController();
  let since: string | null = null;
  let error: string | null = null;
  let loop: Promise<void> | null = null;

  async function pollOnce(signal: AbortSignal): Promise<void> {
    const started = clock();
    const issues = await deps.tracker.listLabelledIssues(deps.repo, deps.label, since, signal);
    for (const issue of issues) {
      try {
        await deps.intake.handle({ type: 'labels', issue, sender: null }, signal);
      } catch (err) {
        // The next listing sees the issue again: keep the cursor where it was.
        deps.logger.warn(
          { err, source: deps.source, issue: issue.number },
          'queued issue not handled',
        );
        return;
      }
    }
    since = new Date(started - CLOCK_MARGIN_MS).toISOString();
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        await pollOnce(stopping.signal);
        error = null;
      } catch (err) {
        if (stopping.signal.aborted) return;
        error = (err as Error).message;
        deps.logger.warn({ err, source: deps.source }, 'listing queued issues failed');
      }
      await sleep(deps.intervalMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  }

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
    pollOnce,
    lastError: () => error,
  };
}
