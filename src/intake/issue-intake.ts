/**
 * An issue queue on a forge as a source of jobs: what a labelled issue, a label change or a
 * `/forge` command means, decided the same way whether a webhook or the poller saw it.
 *
 * The rules that make it safe to point at a public repository:
 * - only allowed people trigger anything (the person who applied the label, or wrote the command;
 *   in polling mode, where the forge does not say who labelled, the issue's author), bots only when
 *   listed;
 * - one queued issue gives exactly one job: while its job is queued or running nothing starts
 *   another, and after it ended a new job starts only once Forge's own label changes for it were
 *   delivered (until then `forge:queued` may still be the old label, not a new request);
 * - the issue's text becomes the prompt only through `readIssue` (directives out, hidden text out),
 *   and directives pass the same caps as any API request: a problem holds the issue with a comment
 *   saying what is allowed, and no job.
 * Signals for one issue are handled one at a time, so a webhook racing the poller cannot start two
 * jobs in this process; the store's origin index is what later checks see.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ForgeError } from '../domain/errors.ts';
import { isTerminal, originKey, type Job, type JobOrigin } from '../domain/job.ts';
import type { JobControl } from '../core/job-control.ts';
import type {
  ForgeUser,
  IssueComment,
  IssueTracker,
  TrackedIssue,
} from '../ports/issue-tracker.ts';
import type { Outbox } from '../ports/outbox.ts';
import type { JobRecords } from '../ports/store.ts';
import { readIssue, visibleText } from './issue-text.ts';
import { noticeItem, type IssueNotice } from './issue-notice.ts';
import { readCommand } from './forge-command.ts';
import { createTriggerRules } from './trigger-rules.ts';

/** The labels of a source, by meaning. */
export interface IssueLabels {
  queued: string;
  running: string;
  done: string;
  failed: string;
  cancelled: string;
  cancel: string;
}

/** What an issue queue is configured with (shaped like `intake.<name>` in forge.yaml). */
export interface IssueSourcePolicy {
  name: string;
  /** owner/name. */
  repo: string;
  /** Web URL of the forge, for the clone URL of the issue's own repository. */
  forgeUrl: string;
  labels: IssueLabels;
  target_repo?: string | undefined;
  profile?: string | undefined;
  allowed_users: readonly string[];
  allow: 'listed' | 'write';
  refusal_comment: boolean;
}

/** Something seen on an issue. `sender` null: seen by polling, which does not say who labelled. */
export type IssueSignal =
  | { type: 'labels'; issue: TrackedIssue; sender: ForgeUser | null }
  | { type: 'comment'; issue: TrackedIssue; comment: IssueComment };

export interface IssueIntakeDeps {
  source: IssueSourcePolicy;
  tracker: IssueTracker;
  control: JobControl;
  records: Pick<JobRecords, 'latestFromOrigin'>;
  outbox: Pick<Outbox, 'enqueue' | 'deliveriesOf'>;
  logger: Logger;
}

export interface IssueIntake {
  /** Acts on a signal. Throws ForgeError('unavailable') when the forge could not be asked (the
   *  caller retries). */
  handle(signal: IssueSignal, signal_: AbortSignal): Promise<void>;
}

