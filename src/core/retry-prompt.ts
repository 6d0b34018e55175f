import type { Attempt } from '../domain/job.ts';

const TAIL_CHARS = 2000;

/**
 * The prompt for an attempt. A retry carries what the previous attempt did — exit code, failure,
 * the last 2,000 characters of its output and the diff stat of what it left — followed by the
 * original task, exactly once.
 */
export function buildPrompt(task: string, previous: Attempt | null): string {
  if (!previous) return task;
  const lines = [
    `This is attempt ${previous.number + 1}. Attempt ${previous.number} did not succeed.`,
    `Exit code: ${previous.exit_code ?? 'none (killed)'}`,
    `Failure: ${previous.failure ? `${previous.failure.category}: ${previous.failure.message}` : 'unknown'}`,
  ];
  if (previous.diff_stat) lines.push('', 'Changes it left:', previous.diff_stat);
  lines.push(
    '',
    'Last output of the previous attempt:',
    '```',
    lastChars(previous.output, TAIL_CHARS).trimEnd(),
    '```',
    '',
    'The task:',
    task,
  );
  return lines.join('\n');
}

/** The last `max` UTF-16 units of `text`, never starting on the second half of a surrogate pair
 *  (a lone half is not text: some model APIs refuse it). */
function lastChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let start = text.length - max;
  const unit = text.charCodeAt(start);
  if (unit >= 0xdc00 && unit <= 0xdfff) start++;
  return text.slice(start);
}
