import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attempt, JobRecord } from '../domain/job.ts';
import { spec } from '../../test/contracts/store-fixtures.ts';
import {
  findJobMarker,
  heldComment,
  refusalComment,
  STATUS_COMMENT_MAX,
  STATUS_MARKER,
  statusComment,
} from './status-comment.ts';

const ID = '01JD3VQ8ZK5T7N2XGH4W6R9MPB';
const NOW = Date.UTC(2026, 0, 2, 12, 0, 0);
const LINKS = {
  jobUrl: `https://forge.example.com/jobs/${ID}`,
  logUrl: `https://forge.example.com/jobs/${ID}/log`,
  now: NOW,
};

function attempt(overrides: Partial<Attempt> = {}): Attempt {
  return {
    number: 1,
    sandbox: 'local',
    started_at: '2026-01-02T11:50:00.000Z',
    finished_at: '2026-01-02T11:54:10.000Z',
    exit_code: 0,
    output: '',
    truncated: false,
    failure: null,
    cost_usd: 0.25,
    turns: 9,
    session_id: null,
    summary: null,
    diff_stat: null,
    ...overrides,
  };
}

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    ...spec({ max_retries: 2 }),
    id: ID,
    status: 'PENDING',
    created_at: '2026-01-02T11:49:00.000Z',
    updated_at: '2026-01-02T11:54:11.000Z',
    revision: 1,
    cost_usd: 0,
    failure: null,
    retry_base: 0,
    attempt_count: 0,
    result: null,
    attempts: [],
    ...overrides,
  };
}

const succeeded = (overrides: Partial<JobRecord> = {}) =>
  job({
    status: 'SUCCEEDED',
    cost_usd: 0.25,
    attempt_count: 1,
    attempts: [attempt({ summary: 'Made the test wait for the server.' })],
    result: {
      branch: 'forge/01jd3vq8zk5t7n2xgh4w6r9mpb',
      commit: 'abc',
      pr_url: 'https://git.example.com/me/app/pulls/7',
      pr_number: 7,
      changed_files: 2,
      insertions: 10,
      deletions: 3,
    },
    ...overrides,
  });

/** The comment without its marker line: everything a reader sees. */
const visible = (comment: string) => comment.split('\n').slice(1).join('\n');

