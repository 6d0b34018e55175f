import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Job } from '../domain/job.ts';
import type { TrackedPull } from '../ports/issue-tracker.ts';
import { createPullFeedback } from './pull-feedback.ts';
import type { PullEvent } from './pull-events.ts';

const ID = '01J0000000000000000000000A';
const signal = new AbortController().signal;

/** A pull request feedback handler over one finished job that opened PR #7 on me/app. */
function world(pull: TrackedPull, status: Job['status'] = 'SUCCEEDED') {
  const job = {
    id: ID,
    status,
    repo: { url: 'http://forge.example/me/app.git' },
    result: { branch: `forge/${ID.toLowerCase()}`, pr_number: 7, commit: 'c' },
  } as unknown as Job;
  const followUps: string[] = [];
  const comments: string[] = [];
  const feedback = createPullFeedback({
    source: 'tasks',
    tracker: {
      getPull: () => Promise.resolve(pull),
      createComment: (_r, _n, body) => Promise.resolve(comments.push(body)),
    },
    rules: {
      isSelf: (u) => Promise.resolve(u.login === 'forge-bot'),
      mayTrigger: (u) => Promise.resolve(u.login === 'me'),
    },
    control: {
      get: (id) => Promise.resolve(id === ID ? ({ ...job, attempts: [] } as never) : null),
      list: () => Promise.resolve({ jobs: [], total: 0 }),
      followUp: (id, _body, key) => {
        followUps.push(`${id} ${key}`);
        return Promise.resolve(job);
      },
      cancel: () => Promise.reject(new Error('not expected')),
      retry: () => Promise.reject(new Error('not expected')),
    },
    logger: pino({ level: 'silent' }),
  });
  return { feedback, followUps, comments };
}

const review = (number: number): PullEvent => ({
  type: 'pull_review',
  delivery_id: 'd1',
  repo: 'me/app',
  number,
  sender: { login: 'me', bot: false },
  review: {
    key: 'review:5',
    state: 'changes_requested',
    body: 'fix it',
    author: { login: 'me', bot: false },
  },
});
const forgePull: TrackedPull = {
  number: 7,
  head: `forge/${ID.toLowerCase()}`,
  body: '',
  state: 'open',
  url: 'u',
};

describe('pull request feedback', () => {
  it('follows up the job that opened the pull request, keyed by the review', async () => {
    const w = world(forgePull);
    await w.feedback.handle(review(7), signal);
    expect(w.followUps).toEqual([`${ID} pull:me/app#7:review:5`]);
  });

  it("a stranger's pull request naming a job (by branch or link) steers nothing", async () => {
    const w = world({ ...forgePull, number: 8, body: `see /jobs/${ID}` });
    await w.feedback.handle(review(8), signal);
    expect(w.followUps).toEqual([]);
  });

  it('while the newest job still runs, says so on the pull request instead of queueing', async () => {
    const w = world(forgePull, 'RUNNING');
    await w.feedback.handle(review(7), signal);
    expect(w.followUps).toEqual([]);
    expect(w.comments).toHaveLength(1);
    expect(w.comments[0]).toContain('still RUNNING');
  });
});
