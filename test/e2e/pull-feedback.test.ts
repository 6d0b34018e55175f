/**
 * Feedback on Forge's pull requests, end to end: the real `forge serve`, a real git HTTP server
 * and a fake forge that sends the webhooks a real one sends when a reviewer acts. A job from a
 * queued issue opens a pull request on `me/app`; the forge's webhook on `me/app` (issue comments
 * and pull request reviews) points at the same intake source.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeForgejo } from '../support/fake-forgejo.ts';
import type { FakeGitHub } from '../support/fake-github.ts';
import { expectFollowedUp } from '../support/follow-up-checks.ts';
import {
  ROOT,
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';
import {
  TASKS,
  WEBHOOK_SECRET,
  jobsOfIssue,
  startIntakeWorld,
  until,
  type IntakeWorld,
} from '../support/intake-world.ts';

const APP = 'me/app';
const ENDED = (j: JobJson) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status);

interface Setup {
  world: IntakeWorld;
  forge: ForgeProcess;
}

async function setUp(kind: 'forgejo' | 'github'): Promise<Setup> {
  const world = await startIntakeWorld(kind);
  const forge = await startForge({
    config: {
      ...world.config('tasks'),
      agents: {
        script: {
          kind: 'command',
          command: [
            process.execPath,
            join(ROOT, 'test/support/scripted-agent.mjs'),
            '{prompt_file}',
          ],
        },
      },
      limits: { max_concurrent: 3, max_budget_usd: 10 },
    },
  });
  for (const repo of [TASKS, APP])
    world.forge.addWebhook({ repo, url: `${forge.url}/hooks/tasks`, secret: WEBHOOK_SECRET });
  return { world, forge };
}

/** A queued issue's job runs to its end and opens a pull request on me/app. */
async function jobWithPull({ world, forge }: Setup, task: string) {
  const { number } = await world.forge.createIssue({
    repo: TASKS,
    title: task,
    body: task,
    author: 'me',
  });
  await world.forge.setLabels(TASKS, number, ['forge:queued'], 'me');
  const [queued] = await until(
    () => jobsOfIssue(forge, 'tasks', number),
    (jobs) => jobs.length > 0,
    `a job for issue #${number}`,
  );
  const job = await forge.waitFor(queued!.id, ENDED, 90_000);
  expect(job.status).toBe('SUCCEEDED');
  const pr = (job.result as { pr_number: number }).pr_number;
  expect(world.forge.pulls(APP).find((p) => p.number === pr)).toBeDefined();
  return { issue: number, job, pr };
}

/** The follow-ups of `job` (what proves a negative once every delivery was answered and Forge's
 *  outbox has nothing left for the intake). */
async function followUpsOf(forge: ForgeProcess, job: JobJson): Promise<JobJson[]> {
  return (await forge.api<{ jobs: JobJson[] }>('GET', `/jobs?parent_id=${job.id}`)).body.jobs;
}

/** Waits until Forge answered every webhook and worked off every queued intake event (the
 *  receiver queues an event before it answers, so after `idle` the backlog holds them all). */
async function settled({ world, forge }: Setup) {
  await world.forge.idle();
  type Health = { deliveries: Array<{ sink: string; pending: number; dead: number }> };
  const intake = await until(
    async () =>
      (await forge.api<Health>('GET', '/health')).body.deliveries.find(
        (d) => d.sink === 'intake:tasks',
      ),
    // A sink with nothing pending or dead is not listed at all.
    (sink) => (sink?.pending ?? 0) === 0,
    'the intake backlog to drain',
  );
  expect(intake?.dead ?? 0).toBe(0);
}

describe('forgejo: review feedback on a Forge pull request', () => {
  let s: Setup;
  let forgejo: FakeForgejo;
  beforeAll(async () => {
    s = await setUp('forgejo');
    forgejo = s.world.forge as FakeForgejo;
  }, 60_000);
  afterAll(async () => {
    await stopAllForges();
    await s.world.close();
  });

  it('a review requesting changes by an allowed user files one follow-up whose commit lands on the same pull request, however often it is delivered', async () => {
    const { job, pr } = await jobWithPull(s, 'write PART1.md one');
    const { deliveries } = await forgejo.review(
      APP,
      pr,
      { state: 'changes_requested', body: 'write FIX.md fixed' },
      'me',
    );
    for (const d of deliveries) await forgejo.redeliver(d.id);
    const [child] = await until(
      () => followUpsOf(s.forge, job),
      (jobs) => jobs.length > 0,
      'the follow-up',
    );
    const second = await s.forge.waitFor(child!.id, ENDED, 60_000);
    const b = await expectFollowedUp(s.world.git, forgejo, APP, job, second);
    expect(await s.world.git.git(APP, ['show', `${b.commit}:FIX.md`])).toBe('fixed');
    await settled(s);
    expect(await followUpsOf(s.forge, job)).toHaveLength(1);
    // Reading the pull request fits the published swagger.
    expect(forgejo.violations).toEqual([]);
  }, 120_000);

  it("a /forge comment by Forge's own account or by a stranger, or an approval, files nothing", async () => {
    const { job, pr } = await jobWithPull(s, 'write PART2.md two');
    await forgejo.comment(APP, pr, '/forge write SELF.md x', 'forge-bot');
    await forgejo.comment(APP, pr, '/forge write EVIL.md x', 'stranger');
    await forgejo.review(
      APP,
      pr,
      { state: 'changes_requested', body: 'write EVIL.md y' },
      'stranger',
    );
    await forgejo.review(APP, pr, { state: 'approved', body: '/forge write LGTM.md z' }, 'me');
    // Each of these was answered 202 (queued), so "nothing" below is the intake's decision.
    expect(forgejo.deliveries.filter((d) => d.repo === APP).map((d) => d.status)).not.toContain(
      null,
    );
    await settled(s);
    expect(await followUpsOf(s.forge, job)).toEqual([]);
  }, 120_000);

  it('a /forge comment from an allowed user on the pull request follows the chain up too', async () => {
    const { job, pr } = await jobWithPull(s, 'write PART3.md three');
    await forgejo.comment(APP, pr, '/forge write MORE.md more', 'me');
    const [child] = await until(
      () => followUpsOf(s.forge, job),
      (jobs) => jobs.length > 0,
      'the follow-up',
    );
    const second = await s.forge.waitFor(child!.id, ENDED, 60_000);
    await expectFollowedUp(s.world.git, forgejo, APP, job, second);
  }, 120_000);
});

describe('github: review feedback on a Forge pull request', () => {
  let s: Setup;
  let github: FakeGitHub;
  beforeAll(async () => {
    s = await setUp('github');
    github = s.world.forge as FakeGitHub;
  }, 60_000);
  afterAll(async () => {
    await stopAllForges();
    await s.world.close();
  });

  it('a review requesting changes files one follow-up on the same pull request', async () => {
    const { job, pr } = await jobWithPull(s, 'write PART1.md one');
    const { deliveries } = await github.review(
      APP,
      pr,
      { state: 'changes_requested', body: 'write FIX.md fixed' },
      'me',
    );
    for (const d of deliveries) await github.redeliver(d.id);
    const [child] = await until(
      () => followUpsOf(s.forge, job),
      (jobs) => jobs.length > 0,
      'the follow-up',
    );
    const second = await s.forge.waitFor(child!.id, ENDED, 60_000);
    await expectFollowedUp(s.world.git, github, APP, job, second);
    await settled(s);
    expect(await followUpsOf(s.forge, job)).toHaveLength(1);
    expect(github.violations).toEqual([]);
  }, 120_000);
});