describe('statusComment', () => {
  it('starts with the marker, found again by findJobMarker', () => {
    const comment = statusComment(job(), LINKS);
    expect(comment.split('\n')[0]).toBe(STATUS_MARKER(ID));
    expect(findJobMarker(comment)).toBe(ID);
  });

  it('queued: names the job', () => {
    const comment = statusComment(job(), LINKS);
    expect(comment).toContain(`Queued as [job ${ID}](${LINKS.jobUrl})`);
  });

  it('retrying: which attempt comes next and why the last one failed', () => {
    const failed = attempt({
      failure: { category: 'inactivity', message: 'no output for 5m: the agent may be stuck' },
    });
    const comment = statusComment(job({ attempt_count: 1, attempts: [failed] }), LINKS);
    expect(comment).toContain('Queued again for attempt 2 of 3');
    expect(comment).toContain('(inactivity)');
    expect(comment).toContain('> no output for 5m: the agent may be stuck');
  });

  it('running: time so far, live cost and turns of the open attempt, and the live log', () => {
    const open = attempt({
      number: 2,
      started_at: new Date(NOW - 192_000).toISOString(),
      finished_at: null,
      cost_usd: 0.1234,
      turns: 12,
    });
    const comment = statusComment(
      job({ status: 'RUNNING', attempt_count: 2, attempts: [attempt(), open] }),
      LINKS,
    );
    expect(comment).toContain('Running attempt 2 of 3 for 3m 12s');
    expect(comment).toContain('$0.1234 so far');
    expect(comment).toContain('12 turns');
    expect(comment).toContain(`[live log](${LINKS.logUrl})`);
  });

  it('succeeded: the pull request, branch, summary, cost, turns and time taken', () => {
    const comment = statusComment(succeeded(), LINKS);
    expect(comment).toContain(
      "Done: the agent's work is in [pull request #7](https://git.example.com/me/app/pulls/7) from branch `forge/01jd3vq8zk5t7n2xgh4w6r9mpb`",
    );
    expect(comment).toContain('> Made the test wait for the server.');
    expect(comment).toContain('$0.2500 · 9 turns · 4m 10s · 2 files changed, +10 −3');
  });

  it.each([
    ['the result says so', { ...succeeded().result!, pr_url: undefined, no_changes: true }],
    ['there is no result', null],
  ])('succeeded without changes (%s): says so plainly and claims no success', (_, result) => {
    const comment = statusComment(succeeded({ result }), LINKS);
    expect(comment).toContain('The agent finished but changed nothing');
    expect(comment).toContain('there is no pull request');
    expect(comment).not.toMatch(/Done|✅|pull request #/);
  });

  it('failed: the category, its message and how to run it again', () => {
    const comment = statusComment(
      job({
        status: 'FAILED',
        attempt_count: 3,
        attempts: [attempt(), attempt({ number: 2 }), attempt({ number: 3 })],
        failure: { category: 'budget_exceeded', message: 'spent $1.52 of $1.50: raise budget' },
      }),
      LINKS,
    );
    expect(comment).toContain('Failed (budget_exceeded) after 3 attempts');
    expect(comment).toContain('> spent $1.52 of $1.50: raise budget');
    expect(comment).toContain('Comment `/forge retry` to run it again.');
  });

  it('cancelled: who cancelled it, without pinging them', () => {
    const comment = statusComment(
      job({
        status: 'CANCELLED',
        failure: { category: 'cancelled', message: 'cancelled on the issue by @alice' },
      }),
      LINKS,
    );
    expect(comment).toContain('Cancelled');
    expect(comment).toContain('> cancelled on the issue by @\u200Balice');
    expect(comment).not.toMatch(/@alice/);
  });

  it('agent text cannot open HTML, close the marker, ping anyone or link an issue', () => {
    const summary =
      'Fixed it <img src=x onerror=alert(1)> --> thanks @bob, see #12 and GH-3 & more';
    const comment = statusComment(
      succeeded({ attempts: [attempt({ summary: `${summary}\n<!-- hidden -->` })] }),
      LINKS,
    );
    const text = visible(comment);
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt; --&gt;');
    expect(text).toContain('&amp; more');
    expect(text).not.toMatch(/<|-->|@bob|#12|GH-3/);
    expect(findJobMarker(comment)).toBe(ID);
  });

  it('a very long summary is cut, keeping the comment under the cap', () => {
    const comment = statusComment(
      succeeded({ attempts: [attempt({ summary: '&\n'.repeat(100_000) })] }),
      LINKS,
    );
    expect(comment.length).toBeLessThanOrEqual(STATUS_COMMENT_MAX);
    expect(comment).toContain('…');
  });

  it('holds for any summary and failure text (property)', () => {
    const hostile = fc.string({
      unit: fc.constantFrom(
        '&',
        '<',
        '>',
        '-',
        '\n',
        '\r',
        '@',
        'a',
        '#',
        '1',
        '`',
        '\uD83D\uDE00',
      ),
      maxLength: 30_000,
    });
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 500 }), hostile);
    fc.assert(
      fc.property(
        text,
        text,
        fc.constantFrom('SUCCEEDED', 'FAILED', 'PENDING', 'CANCELLED'),
        (summary, message, status) => {
          const failure = { category: 'agent_error' as const, message };
          const comment = statusComment(
            succeeded({ status, failure, attempts: [attempt({ summary, failure })] }),
            LINKS,
          );
          expect(findJobMarker(comment)).toBe(ID);
          expect(comment.length).toBeLessThanOrEqual(STATUS_COMMENT_MAX);
          expect(visible(comment)).not.toMatch(/<|-->|@[A-Za-z0-9]/);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('findJobMarker', () => {
  it('accepts only a well-formed marker with a ULID, on the first line', () => {
    expect(findJobMarker(`${STATUS_MARKER(ID)}\r\nrest`)).toBe(ID);
    expect(findJobMarker(STATUS_MARKER(ID))).toBe(ID);
    for (const body of [
      `hello\n${STATUS_MARKER(ID)}`,
      ` ${STATUS_MARKER(ID)}`,
      `${STATUS_MARKER(ID)} and more`,
      STATUS_MARKER(ID.toLowerCase()),
      STATUS_MARKER(`${ID}0`),
      STATUS_MARKER('01JD3VQ8ZK5T7N2XGH4W6R9MPU'), // U is not in the ULID alphabet
      '<!-- forge-status job= -->',
      '<!-- forge-status -->',
      '',
    ])
      expect(findJobMarker(body), body).toBeNull();
  });
});

describe('heldComment', () => {
  it('lists each problem as inert text and the directives Forge understands', () => {
    const comment = heldComment(
      ['budget: expected an amount in USD above 0, got "<b>lots</b>" from @mallory'],
      'forge:model, forge:budget',
    );
    expect(comment).toContain(
      '- budget: expected an amount in USD above 0, got "&lt;b&gt;lots&lt;/b&gt;" from @\u200Bmallory',
    );
    expect(comment).toContain('forge:model, forge:budget');
    expect(comment).not.toMatch(/<|-->/);
    expect(findJobMarker(comment)).toBeNull();
  });

  it('stays under the cap for many long problems', () => {
    const comment = heldComment(Array<string>(500).fill('&'.repeat(5000)), 'forge:model');
    expect(comment.length).toBeLessThanOrEqual(STATUS_COMMENT_MAX);
    expect(comment).toContain('…and 480 more');
  });
});

describe('refusalComment', () => {
  it('is one line that names the person without pinging them', () => {
    const comment = refusalComment('mallory');
    expect(comment).not.toContain('\n');
    expect(comment).toContain('`mallory`');
    expect(comment).not.toContain('@');
    expect(refusalComment('<b>@x</b>')).not.toMatch(/<|@x/);
  });
});
