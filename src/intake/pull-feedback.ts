/**
 * Feedback on a pull request Forge opened, as the next piece of work on its branch: a review
 * requesting changes (its text is the instruction), or a `/forge <instruction>` comment or
 * commenting review, becomes a follow-up of the newest job of the chain that opened the pull
 * request, so its commit lands on the same pull request. `/forge cancel` and `/forge retry` act
 * on that newest job as they do on an issue. Approvals and plain comments ask for nothing.
 *
 * The rules:
 * - only people the source allows (trigger-rules.ts), never Forge's own account; hidden text in
 *   the comment never reaches the prompt;
 * - one comment or review gives at most one job, however often it is delivered (the follow-up's
 *   idempotency key names the repository, the pull request and the comment or review);
 * - the pull request must be one a Forge job opened: its head branch (`forge/<id>`) or its
 *   description's `/jobs/<ID>` link names a job, and that job (or one of its follow-ups) must
 *   record this very pull request — number, branch and repository — as its result. A stranger's
 *   pull request naming a job's id steers nothing.
 */
import type { Logger } from 'pino';
import { ForgeError } from '../domain/errors.ts';
import { isTerminal, type Job } from '../domain/job.ts';
import type { JobControl } from '../core/job-control.ts';
import type { ForgeUser, IssueTracker, TrackedPull } from '../ports/issue-tracker.ts';
import { readCommand, type ForgeCommand } from './forge-command.ts';
import { visibleText } from './issue-text.ts';
import type { PullEvent } from './pull-events.ts';
import type { TriggerRules } from './trigger-rules.ts';

/** How many follow-ups deep a chain is walked (a guard against a cycle, never reached). */
const MAX_CHAIN = 200;
/** A job id (ULID) as Forge writes it in a branch name (lower case) or a link (upper case). */
const BRANCH_JOB = /^forge\/([0-9a-hjkmnp-tv-z]{26})$/i;
const LINKED_JOB = /\/jobs\/([0-9A-HJKMNP-TV-Z]{26})\b/gi;

export interface PullFeedbackDeps {
  /** Name of the intake source, for logs. */
  source: string;
  tracker: Pick<IssueTracker, 'getPull' | 'createComment'>;
  rules: TriggerRules;
  control: Pick<JobControl, 'get' | 'list' | 'followUp' | 'cancel' | 'retry'>;
  logger: Logger;
}

export interface PullFeedback {
  /** Acts on feedback. Throws ForgeError('unavailable') when the forge could not be asked (the
   *  caller retries). */
  handle(event: PullEvent, signal: AbortSignal): Promise<void>;
}

/** What a comment or review asks for, or null when nothing. */
export function requestOf(
  event: PullEvent,
): { author: ForgeUser; command: ForgeCommand; key: string } | null {
  if (event.type === 'pull_comment') {
    const command = readCommand(visibleText(event.comment.body));
    return command && { author: event.comment.author, command, key: `comment:${event.comment.id}` };
  }
  const { review } = event;
  if (review.state === 'approved') return null;
  const text = visibleText(review.body).trim();
  const command = readCommand(text);
  const key = review.key;
  if (command) return { author: review.author, command, key };
  if (review.state !== 'changes_requested' || text === '') return null;
  // The review's text is the instruction as written, as a `/forge` comment's is: the follow-up's
  // prompt already frames it as what to do next on this branch.
  return { author: review.author, command: { kind: 'instruction', text }, key };
}

