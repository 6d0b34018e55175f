/**
 * The words of the one status comment Forge keeps on an issue per job, edited in place as the job
 * changes, and of the comments on issues Forge will not queue.
 *
 * The comment's first line is a hidden marker naming the job, so Forge finds its comment again
 * after a restart. Text Forge did not write (the agent's summary, failure messages that quote
 * tools, names) is made inert before it goes in: `&`, `<` and `>` are escaped so it cannot open
 * HTML or close the marker, `@name` and `#123` are broken with a zero-width space so it pings no
 * one and links no issue, it sits in a block quote, and it is cut so the whole comment stays well
 * under the forges' 65,536-character limit.
 */
import type { Attempt, JobRecord } from '../domain/job.ts';

/** The most characters a comment built here has. */
export const STATUS_COMMENT_MAX = 60_000;
/** Raw characters kept of a summary and of a failure message. Escaping grows text at most
 *  five-fold (`&` → `&amp;`), so one of each stays under the cap with room for Forge's own words. */
const SUMMARY_MAX = 8000;
const MESSAGE_MAX = 2000;
const PROBLEMS_MAX = 20;
const PROBLEM_MAX = 400;
const ALLOWED_MAX = 1000;

const MARKER = /^<!-- forge-status job=([0-9A-HJKMNP-TV-Z]{26}) -->\r?$/;

/** The hidden first line of a job's status comment. */
export function STATUS_MARKER(jobId: string): string {
  return `<!-- forge-status job=${jobId} -->`;
}

/** The job id in a status comment's marker, or null when the first line is not exactly one.
 *  Anyone can write a marker: callers also check that the comment is Forge's own. */
export function findJobMarker(body: string): string | null {
  return MARKER.exec(body.split('\n', 1)[0] ?? '')?.[1] ?? null;
}

export interface StatusCommentLinks {
  /** The job's page. */
  jobUrl: string;
  /** The live log of the running attempt. */
  logUrl: string;
  /** Epoch ms, for the time a running attempt has taken so far. */
  now: number;
}

/** The status comment for `job` as it is now. */
export function statusComment(job: JobRecord, opts: StatusCommentLinks): string {
  const jobLink = link(`job ${job.id}`, opts.jobUrl);
  return [
    STATUS_MARKER(job.id),
    ...phase(job, opts, jobLink),
    '',
    `_${jobLink} · Forge edits this comment as the job changes._`,
  ].join('\n');
}

function phase(job: JobRecord, opts: StatusCommentLinks, jobLink: string): string[] {
  const last = job.attempts.at(-1);
  const allowed = job.retry_base + job.max_retries + 1;
  switch (job.status) {
    case 'PENDING':
      if (!last) return [`⏳ Queued as ${jobLink}. It starts when a runner is free.`];
      return [
        `🔁 Queued again for attempt ${last.number + 1} of ${allowed}. The last attempt failed${last.failure ? ` (${last.failure.category}):` : '.'}`,
        ...(last.failure ? ['', quote(last.failure.message, MESSAGE_MAX)] : []),
      ];
    case 'RUNNING':
      return [running(job, opts, allowed)];
    case 'SUCCEEDED':
      return succeeded(job);
    case 'FAILED':
      return [
        `❌ Failed${job.failure ? ` (${job.failure.category})` : ''} after ${plural(job.attempts.length, 'attempt')}.`,
        ...(job.failure ? ['', quote(job.failure.message, MESSAGE_MAX)] : []),
        ...(job.result?.wip
          ? ['', `The work so far is on branch ${branch(job.result.branch)}.`]
          : []),
        '',
        'Comment `/forge retry` to run it again.',
      ];
    case 'CANCELLED':
      return [
        '🚫 Cancelled.',
        ...(job.failure ? ['', quote(job.failure.message, MESSAGE_MAX)] : []),
        '',
        'Comment `/forge retry` to run it again.',
      ];
  }
}

function running(job: JobRecord, opts: StatusCommentLinks, allowed: number): string {
  const open = job.attempts.findLast((a) => a.finished_at === null) ?? job.attempts.at(-1);
  if (!open) return `⚙️ Starting… · ${link('live log', opts.logUrl)}`;
  const facts = [
    `⚙️ Running attempt ${open.number} of ${allowed} for ${humanDuration(opts.now - Date.parse(open.started_at))}`,
    `${money(open.cost_usd ?? 0)} so far`,
    ...(open.turns !== null ? [plural(open.turns, 'turn')] : []),
    link('live log', opts.logUrl),
  ];
  return facts.join(' · ');
}

