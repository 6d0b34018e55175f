/** The words Forge writes for a job's work: the commit message, the pull request's title and
 *  body. Callers redact them before they leave the server. */
import type { Job, JobResult } from '../domain/job.ts';
import type { FinalizeInput } from './finalize-work.ts';

function firstLine(text: string, max: number): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function commitMessage(job: Job, input: FinalizeInput): string {
  const subject =
    firstLine(input.summary ?? '', 72) || firstLine(job.task, 72) || `Forge job ${job.id}`;
  const body =
    input.summary && input.summary.trim() !== subject ? `\n\n${input.summary.trim()}` : '';
  return `${subject}${body}\n\nForge-Job: ${job.id}\nForge-Attempt: ${input.attempt}\n`;
}

export function prTitle(job: Job): string {
  return firstLine(job.task, 70) || `Forge job ${job.id}`;
}

export function prBody(
  publicUrl: string,
  job: Job,
  input: FinalizeInput,
  result: JobResult,
): string {
  return [
    input.summary?.trim() || '_The agent gave no summary._',
    '',
    '---',
    `Task: ${firstLine(job.task, 200)}`,
    `Agent: ${job.agent}${job.profile ? ` (profile ${job.profile})` : ''} · attempt ${input.attempt} · cost $${input.costUsd.toFixed(4)}${input.turns !== null ? ` · ${input.turns} turns` : ''}`,
    `Changes: ${result.changed_files} files, +${result.insertions} −${result.deletions}`,
    `Job: ${publicUrl.replace(/\/+$/, '')}/jobs/${job.id}`,
    '',
    'Opened by Forge for human review.',
  ].join('\n');
}
