import { describe, expect, it } from 'vitest';
import { jobDetails, jobTable } from './format.ts';

const job = {
  id: '01J0000000000000000000000A',
  status: 'SUCCEEDED',
  agent: 'claude',
  profile: 'code-fix',
  task: 'fix the parser',
  created_at: '2026-11-22T08:00:00.000Z',
  updated_at: '2026-11-22T08:01:00.000Z',
  max_retries: 2,
  budget_usd: 5,
  cost_usd: 0.1234,
  turns: 7,
  inactivity_timeout: '10m',
  max_duration: '2h',
  attempt_count: 1,
  tags: ['ci'],
  repo: { url: 'https://git.example.com/me/app.git', base_branch: 'main' },
  result: {
    branch: 'forge/01j',
    changed_files: 2,
    insertions: 10,
    deletions: 3,
    pr_url: 'https://git.example.com/me/app/pulls/4',
    pr_number: 4,
  },
  attempts: [
    {
      number: 1,
      sandbox: 'local+srt',
      started_at: '2026-11-22T08:00:01.000Z',
      finished_at: '2026-11-22T08:01:00.000Z',
      exit_code: 0,
      truncated: false,
      output: '',
      cost_usd: 0.1234,
      turns: 7,
      summary: 'Fixed the ISO week parsing.',
      session_id: 'sess-42',
    },
  ],
};

describe('forge show', () => {
  it('prints cost, turns, session, summary, branch and pull request', () => {
    const text = jobDetails(job);
    expect(text).toContain('cost $0.1234');
    expect(text).toContain('turns    7');
    expect(text).toContain('($0.1234, 7 turns)');
    expect(text).toContain('summary: Fixed the ISO week parsing.');
    expect(text).toContain('session: sess-42');
    expect(text).toContain('result   branch forge/01j — 2 files, +10 −3');
    expect(text).toContain('pr       #4 https://git.example.com/me/app/pulls/4');
    expect(text).toContain('repo     https://git.example.com/me/app.git (base main)');
  });

  it('prints the chain of follow-ups the job sits in', () => {
    const text = jobDetails({ ...job, parent_id: '01PARENT', follow_ups: ['01NEXT', '01LAST'] });
    expect(text).toContain('follows  01PARENT');
    expect(text).toContain('followed 01NEXT, 01LAST');
    expect(jobDetails(job)).not.toContain('follows');
  });

  it('prints the failure of a job that did not succeed', () => {
    const failed = {
      ...job,
      status: 'FAILED',
      failure: { category: 'budget_exceeded', message: 'raise budget_usd' },
      result: null,
    };
    expect(jobDetails(failed)).toContain('status   FAILED — budget_exceeded: raise budget_usd');
  });
});

describe('forge list', () => {
  it('prints a table and says when more jobs exist than shown', () => {
    const text = jobTable([job], 3);
    expect(text.split('\n')[0]).toMatch(/^ID\s+STATUS\s+AGENT\s+TRIES\s+CREATED\s+TASK$/);
    expect(text).toContain('01J0000000000000000000000A  SUCCEEDED  claude');
    expect(text).toContain('(1 of 3; use --limit/--offset for more)');
  });
});
