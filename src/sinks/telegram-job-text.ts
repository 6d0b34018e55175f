/**
 * A job as a Telegram message (HTML parse mode): what happened, what it cost, where the work is,
 * and for a failure what to do. Everything from the job (task, summary, failure) is escaped: it is
 * text people and agents wrote.
 */
import { formatDuration } from '../domain/duration.ts';
import type { JobRecord, JobStatus } from '../domain/job.ts';
import { escapeHtml, splitMessages } from './telegram-text.ts';

const HEADLINE: Record<JobStatus, string> = {
  PENDING: '⏳ <b>Queued</b>',
  RUNNING: '▶️ <b>Running</b>',
  SUCCEEDED: '✅ <b>Succeeded</b>',
  FAILED: '❌ <b>Failed</b>',
  CANCELLED: '⏹ <b>Cancelled</b>',
};

const clip = (text: string, max: number) =>
  [...text].length > max ? `${[...text].slice(0, max - 1).join('')}…` : text;

/** The message parts (at most 4,096 characters each) telling a chat about `job`. */
export function jobMessages(job: JobRecord, jobUrl: string, now = Date.now()): string[] {
  const turns = job.attempts.reduce((sum, a) => sum + (a.turns ?? 0), 0);
  const start = Date.parse(job.attempts[0]?.started_at ?? job.created_at);
  const end =
    job.status === 'RUNNING' || job.status === 'PENDING' ? now : Date.parse(job.updated_at);
  const facts = [
    `cost $${job.cost_usd.toFixed(4)}`,
    ...(turns > 0 ? [`${turns} turns`] : []),
    ...(job.attempts.length > 0 ? [formatDuration(Math.max(0, end - start))] : []),
    ...(job.attempts.length > 1 ? [`${job.attempts.length} attempts`] : []),
  ];
  const blocks = [
    `${HEADLINE[job.status]} · job <a href="${escapeHtml(jobUrl)}"><code>${job.id}</code></a>`,
    `<i>${escapeHtml(clip(job.task.trim(), 300))}</i>`,
    facts.join(' · '),
  ];
  const result = job.result;
  if (result?.pr_url)
    blocks.push(
      `Pull request <a href="${escapeHtml(result.pr_url)}">#${result.pr_number ?? ''}</a> · branch <code>${escapeHtml(result.branch)}</code>`,
    );
  else if (result?.no_changes) blocks.push('The agent finished without changing anything.');
  else if (result?.branch) blocks.push(`Branch <code>${escapeHtml(result.branch)}</code>`);
  const summary = job.attempts.at(-1)?.summary;
  if (job.status === 'SUCCEEDED' && summary) blocks.push(escapeHtml(clip(summary.trim(), 3000)));
  if (job.failure)
    blocks.push(`<b>${escapeHtml(job.failure.category)}</b>: ${escapeHtml(job.failure.message)}`);
  return splitMessages(blocks);
}
