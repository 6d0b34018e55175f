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
  const acted: string[] = [];
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
      cancel: (id, reason) => {
        acted.push(`cancel ${id} ${reason ?? ''}`);
        return Promise.resolve({ ...job, attempts: [] } as never);
      },
      retry: (id) => {
        acted.push(`retry ${id}`);
        return Promise.resolve({ ...job, attempts: [] } as never);
      },
    },
    logger: pino({ level: 'silent' }),
  });
  return { feedback, followUps, comments, acted };
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

  const comment = (body: string, login = 'me'): PullEvent => ({
    type: 'pull_comment',
    delivery_id: 'd2',
    repo: 'me/app',
    number: 7,
    sender: { login, bot: false },
    comment: { id: 9, body, author: { login, bot: false }, created_at: '2026-01-01T00:00:00Z' },
  });

  it('/forge cancel on the pull request cancels the running job, /forge retry retries a failed one', async () => {
    const running = world(forgePull, 'RUNNING');
    await running.feedback.handle(comment('/forge cancel'), signal);
    expect(running.acted).toEqual([expect.stringMatching(new RegExp(`^cancel ${ID} .*@me`))]);
    const failed = world(forgePull, 'FAILED');
    await failed.feedback.handle(comment('/forge retry'), signal);
    expect(failed.acted).toEqual([`retry ${ID}`]);
    // Nothing to retry on a job that succeeded, nothing to cancel on one that ended.
    const done = world(forgePull);
    await done.feedback.handle(comment('/forge retry'), signal);
    await done.feedback.handle(comment('/forge cancel'), signal);
    expect(done.acted).toEqual([]);
  });

  it("files nothing for a plain comment, an approval, a stranger, or Forge's own account", async () => {
    const w = world(forgePull);
    await w.feedback.handle(comment('looks good, thanks'), signal);
    const approval = review(7);
    if (approval.type === 'pull_review') approval.review.state = 'approved';
    await w.feedback.handle(approval, signal);
    await w.feedback.handle(comment('/forge rewrite everything', 'stranger'), signal);
    await w.feedback.handle(comment('/forge rewrite everything', 'forge-bot'), signal);
    expect(w.followUps).toEqual([]);
    expect(w.acted).toEqual([]);
    // An allowed person's /forge instruction on the same pull request is one.
    await w.feedback.handle(comment('/forge rename the flag'), signal);
    expect(w.followUps).toEqual([`${ID} pull:me/app#7:comment:9`]);
  });
});