/** owner/name of a clone URL (https or scp-like), in lower case; null when it names none. */
export function repositoryOf(url: string): string | null {
  const m = /[/:]([^/:]+)\/([^/]+?)(?:\.git)?\/*$/.exec(url.trim());
  return m ? `${m[1]}/${m[2]}`.toLowerCase() : null;
}

export function createPullFeedback(deps: PullFeedbackDeps): PullFeedback {
  const { control, logger } = deps;

  /** `job` and its follow-ups, newest last, taking the newest follow-up at each step. */
  async function chainFrom(job: Job): Promise<Job[]> {
    const chain = [job];
    for (let i = 0; i < MAX_CHAIN; i++) {
      const { jobs } = await control.list({ parent_id: chain.at(-1)!.id, limit: 1, offset: 0 });
      if (!jobs[0]) break;
      chain.push(jobs[0]);
    }
    return chain;
  }

  /** The newest job of the chain that opened `pull` in `repo`, or null when Forge opened none. */
  async function latestJobOf(repo: string, pull: TrackedPull): Promise<Job | null> {
    const named = new Set<string>();
    const fromBranch = BRANCH_JOB.exec(pull.head)?.[1];
    if (fromBranch) named.add(fromBranch.toUpperCase());
    for (const m of pull.body.matchAll(LINKED_JOB)) named.add(m[1]!.toUpperCase());
    for (const id of [...named].slice(0, 10)) {
      const job = await control.get(id);
      if (!job?.repo || repositoryOf(job.repo.url) !== repo.toLowerCase()) continue;
      const chain = await chainFrom(job);
      const opened = chain.some(
        (j) => j.result?.pr_number === pull.number && j.result.branch === pull.head,
      );
      if (opened) return chain.at(-1)!;
    }
    return null;
  }

  async function say(repo: string, number: number, text: string, signal: AbortSignal) {
    const [owner, name] = repo.split('/') as [string, string];
    // Posted here rather than through the outbox's notice, which writes to the source's own
    // repository: the pull request may live in another. This runs inside an outbox delivery, so
    // a forge that is down delays the comment and the whole handling is tried again.
    await deps.tracker.createComment({ owner, name }, number, text, signal);
  }

  async function act(event: PullEvent, signal: AbortSignal): Promise<void> {
    const request = requestOf(event);
    if (!request || (await deps.rules.isSelf(request.author, signal))) return;
    const where = { source: deps.source, repo: event.repo, pull: event.number };
    if (!(await deps.rules.mayTrigger(request.author, signal))) {
      logger.info({ ...where, user: request.author.login }, 'pull request feedback refused');
      return;
    }
    const [owner, name] = event.repo.split('/') as [string, string];
    const pull = await deps.tracker.getPull({ owner, name }, event.number, signal);
    const latest = pull && (await latestJobOf(event.repo, pull));
    if (!latest) {
      logger.info(where, 'feedback on a pull request no Forge job opened');
      return;
    }
    const { command } = request;
    const who = `@${request.author.login}`;
    if (command.kind === 'cancel') {
      if (!isTerminal(latest.status))
        await ignoreConflict(() =>
          control.cancel(latest.id, `cancelled on the pull request by ${who}`),
        );
      return;
    }
    if (command.kind === 'retry') {
      if (latest.status === 'FAILED' || latest.status === 'CANCELLED')
        await ignoreConflict(() => control.retry(latest.id));
      return;
    }
    const instruction = command.kind === 'instruction' ? command.text : '';
    if (!isTerminal(latest.status)) {
      await say(
        event.repo,
        event.number,
        `Forge: job ${latest.id} is still ${latest.status} on this pull request, so ${who}'s request was not queued. Write it again once that job has ended (or \`/forge cancel\` it first).`,
        signal,
      );
      return;
    }
    try {
      const job = await control.followUp(
        latest.id,
        { message: instruction },
        `pull:${event.repo.toLowerCase()}#${event.number}:${request.key}`,
        `${who} on pull request #${event.number}`,
      );
      logger.info(
        { ...where, jobId: job.id, parent: latest.id },
        'follow-up queued from a pull request',
      );
    } catch (err) {
      if (!(err instanceof ForgeError)) throw err;
      if (err.code !== 'conflict' && err.code !== 'invalid_request') throw err;
      await say(event.repo, event.number, `Forge: ${err.message}`, signal);
    }
  }

  // One event per pull request at a time, so two deliveries cannot race past the same checks.
  const queues = new Map<string, Promise<void>>();
  return {
    handle(event, signal) {
      const id = `${event.repo.toLowerCase()}#${event.number}`;
      const run = () => act(event, signal);
      const next = (queues.get(id) ?? Promise.resolve()).then(run, run);
      const tail = next.catch(() => undefined);
      queues.set(id, tail);
      void tail.then(() => {
        if (queues.get(id) === tail) queues.delete(id);
      });
      return next;
    },
  };
}

/** Runs `fn`; a conflict (the job ended or started meanwhile) means there is nothing to do. */
async function ignoreConflict(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof ForgeError) || err.code !== 'conflict') throw err;
  }
}
