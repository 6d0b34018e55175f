import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '../../test/support/fake-telegram.ts';
import type { JobRecord } from '../domain/job.ts';
import { formatElapsed, renderJob } from './telegram-message.ts';

function job(over: Partial<JobRecord> = {}): JobRecord {
  return {
    id: '01JOB',
    status: 'FAILED',
    task: 'fix it',
    cost_usd: 0.0123,
    failure: { category: 'agent_error', message: 'boom' },
    result: {
      branch: 'forge/01job',
      commit: 'abc',
      pr_url: 'https://git.example.com/pr/1?a=1&b="2"',
      changed_files: 1,
      insertions: 1,
      deletions: 0,
    },
    attempts: [
      {
        number: 1,
        started_at: '2025-01-01T00:00:00Z',
        finished_at: '2025-01-01T00:01:05Z',
        turns: 3,
      },
      {
        number: 2,
        started_at: '2025-01-01T00:02:00Z',
        finished_at: '2025-01-01T00:03:05Z',
        turns: 4,
      },
    ],
    ...over,
  } as JobRecord;
}

describe('telegram job message', () => {
  it('shows status, cost, turns, duration, pull request, branch and failure, with Retry', () => {
    const { texts, keyboard } = renderJob(job(), 'http://forge.test/jobs/01JOB');
    expect(texts).toHaveLength(1);
    const text = texts[0]!;
    expect(text).toContain('Failed');
    expect(text).toContain('$0.0123');
    expect(text).toContain('turns 7');
    expect(text).toContain('3m 5s');
    expect(text).toContain('href="https://git.example.com/pr/1?a=1&amp;b=&quot;2&quot;"');
    expect(text).toContain('<code>forge/01job</code>');
    expect(text).toContain('<b>agent_error</b>: boom');
    expect(keyboard).toEqual({ inline_keyboard: [[{ text: 'Retry', callback_data: 'r:01JOB' }]] });
    expect(renderJob(job({ status: 'SUCCEEDED', failure: null }), 'u').keyboard).toBeNull();
  });

  it('cuts the task at 300 characters', () => {
    const { texts } = renderJob(job({ task: 'a'.repeat(1000) }), 'u');
    expect(texts[0]).toContain(`${'a'.repeat(300)}…`);
    expect(texts[0]).not.toContain('a'.repeat(301));
  });

  it('always renders HTML Telegram can parse, in messages it accepts', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ maxLength: 10_000 }),
        fc.string(),
        (task, message, url) => {
          const { texts } = renderJob(
            job({ task, failure: { category: 'agent_error', message } }),
            url,
          );
          for (const text of texts) {
            expect(text.length).toBeLessThanOrEqual(4096);
            expect(typeof parseTelegramHtml(text)).toBe('string');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('formats durations', () => {
    expect(formatElapsed(45_000)).toBe('45s');
    expect(formatElapsed(200_000)).toBe('3m 20s');
    expect(formatElapsed(3_900_000)).toBe('1h 5m');
  });
});
