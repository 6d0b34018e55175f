import { describe, expect, it } from 'vitest';
import type { Attempt } from '../domain/job.ts';
import { buildPrompt } from './retry-prompt.ts';

const attempt: Attempt = {
  number: 1,
  sandbox: 'local',
  started_at: '',
  finished_at: '',
  exit_code: 3,
  output: `${'x'.repeat(5000)}the end\n`,
  truncated: false,
  failure: { category: 'agent_error', message: 'the agent exited with code 3' },
  cost_usd: null,
  turns: null,
  session_id: null,
  summary: null,
  diff_stat: null,
};

describe('buildPrompt', () => {
  it('is the task itself on a first attempt', () => {
    expect(buildPrompt('fix it', null)).toBe('fix it');
  });

  it('carries exit code, failure and the last 2,000 characters, then the task once', () => {
    const prompt = buildPrompt('fix the flaky test', attempt);
    expect(prompt).toContain('Exit code: 3');
    expect(prompt).toContain('agent_error: the agent exited with code 3');
    expect(prompt).toContain('the end');
    expect(prompt).not.toContain('x'.repeat(2000));
    expect(prompt).toContain('x'.repeat(1990));
    expect(prompt.split('fix the flaky test')).toHaveLength(2);
    expect(prompt.endsWith('The task:\nfix the flaky test')).toBe(true);
  });
});