function succeeded(job: JobRecord): string[] {
  const result = job.result;
  const summary = job.attempts.at(-1)?.summary?.trim();
  const summaryLines = summary ? ['', '**Summary**', '', quote(summary, SUMMARY_MAX)] : [];
  const totals = `${money(job.cost_usd)} · ${plural(turnsOf(job.attempts), 'turn')} · ${humanDuration(workTime(job))}`;
  if (job.repo !== null && (result === null || result.no_changes))
    return [
      '➖ The agent finished but changed nothing in the repository, so there is no pull request.',
      ...summaryLines,
      '',
      totals,
    ];
  if (result === null) return ['✅ The agent finished.', ...summaryLines, '', totals];
  const where = result.pr_url
    ? `${link(`pull request${result.pr_number !== undefined ? ` #${result.pr_number}` : ''}`, result.pr_url)} from branch ${branch(result.branch)}`
    : `branch ${branch(result.branch)} (no pull request was opened)`;
  return [
    `✅ Done: the agent's work is in ${where}.`,
    ...summaryLines,
    '',
    `${totals} · ${plural(result.changed_files, 'file')} changed, +${result.insertions} −${result.deletions}`,
  ];
}

/** The comment on an issue Forge will not queue as it is: what is wrong and what it accepts. */
export function heldComment(problems: string[], allowed: string): string {
  const shown = problems
    .slice(0, PROBLEMS_MAX)
    .map((p) => `- ${inert(clip(p, PROBLEM_MAX)).replace(/\n/g, ' ')}`);
  const more =
    problems.length > PROBLEMS_MAX ? [`- …and ${problems.length - PROBLEMS_MAX} more`] : [];
  return [
    '⏸️ Forge did not queue this issue:',
    '',
    ...shown,
    ...more,
    '',
    `Directives it understands, written as &lt;!-- forge:NAME VALUE --&gt;: ${inert(clip(allowed, ALLOWED_MAX))}.`,
    'Edit the issue to fix this, then queue it again.',
  ].join('\n');
}

/** The one-line answer to someone who may not queue work on the repository. */
export function refusalComment(login: string): string {
  return `Forge did not queue this: ${name(login)} may not start jobs on this repository (it takes tasks from people with write access, or those listed in its configuration).`;
}

/** A one-off answer to a command that did nothing (Forge's own message, quoted inert). */
export function noticeComment(text: string): string {
  return `Forge could not do that:\n\n${quote(text, 2000)}`;
}

/** Text Forge did not write, as a block quote that renders as text and cannot escape it. */
function quote(text: string, max: number): string {
  return inert(clip(text.trim(), max))
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** Escapes HTML and breaks mentions and issue references (`@name`, `#12`, `GH-12`). */
function inert(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
    .replace(/@(?=[A-Za-z0-9_-])/g, '@\u200B')
    .replace(/#(?=\d)/g, '#\u200B')
    .replace(/\b(gh)-(?=\d)/gi, '$1-\u200B');
}

/** At most `max` characters, never half a surrogate pair, with `…` when cut. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** A Markdown link with Forge's own `text`, or the text alone when `url` is not a plain http(s)
 *  URL. */
function link(text: string, url: string): string {
  if (!/^https?:\/\/\S+$/.test(url)) return text;
  const safe = url.replace(
    /[()<>"'`\\[\]]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `[${text}](${safe})`;
}

/** A branch name as code when it is plainly safe there, else as inert text. */
function branch(name: string): string {
  return /^[A-Za-z0-9._/-]{1,250}$/.test(name) ? `\`${name}\`` : inert(clip(name, 250));
}

/** A forge login, not as a mention. */
function name(login: string): string {
  return /^[A-Za-z0-9_.-]{1,100}(\[bot\])?$/.test(login) ? `\`${login}\`` : inert(clip(login, 100));
}

function money(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function turnsOf(attempts: Attempt[]): number {
  return attempts.reduce((sum, a) => sum + (a.turns ?? 0), 0);
}

/** From the first attempt's start to the last one's end. */
function workTime(job: JobRecord): number {
  const first = job.attempts[0];
  const last = job.attempts.at(-1);
  if (!first || !last) return 0;
  return Date.parse(last.finished_at ?? job.updated_at) - Date.parse(first.started_at);
}

/** `45s`, `3m 12s`, `2h 5m`. */
function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
