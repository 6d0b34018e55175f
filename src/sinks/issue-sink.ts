/**
 * Keeps an issue in step with its job: one status comment, edited in place (found again by its
 * hidden marker after a restart, so a redelivered change edits it rather than posting another),
 * the labels that show the job's state, and the issue closed when the job succeeded. Each delivery
 * renders the job as it is now, so deliveries that arrive late or twice converge on the truth.
 */
import type { Logger } from 'pino';
import { ForgeError } from '../domain/errors.ts';
import type { JobRecord, JobStatus } from '../domain/job.ts';
import type { IssueLabels } from '../intake/issue-intake.ts';
import { readNotice, type IssueNotice } from '../intake/issue-notice.ts';
import { DIRECTIVE_NAMES } from '../intake/issue-text.ts';
import type { RepoCoordinates } from '../ports/git-host.ts';
import type { IssueTracker } from '../ports/issue-tracker.ts';
import type { Delivery } from '../ports/outbox.ts';
import {
  findJobMarker,
  heldComment,
  noticeComment,
  refusalComment,
  statusComment,
} from './status-comment.ts';

export interface IssueSinkSource {
  tracker: IssueTracker;
  repo: RepoCoordinates;
  labels: IssueLabels;
}

export interface IssueSinkDeps {
  /** Issue sources by name under `intake:`. */
  sources: ReadonlyMap<string, IssueSinkSource>;
  getJob(id: string): Promise<JobRecord | null>;
  /** Links for people: the job and its live log. */
  jobUrl(id: string): string;
  logUrl(id: string): string;
  clock?: () => number;
  logger: Logger;
}

export function labelFor(labels: IssueLabels, status: JobStatus): string {
  const by: Record<JobStatus, string> = {
    PENDING: labels.queued,
    RUNNING: labels.running,
    SUCCEEDED: labels.done,
    FAILED: labels.failed,
    CANCELLED: labels.cancelled,
  };
  return by[status];
}

export function managedLabels(labels: IssueLabels): string[] {
  return [
    labels.queued,
    labels.running,
    labels.done,
    labels.failed,
    labels.cancelled,
    labels.cancel,
  ];
}

export function createIssueSink(deps: IssueSinkDeps) {
  const clock = deps.clock ?? Date.now;
  /** The status comment of each job, once found or made; a restart finds it again by marker. */
  const comments = new Map<string, number>();

  const sourceOf = (name: string): IssueSinkSource => {
    const source = deps.sources.get(name);
    if (!source)
      throw new ForgeError(
        'config',
        `no issue source named "${name}" under intake: any more; the delivery cannot be made`,
      );
    return source;
  };

  async function findComment(
    source: IssueSinkSource,
    number: number,
    jobId: string,
    signal: AbortSignal,
  ): Promise<number | null> {
    const known = comments.get(jobId);
    if (known !== undefined) return known;
    const all = await source.tracker.listComments(source.repo, number, null, signal);
    // Anyone can write a marker; only Forge's own comment is the status comment.
    const self = (await source.tracker.self(signal)).login.toLowerCase();
    const mine = all.find(
      (c) => c.author.login.toLowerCase() === self && findJobMarker(c.body) === jobId,
    );
    return mine?.id ?? null;
  }

  async function upsertComment(
    source: IssueSinkSource,
    number: number,
    jobId: string,
    body: string,
    signal: AbortSignal,
  ): Promise<void> {
    const id = await findComment(source, number, jobId, signal);
    if (id !== null) {
      try {
        await source.tracker.editComment(source.repo, id, body, signal);
        comments.set(jobId, id);
        return;
      } catch (err) {
        // Someone deleted it: post a new one.
        if (!(err instanceof ForgeError) || err.code !== 'not_found') throw err;
      }
    }
    comments.set(jobId, await source.tracker.createComment(source.repo, number, body, signal));
  }

  async function deliverJob(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const job = delivery.job_id ? await deps.getJob(delivery.job_id) : null;
    if (!job || job.origin?.kind !== 'issue') return;
    const { number } = job.origin;
    const source = sourceOf(job.origin.source);
    const body = statusComment(job, {
      jobUrl: deps.jobUrl(job.id),
      logUrl: deps.logUrl(job.id),
      now: clock(),
    });
    await upsertComment(source, number, job.id, body, signal);
    if (delivery.event === 'progress') return;
    await source.tracker.setManagedLabels(
      source.repo,
      number,
      managedLabels(source.labels),
      [labelFor(source.labels, job.status)],
      signal,
    );
    if (job.status === 'SUCCEEDED')
      await source.tracker.setIssueState(source.repo, number, 'closed', signal);
  }

  async function deliverNotice(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const notice = readNotice(delivery.payload);
    if (!notice) return;
    const source = sourceOf(notice.source);
    await source.tracker.createComment(
      source.repo,
      notice.number,
      noticeText(notice.notice),
      signal,
    );
    if (notice.labels)
      await source.tracker.setManagedLabels(
        source.repo,
        notice.number,
        managedLabels(source.labels),
        notice.labels,
        signal,
      );
  }

  return (delivery: Delivery, signal: AbortSignal): Promise<void> =>
    delivery.event === 'notice' ? deliverNotice(delivery, signal) : deliverJob(delivery, signal);
}

function noticeText(notice: IssueNotice): string {
  if (notice.kind === 'held')
    return heldComment(notice.problems, DIRECTIVE_NAMES.map((n) => `forge:${n}`).join(', '));
  if (notice.kind === 'refused') return refusalComment(notice.login);
  return noticeComment(notice.text);
}
