import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { ForgeError } from '../domain/errors.ts';
import { spec, OK } from '../../test/contracts/store-fixtures.ts';
import { EventBus } from './events.ts';
import { followUpJob, followUpTask, MAX_FOLLOW_UP_CHARS } from './follow-up.ts';
import type { SubmitDeps } from './submit-job.ts';

const repo = {
  url: 'https://git.example.com/me/app.git',
  name: 'app',
  forge: 'home',
  base_branch: 'main',
  branch: null,
  open_pr: true,
  draft: false,
};

async function world() {
  const store = createMemoryStore();
  const deps = {
    store,
    bus: new EventBus(pino({ level: 'silent' })),
    config: { limits: { max_budget_usd: 10, max_duration: 3_600_000, max_retries: 3 } },
  } as unknown as SubmitDeps;
  const origin = {
    kind: 'issue' as const,
    source: 'tasks',
    forge: 'home',
    repo: 'me/tasks',
    number: 7,
  };
  const { job } = await store.create(spec({ task: 'fix the parser', repo, origin } as never));
  const claim = (await store.claim('a', 60_000, 'local'))!;
  await store.finish(
    { job_id: job.id, attempt: claim.attempt },
    'a',
    {
      ...OK,
      summary: 'Fixed the ISO week case.',
      job_result: {
        branch: `forge/${job.id.toLowerCase()}`,
        commit: 'c0ffee',
        changed_files: 1,
        insertions: 1,
        deletions: 0,
        wip: false,
      },
    },
    { status: 'SUCCEEDED' },
  );
  return { store, deps, parent: job };
}

describe('follow-ups', () => {
  it("continue the parent's branch from its last commit, with its task, summary and origin", async () => {
    const { store, deps, parent } = await world();
    const job = await followUpJob(deps, parent.id, { message: 'also handle leap years' });
    expect(job).toMatchObject({
      parent_id: parent.id,
      status: 'PENDING',
      agent: parent.agent,
      origin: parent.origin,
      repo: { url: repo.url, branch: `forge/${parent.id.toLowerCase()}`, start_commit: 'c0ffee' },
    });
    expect(job.task).toContain('fix the parser');
    expect(job.task).toContain('Fixed the ISO week case.');
    expect(job.task.endsWith('The task:\nalso handle leap years')).toBe(true);
    expect((await store.get(job.id))?.parent_id).toBe(parent.id);
  });

  it('refuse a parent still queued or running, an unknown parent, and limits above the caps', async () => {
    const { store, deps, parent } = await world();
    const { job: running } = await store.create(spec());
    const refused = (id: string, body: unknown) =>
      followUpJob(deps, id, body).then(
        () => null,
        (err: unknown) => (err as ForgeError).code,
      );
    expect(await refused(running.id, { message: 'x' })).toBe('conflict');
    expect(await refused('01ARZ3NDEKTSV4RRFFQ69G5FAV', { message: 'x' })).toBe('not_found');
    expect(await refused(parent.id, { message: 'x', budget_usd: 11 })).toBe('invalid_request');
    expect(await refused(parent.id, { message: 'x', max_retries: 4 })).toBe('invalid_request');
    expect(await refused(parent.id, { message: '   ' })).toBe('invalid_request');
    expect(await refused(parent.id, { message: 'x', repo: 'other' })).toBe('invalid_request');
  });

  it('any body is either a follow-up or a clear invalid_request, never a crash', async () => {
    const { deps, parent } = await world();
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (body) => {
        try {
          await followUpJob(deps, parent.id, body);
        } catch (err) {
          expect(err).toBeInstanceOf(ForgeError);
          expect((err as ForgeError).code).toBe('invalid_request');
        }
      }),
      { numRuns: 200 },
    );
    expect(followUpTask({ ...parent, attempts: [] }, 'x'.repeat(MAX_FOLLOW_UP_CHARS))).toContain(
      'no summary',
    );
  });

  it('say who asked, before the instruction, when a door knows', async () => {
    const { store, parent } = await world();
    const record = (await store.get(parent.id))!;
    const task = followUpTask(record, 'rename the flag', '@ana on pull request #7');
    expect(task).toMatch(/asked for by @ana on pull request #7\.\n\nThe task:\nrename the flag$/);
    expect(followUpTask(record, 'rename the flag')).not.toContain('asked for by');
  });
});
