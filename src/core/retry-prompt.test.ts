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

describe('buildPrompt on a retry', () => {
  it('carries the diff stat of what the previous attempt left', () => {
    const diff_stat =
      ' src/parser.ts | 12 ++++++----\n 1 file changed, 6 insertions(+), 6 deletions(-)';
    const prompt = buildPrompt('fix the parser', { ...attempt, diff_stat });
    expect(prompt).toContain(`Changes it left:\n${diff_stat}`);
    expect(prompt.indexOf('Changes it left:')).toBeLessThan(prompt.indexOf('The task:'));
  });

  it('says nothing of changes when the previous attempt left none', () => {
    expect(buildPrompt('fix the parser', attempt)).not.toContain('Changes it left');
  });

  it('never starts the output tail inside an emoji', () => {
    // 3,001 UTF-16 units: the last 2,000 begin on the low half of an emoji.
    const output = `${'😀'.repeat(1500)}x`;
    const prompt = buildPrompt('fix it', { ...attempt, output });
    const tail = /```\n([\s\S]*)\n```/.exec(prompt)![1]!;
    expect(tail.endsWith('😀x')).toBe(true);
    expect(tail.length).toBeLessThanOrEqual(2000);
    expect(tail.length).toBeGreaterThanOrEqual(1999);
    expect(() => encodeURIComponent(prompt)).not.toThrow(); // throws on a lone surrogate
  });
});
