import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../domain/job.ts';
import { parseTelegramHtml } from '../../test/support/fake-bot-api.ts';
import { jobMessages } from './telegram-job-text.ts';

function job(overrides: Partial<JobRecord>): JobRecord {
  return {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    status: 'FAILED',
    task: 'fix <b>it</b> & ship',
    cost_usd: 0.0123,
    created_at: '2026-11-28T10:00:00.000Z',
    updated_at: '2026-11-28T10:02:05.000Z',
    attempts: [{ started_at: '2026-11-28T10:00:00.000Z', turns: 3, summary: null }],
    failure: { category: 'agent_error', message: 'the agent exited with code 3; see its output' },
    result: null,
    ...overrides,
  } as unknown as JobRecord;
}

describe('a job as a Telegram message', () => {
  it('says what happened, what it cost and what to do, with every piece of job text escaped', () => {
    const [text, ...more] = jobMessages(job({}), 'https://forge.example.com/jobs/01J');
    expect(more).toEqual([]);
    expect(text).toContain('<b>Failed</b>');
    expect(text).toContain('fix &lt;b&gt;it&lt;/b&gt; &amp; ship');
    expect(text).toContain('cost $0.0123 · 3 turns · 125s');
    expect(text).toContain('<b>agent_error</b>: the agent exited with code 3');
    expect(typeof parseTelegramHtml(text!)).toBe('string');
  });

  it('splits a long failure into messages Telegram accepts, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12_000 }),
        fc.string({ maxLength: 600 }),
        (message, task) => {
          const parts = jobMessages(
            job({ task, failure: { category: 'agent_error', message } }),
            'https://x/j',
          );
          for (const part of parts) {
            const visible = parseTelegramHtml(part);
            expect(typeof visible).toBe('string');
            expect([...(visible as string)].length).toBeLessThanOrEqual(4096);
          }
        },
      ),
      { numRuns: 50 },
    );
    expect(
      jobMessages(job({ failure: { category: 'agent_error', message: 'x'.repeat(9000) } }), 'u')
        .length,
    ).toBeGreaterThan(2);
  });
});
