/**
 * The issue flow on Gitea and GitHub, end to end: the same promises as on Forgejo (one job, the
 * pull request, one status comment, the issue closed as forge:done), each against its own fake
 * forge and a real git HTTP server; on GitHub, `allow: write` asks the forge who may write and
 * still refuses bots.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FakeForgejo } from '../support/fake-forgejo.ts';
import type { FakeGitHub } from '../support/fake-github.ts';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';
import {
  TASKS,
  WEBHOOK_SECRET,
  jobsOfIssue,
  startIntakeWorld,
  until,
  type IntakeWorld,
} from '../support/intake-world.ts';

const worlds: IntakeWorld[] = [];
afterAll(async () => {
  await stopAllForges();
  await Promise.all(worlds.map((w) => w.close()));
});

async function setUp(
  kind: 'gitea' | 'github',
  intake: Record<string, unknown> = {},
): Promise<{ world: IntakeWorld; forge: ForgeProcess }> {
  const world = await startIntakeWorld(kind);
  worlds.push(world);
  const forge = await startForge({ config: world.config('tasks', intake) });
  world.forge.addWebhook({ repo: TASKS, url: `${forge.url}/hooks/tasks`, secret: WEBHOOK_SECRET });
  return { world, forge };
}

async function runIssue(world: IntakeWorld, forge: ForgeProcess, author = 'me') {
  const { number } = await world.forge.createIssue({
    repo: TASKS,
    title: 'print adding notes',
    body: 'write NOTES.md from an issue',
    author,
  });
  await world.forge.setLabels(TASKS, number, ['forge:queued'], author);
  const [queued] = await until(
    () => jobsOfIssue(forge, 'tasks', number),
    (jobs) => jobs.length > 0,
    `a job for issue #${number}`,
  );
  const job = await forge.waitFor(queued!.id, undefined, 30_000);
  const issue = await until(
    () => world.forge.issue(TASKS, number)!,
    (i) => i.state === 'closed' && i.labels.includes('forge:done'),
    'the issue closed as forge:done',
  );
  const comments = world.forge.comments(TASKS, number).filter((c) => c.author === 'forge-bot');
  return { number, job, issue, comments };
}

describe.each(['gitea', 'github'] as const)('issues on %s', (kind) => {
  it('a labelled issue becomes one job, a pull request, one status comment, a closed issue', async () => {
    const { world, forge } = await setUp(kind);
    const { number, job, comments } = await runIssue(world, forge);
    expect(job.status).toBe('SUCCEEDED');
    const result = job.result as { branch: string; pr_url: string };
    expect(world.forge.pulls('me/app').map((p) => p.head)).toContain(result.branch);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(result.pr_url);
    expect(await jobsOfIssue(forge, 'tasks', number)).toHaveLength(1);
    if (kind === 'gitea') expect((world.forge as FakeForgejo).violations).toEqual([]);
  }, 60_000);
});

describe('who may trigger on GitHub with allow: write', () => {
  it("lets a writer in, and refuses a bot with write access that isn't listed", async () => {
    const { world, forge } = await setUp('github', { allow: 'write', refusal_comment: true });
    const github = world.forge as FakeGitHub;
    github.setPermission(TASKS, 'writer', 'write');
    github.setPermission(TASKS, 'renovate[bot]', 'write');
    const { job } = await runIssue(world, forge, 'writer');
    expect(job.status).toBe('SUCCEEDED');

    const { number } = await github.createIssue({
      repo: TASKS,
      title: 'print from a bot',
      body: 'print hi',
      author: 'renovate[bot]',
    });
    await github.setLabels(TASKS, number, ['forge:queued'], 'renovate[bot]');
    const refusal = await until(
      () => github.comments(TASKS, number).filter((c) => c.author === 'forge-bot'),
      (c) => c.length > 0,
      'the refusal',
    );
    expect(refusal[0]!.body).toContain('renovate');
    expect(await jobsOfIssue(forge, 'tasks', number)).toEqual([]);
  }, 60_000);
});
