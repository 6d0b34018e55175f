/**
 * A job as a Telegram message: what it is doing, what it cost, where its work went, and a button
 * to cancel it (while it runs) or retry it (once it failed or was cancelled). HTML parse mode;
 * every piece of job text is escaped.
 */
import type { JobRecord, JobStatus } from '../domain/job.ts';
import { escapeAttribute, escapeHtml, splitMessages } from './telegram-text.ts';

export interface InlineButton {
  text: string;
  callback_data: string;
}

export interface RenderedJob {
  /** One or more message texts (each at most 4,096 characters). */
  texts: string[];
  /** The button for the last message, or null. */
  keyboard: { inline_keyboard: InlineButton[][] } | null;
}

const TASK_PREVIEW_CHARS = 300;

const HEADLINE: Record<JobStatus, string> = {
  PENDING: '⏳ Queued',
  RUNNING: '🏃 Running',
  SUCCEEDED: '✅ Succeeded',
  FAILED: '❌ Failed',
  CANCELLED: '🚫 Cancelled',
};

/** Callback data of the buttons: `c:<job id>` cancels, `r:<job id>` retries. */
export function jobButton(job: { id: string; status: JobStatus }): InlineButton | null {
  if (job.status === 'PENDING' || job.status === 'RUNNING') {
    return { text: 'Cancel', callback_data: `c:${job.id}` };
  }
  if (job.status === 'FAILED' || job.status === 'CANCELLED') {
    return { text: 'Retry', callback_data: `r:${job.id}` };
  }
  return null;
}

export function renderJob(job: JobRecord, url: string, now = Date.now()): RenderedJob {
  const blocks = [
    `<b>${HEADLINE[job.status]}</b> · <a href="${escapeAttribute(url)}">job <code>${escapeHtml(job.id)}</code></a>`,
    `<i>${escapeHtml(preview(job.task))}</i>`,
    facts(job, now),
  ];
  const result = job.result;
  if (result?.pr_url) {
    blocks.push(
      `Pull request: <a href="${escapeAttribute(result.pr_url)}">${escapeHtml(result.pr_url)}</a>`,
    );
  }
  if (result) blocks.push(`Branch: <code>${escapeHtml(result.branch)}</code>`);
  if (job.failure) {
    blocks.push(`<b>${escapeHtml(job.failure.category)}</b>: ${escapeHtml(job.failure.message)}`);
  }
  const button = jobButton(job);
  return {
    texts: splitMessages(blocks),
    keyboard: button ? { inline_keyboard: [[button]] } : null,
  };
}

/** One line per job for /list. */
export function renderJobLine(job: { id: string; status: JobStatus; task: string }): string {
  const start = [...job.task.replace(/\s+/g, ' ')].slice(0, 60).join('');
  return `<code>${escapeHtml(job.id)}</code> ${job.status.toLowerCase()} — ${escapeHtml(start)}`;
}

function preview(task: string): string {
  const chars = [...task];
  return chars.length > TASK_PREVIEW_CHARS
    ? `${chars.slice(0, TASK_PREVIEW_CHARS).join('')}…`
    : task;
}

function facts(job: JobRecord, now: number): string {
  const turns = job.attempts.reduce((sum, a) => sum + (a.turns ?? 0), 0);
  const parts = [
    `Status: ${job.status.toLowerCase()}`,
    `cost $${job.cost_usd.toFixed(4)}`,
    `turns ${turns}`,
  ];
  const first = job.attempts[0];
  if (first) {
    const last = job.attempts.at(-1)!;
    const end = last.finished_at ? Date.parse(last.finished_at) : now;
    parts.push(formatElapsed(end - Date.parse(first.started_at)));
  }
  return escapeHtml(parts.join(' · '));
}

/** `45s`, `3m 20s`, `1h 5m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
