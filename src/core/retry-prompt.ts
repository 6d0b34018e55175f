import type { Attempt } from '../domain/job.ts';

const TAIL_CHARS = 2000;

/**
 * The prompt for an attempt. A retry carries what the previous attempt did — exit code, failure,
 * the last 2,000 characters of its output — followed by the original task, exactly once.
 */
export function buildPrompt(
  task: string,
  previous: Attempt | null,
  diffStat: string | null = null,
): string {
  if (!previous) return task;
  const tail =
    previous.output.length > TAIL_CHARS ? previous.output.slice(-TAIL_CHARS) : previous.output;
  const lines = [
    `This is attempt ${previous.number + 1}. Attempt ${previous.number} did not succeed.`,
    `Exit code: ${previous.exit_code ?? 'none (killed)'}`,
    `Failure: ${previous.failure ? `${previous.failure.category}: ${previous.failure.message}` : 'unknown'}`,
  ];
  if (diffStat) lines.push('', 'Changes it left:', diffStat);
  lines.push(
    '',
    'Last output of the previous attempt:',
    '```',
    tail.trimEnd(),
    '```',
    '',
    'The task:',
    task,
  );
  return lines.join('\n');
}