export function createIssueIntake(deps: IssueIntakeDeps): IssueIntake {
  const { source, tracker, logger } = deps;
  const [owner, name] = source.repo.split('/') as [string, string];
  const repo = { owner, name };
  const queues = new Map<number, Promise<void>>();
  const { isSelf, mayTrigger } = createTriggerRules(source, tracker);

  const originOf = (issue: TrackedIssue): JobOrigin => ({
    kind: 'issue',
    source: source.name,
    repo: source.repo,
    number: issue.number,
    url: issue.url,
  });
  /** Whether every delivery Forge made for `job` to the issue went out (its labels are Forge's). */
  async function settled(job: Job): Promise<boolean> {
    const deliveries = await deps.outbox.deliveriesOf(job.id);
    return deliveries.every((d) => d.sink !== 'issue' || d.state === 'delivered');
  }

  async function notice(issue: TrackedIssue, key: string, what: IssueNotice, hold: boolean) {
    await deps.outbox.enqueue([
      noticeItem(source.name, issue.number, key, what, hold ? [source.labels.failed] : null),
    ]);
  }

  async function onLabels(seen: TrackedIssue, sender: ForgeUser | null, signal: AbortSignal) {
    if (sender && (await isSelf(sender, signal))) return;
    // Webhooks arrive late and out of order: act on the issue as it is now, not on the label set
    // one delivery carried (a stale "no labels" must not cancel the job a later label started).
    const issue = sender ? await tracker.getIssue(repo, seen.number, signal) : seen;
    if (!issue) return;
    const labels = new Set(issue.labels);
    const latest = await deps.records.latestFromOrigin(originKey(originOf(issue)));
    const who = sender ?? issue.author;
    if (latest && !isTerminal(latest.status)) {
      // Adding the cancel label is an act, whenever its event arrives (Forge's own label update
      // may already have taken it off again); a missing state label is judged on the issue now.
      const askedToCancel =
        labels.has(source.labels.cancel) || seen.labels.includes(source.labels.cancel);
      const cancel =
        askedToCancel || (!labels.has(source.labels.queued) && !labels.has(source.labels.running));
      // Polling cannot tell who removed a label; only a webhook's sender can cancel that way.
      if (cancel && (sender || askedToCancel) && (await mayTrigger(who, signal))) {
        await cancelJob(latest, `cancelled on the issue by @${who.login}`);
      }
      return;
    }
    if (!labels.has(source.labels.queued) || issue.state !== 'open') return;
    if (latest && !(await settled(latest))) return;
    if (!(await mayTrigger(who, signal))) {
      logger.info({ source: source.name, issue: issue.number, user: who.login }, 'issue refused');
      if (source.refusal_comment)
        await notice(
          issue,
          `refused:${issue.number}:${who.login.toLowerCase()}`,
          { kind: 'refused', login: who.login },
          false,
        );
      return;
    }
    await fileJob(issue, latest, signal);
  }

  async function fileJob(issue: TrackedIssue, parent: Job | null, _signal: AbortSignal) {
    const read = readIssue(issue.title, issue.body);
    // The same text held twice (a webhook and the poller) gets one comment; an edited one another.
    const holdKey = `held:${issue.number}:${createHash('sha256').update(`${issue.title}\n${issue.body}`).digest('hex').slice(0, 24)}`;
    if (!read.ok) {
      await notice(issue, holdKey, { kind: 'held', problems: read.problems }, true);
      return;
    }
    const d = read.directives;
    const body = {
      task: read.prompt,
      source: `issue:${source.name}`,
      repo:
        d.repo ?? source.target_repo ?? `${source.forgeUrl.replace(/\/+$/, '')}/${source.repo}.git`,
      ...((d.profile ?? source.profile) ? { profile: d.profile ?? source.profile } : {}),
      ...(d.agent ? { agent: d.agent } : {}),
      ...(d.model ? { model: d.model } : {}),
      ...(d.budget_usd !== undefined ? { budget_usd: d.budget_usd } : {}),
      ...(d.max_turns !== undefined ? { max_turns: d.max_turns } : {}),
      ...(d.max_duration ? { max_duration: d.max_duration } : {}),
      ...(d.base_branch ? { base_branch: d.base_branch } : {}),
      ...(d.draft !== undefined ? { draft: d.draft } : {}),
      tags: [`issue:${source.name}#${issue.number}`],
    };
    try {
      const job = await deps.control.submit(body, { origin: originOf(issue), parent });
      logger.info({ source: source.name, issue: issue.number, jobId: job.id }, 'issue queued');
    } catch (err) {
      if (!(err instanceof ForgeError) || err.code !== 'invalid_request') throw err;
      await notice(issue, holdKey, { kind: 'held', problems: [err.message] }, true);
    }
  }

  async function cancelJob(job: Job, reason: string) {
    try {
      await deps.control.cancel(job.id, reason);
    } catch (err) {
      // It ended meanwhile: nothing to cancel.
      if (!(err instanceof ForgeError) || err.code !== 'conflict') throw err;
    }
  }

  async function onComment(issue: TrackedIssue, comment: IssueComment, signal: AbortSignal) {
    const read = readCommand(visibleText(comment.body));
    if (!read || (await isSelf(comment.author, signal))) return;
    const command = read.kind === 'instruction' ? undefined : read.kind;
    const instruction = read.kind === 'instruction' ? read.text : undefined;
    if (!(await mayTrigger(comment.author, signal))) {
      logger.info(
        { source: source.name, issue: issue.number, user: comment.author.login },
        'issue command refused',
      );
      return;
    }
    const latest = await deps.records.latestFromOrigin(originKey(originOf(issue)));
    if (!latest) return;
    if (command === 'cancel' && !isTerminal(latest.status))
      await cancelJob(latest, `cancelled on the issue by @${comment.author.login}`);
    if (instruction) {
      await followUp(issue, latest, comment, instruction);
      return;
    }
    if (command === 'retry' && (latest.status === 'FAILED' || latest.status === 'CANCELLED')) {
      try {
        await deps.control.retry(latest.id);
      } catch (err) {
        if (!(err instanceof ForgeError) || err.code !== 'conflict') throw err;
        await notice(issue, `retry:${comment.id}`, { kind: 'text', text: err.message }, false);
      }
    }
  }

  /** The next piece of work on the issue's branch; once per comment, however often it is seen. */
  async function followUp(issue: TrackedIssue, latest: Job, comment: IssueComment, text: string) {
    try {
      const job = await deps.control.followUp(
        latest.id,
        { message: text },
        `comment:${source.name}:${issue.number}:${comment.id}`,
        `@${comment.author.login} in a comment on issue #${issue.number}`,
      );
      logger.info(
        { source: source.name, issue: issue.number, jobId: job.id, parent: latest.id },
        'follow-up queued from a comment',
      );
    } catch (err) {
      if (!(err instanceof ForgeError)) throw err;
      if (err.code !== 'conflict' && err.code !== 'invalid_request') throw err;
      await notice(issue, `follow-up:${comment.id}`, { kind: 'text', text: err.message }, false);
    }
  }

  return {
    handle(signal, abort) {
      const number = signal.issue.number;
      const run = async () => {
        if (signal.type === 'labels') await onLabels(signal.issue, signal.sender, abort);
        else await onComment(signal.issue, signal.comment, abort);
      };
      // One signal per issue at a time; a failure does not block the next.
      const previous = queues.get(number) ?? Promise.resolve();
      const next = previous.then(run, run);
      const tail = next.catch(() => undefined);
      queues.set(number, tail);
      void tail.then(() => {
        if (queues.get(number) === tail) queues.delete(number);
      });
      return next;
    },
  };
}
