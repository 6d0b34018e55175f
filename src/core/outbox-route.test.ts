import { describe, expect, it } from 'vitest';
import type { Job, JobOrigin, JobStatus } from '../domain/job.ts';
import { createOutboxRoute, notifyEventOf } from './outbox-route.ts';

function job(origin: JobOrigin | null): Job {
  return { id: '01JOB', origin } as unknown as Job;
}
const issue: JobOrigin = {
  kind: 'issue',
  source: 'tasks',
  repo: 'me/tasks',
  number: 7,
  url: 'https://git.example.com/me/tasks/issues/7',
};

describe('outbox route', () => {
  it('names the event a person cares about for each change', () => {
    const cases: Array<[JobStatus | null, JobStatus, string | null]> = [
      [null, 'PENDING', 'queued'],
      ['PENDING', 'RUNNING', 'started'],
      ['RUNNING', 'PENDING', 'retrying'],
      ['FAILED', 'PENDING', 'queued'],
      ['RUNNING', 'SUCCEEDED', 'finished'],
      ['PENDING', 'CANCELLED', 'finished'],
    ];
    for (const [from, to, event] of cases) expect(notifyEventOf(from, to)).toBe(event);
  });

  it('keeps the issue in step with every change of a job that came from one', () => {
    const route = createOutboxRoute([]);
    for (const to of ['PENDING', 'RUNNING', 'FAILED'] as const)
      expect(route({ job: job(issue), from: null, to })).toEqual([
        expect.objectContaining({ sink: 'issue', job_id: '01JOB', payload: { status: to } }),
      ]);
    expect(route({ job: job(null), from: null, to: 'PENDING' })).toEqual([]);
  });

  it('sends one delivery per chat for the events chosen, and a webhook once', () => {
    const route = createOutboxRoute([
      { sink: 'telegram:phone', name: 'phone', events: ['finished'], chats: [1, 2] },
      { sink: 'webhook:hooks', events: ['started', 'finished'] },
    ]);
    const finished = route({ job: job(null), from: 'RUNNING', to: 'SUCCEEDED' });
    expect(finished.map((i) => [i.sink, i.payload.chat_id])).toEqual([
      ['telegram:phone', 1],
      ['telegram:phone', 2],
      ['webhook:hooks', undefined],
    ]);
    const started = route({ job: job(null), from: 'PENDING', to: 'RUNNING' });
    expect(started.map((i) => i.sink)).toEqual(['webhook:hooks']);
  });

  it('tells the chat that filed a job when it finishes, once even if it is also listed', () => {
    const route = createOutboxRoute([
      { sink: 'telegram:phone', name: 'phone', events: ['finished'], chats: [1] },
    ]);
    const fromChat = (chat_id: number) => job({ kind: 'telegram', notifier: 'phone', chat_id });
    expect(
      route({ job: fromChat(1), from: 'RUNNING', to: 'FAILED' }).map((i) => i.payload.chat_id),
    ).toEqual([1]);
    expect(
      route({ job: fromChat(5), from: 'RUNNING', to: 'FAILED' }).map((i) => i.payload.chat_id),
    ).toEqual([1, 5]);
  });
});
