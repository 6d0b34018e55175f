/**
 * Jobs with a repository, end to end: the real `forge serve`, a real git smart-HTTP server with
 * basic auth, and a simulated Forgejo whose every request is checked against Forgejo's published
 * swagger. Both sit behind one loopback origin, as on a real forge (git under /, API under /api/).
 */
import { expectFollowedUp } from '../support/follow-up-checks.ts';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeForgejo, type FakeForgejo } from '../support/fake-forgejo.ts';
import {
  CHANGELOG_SCRIPT,
  startFakeAnthropic,
  type FakeAnthropic,
} from '../support/fake-anthropic.ts';
import {
  ROOT,
  SCRIPTED_AGENT,
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';
import { startGitServer, type GitServer } from '../support/git-http-server.ts';
import { startFront } from '../support/intake-world.ts';

let git: GitServer;
let forgejo: FakeForgejo;
let front: Server;
let origin = '';
let forge: ForgeProcess;
let model: FakeAnthropic;

const repoUrl = (): string => `${origin}/me/app.git`;
const gitOut = (args: string[], cwd?: string): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

beforeAll(async () => {
  git = await startGitServer({ username: 'forge' }); // what the Forgejo host sends with its token
  await git.createRepo('me/app', { files: { 'README.md': '# app\n', 'src/main.txt': 'hello\n' } });
  forgejo = await startFakeForgejo({ kind: 'forgejo', token: git.token, repos: ['me/app'] });
  front = await startFront(git.url('x').replace(/\/x\.git$/, ''), forgejo.url);
  origin = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  // The real Claude Code CLI, its model scripted to write a file and then summarise its work.
  model = await startFakeAnthropic(CHANGELOG_SCRIPT);
  forge = await startForge({
    config: {
      agents: {
        script: { kind: 'command', command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
        claude: {
          kind: 'claude-code',
          command: [join(ROOT, 'node_modules', '.bin', 'claude')],
          model: 'claude-sonnet-4-5',
          env: {
            ANTHROPIC_BASE_URL: model.url,
            ANTHROPIC_API_KEY: 'test-key',
            CLAUDE_CODE_MAX_RETRIES: '1',
          },
        },
      },
      forges: { home: { kind: 'forgejo', url: origin, token: git.token } },
      repos: {
        app: { url: repoUrl(), forge: 'home', base_branch: 'main' },
        drafts: { url: repoUrl(), forge: 'home', base_branch: 'main', draft: true },
      },
      profiles: { resume: { continue_previous_work: true, max_retries: 1 } },
    },
    env: { FORGE_TEST_MARKER: 'x' },
  });
});

afterAll(async () => {
  await stopAllForges();
  await model.close();
  await new Promise<void>((resolve) => front.close(() => resolve()));
  await forgejo.close();
  await git.close();
});

async function run(task: string, extra: Record<string, unknown> = {}): Promise<JobJson> {
  return forge.waitFor(await forge.submit(task, { repo: 'app', ...extra }), undefined, 30_000);
}

describe('jobs with a repository', () => {
  it("turns the agent's change into a pushed branch with trailers and a pull request", async () => {
    const baseBefore = await git.git('me/app', ['rev-parse', 'refs/heads/main']);
    const job = await run('write NOTES.md written by the agent; print done');
    expect(job.status).toBe('SUCCEEDED');
    const branch = `forge/${job.id.toLowerCase()}`;
    const result = job.result as Record<string, unknown>;
    expect(result).toMatchObject({
      branch,
      changed_files: 1,
      insertions: 1,
      deletions: 0,
      pr_number: 1,
    });
    const head = await git.git('me/app', ['rev-parse', `refs/heads/${branch}`]);
    expect(result.commit).toBe(head);
    expect(await git.git('me/app', ['show', `${head}:NOTES.md`])).toBe('written by the agent');
    const message = await git.git('me/app', ['log', '-1', '--format=%B', head]);
    expect(message).toContain(`Forge-Job: ${job.id}`);
    expect(message).toContain('Forge-Attempt: 1');
    expect(await git.git('me/app', ['rev-parse', 'refs/heads/main'])).toBe(baseBefore);

    const pulls = forgejo.pulls('me/app');
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ head: branch, base: 'main', state: 'open' });
    expect(pulls[0]!.body).toContain(`/jobs/${job.id}`);
    expect(result.pr_url).toContain('/me/app/pulls/1');
    expect(forgejo.violations).toEqual([]);
    const events = (await forge.api<string>('GET', `/jobs/${job.id}/log`)).body;
    expect(events).toContain('opened pull request #1');
  });

  it('runs the real Claude Code on the checkout and opens a PR with its summary', async () => {
    const job = await forge.waitFor(
      await forge.submit('add a changelog entry', { repo: 'app', agent: 'claude' }),
      undefined,
      90_000,
    );
    expect(job.status).toBe('SUCCEEDED');
    const result = job.result as Record<string, unknown>;
    const head = await git.git('me/app', ['rev-parse', `refs/heads/${String(result.branch)}`]);
    expect(await git.git('me/app', ['show', `${head}:CHANGELOG.md`])).toBe(
      '- parser accepts ISO weeks',
    );
    expect(await git.git('me/app', ['log', '-1', '--format=%s', head])).toBe(
      'Added a changelog entry for ISO week parsing.',
    );
    const pull = forgejo.pulls('me/app').find((p) => p.head === result.branch);
    expect(pull?.body).toContain('Added a changelog entry for ISO week parsing.');
    expect(pull?.body).toMatch(/cost \$\d/);
    expect(forgejo.violations).toEqual([]);
  }, 120_000);

  it('a follow-up through the API continues the branch: its commit lands on the same pull request', async () => {
    const first = await run('write PART1.md one');
    expect(first.status).toBe('SUCCEEDED');
    const res = await forge.api<{ id: string; parent_id: string }>(
      'POST',
      `/jobs/${first.id}/follow-up`,
      { message: 'write PART2.md two' },
    );
    expect(res.status).toBe(202);
    expect(res.body.parent_id).toBe(first.id);
    const second = await forge.waitFor(res.body.id, undefined, 30_000);
    const b = await expectFollowedUp(git, forgejo, 'me/app', first, second);
    expect(await git.git('me/app', ['show', `${b.commit}:PART1.md`])).toBe('one');
    // Each job shows the chain.
    const parent = await forge.api<{ follow_ups?: string[] }>('GET', `/jobs/${first.id}`);
    expect(parent.body.follow_ups).toEqual([second.id]);
    const children = await forge.api<{ jobs: { id: string }[] }>(
      'GET',
      `/jobs?parent_id=${first.id}`,
    );
    expect(children.body.jobs.map((j) => j.id)).toEqual([second.id]);
    // The prompt carried the earlier task and the new instruction.
    const log = (await forge.api<string>('GET', `/jobs/${second.id}/log`)).body;
    expect(second.task).toContain('write PART1.md one');
    expect(second.task).toContain('write PART2.md two');
    expect(log).not.toContain('Traceback');
    // A job still running cannot be followed up; an unknown one is 404.
    const busy = await forge.submit('sleep 60000', { repo: 'app' });
    expect((await forge.api('POST', `/jobs/${busy}/follow-up`, { message: 'x' })).status).toBe(409);
    await forge.api('POST', `/jobs/${busy}/cancel`);
    // Its attempt closes (its work pushed as WIP) before the next test uses the same mirror.
    await forge.waitFor(busy, (j) => j.attempts.every((a) => a.finished_at !== undefined), 30_000);
    expect(
      (await forge.api('POST', '/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/follow-up', { message: 'x' }))
        .status,
    ).toBe(404);
  }, 60_000);

  it('never lets the token reach the workspace remote, the log or the agent', async () => {
    const job = await run('env FORGE_TEST_MARKER; write a.txt a');
    const ws = join(forge.dataDir, 'jobs', job.id, 'attempt-1', 'workspace');
    const remotes = gitOut(['remote', '-v'], ws);
    expect(remotes).toContain(repoUrl());
    expect(remotes).not.toContain(git.token);
    expect(readFileSync(join(ws, '.git', 'config'), 'utf8')).not.toContain(git.token);
    const log = readFileSync(
      join(forge.dataDir, 'jobs', job.id, 'attempt-1', 'output.log'),
      'utf8',
    );
    expect(log).not.toContain(git.token);
    expect(log).toContain('FORGE_TEST_MARKER=(unset)');
    expect(JSON.stringify(job)).not.toContain(git.token);
  });

  it('succeeds with result no_changes when the agent changes nothing', async () => {
    const job = await run('print nothing to do');
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result).toMatchObject({ no_changes: true, changed_files: 0 });
  });

  it("pushes a failing agent's work as a WIP branch and records it", async () => {
    const job = await run('write half.txt half done; exit 3', { max_retries: 0 });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('agent_error');
    const result = job.result as Record<string, unknown>;
    expect(result).toMatchObject({ wip: true, changed_files: 1 });
    expect(await git.git('me/app', ['show', `refs/heads/${String(result.branch)}:half.txt`])).toBe(
      'half done',
    );
    expect(forgejo.pulls('me/app').some((p) => p.head === result.branch)).toBe(false);
  });

  it('pushes the work of a cancelled job as a WIP branch', async () => {
    const id = await forge.submit('write wip.txt in progress; print ready; sleep 30000', {
      repo: 'app',
    });
    await forge.waitFor(id, (j) => (j.attempts[0]?.output ?? '').includes('ready'));
    await forge.api('POST', `/jobs/${id}/cancel`);
    const job = await forge.waitFor(id, (j) => !!j.attempts[0]?.finished_at, 30_000);
    expect(job.status).toBe('CANCELLED');
    const result = job.result as Record<string, unknown>;
    expect(result.wip).toBe(true);
    expect(await git.git('me/app', ['show', `refs/heads/${String(result.branch)}:wip.txt`])).toBe(
      'in progress',
    );
  });

  it('fails with category push when its branch was moved by someone else', async () => {
    await git.commit('me/app', 'main', { 'x.txt': 'x' });
    await git.git('me/app', ['branch', 'taken', 'main']);
    const job = await run('write mine.txt mine', { branch: 'taken' });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('push');
    expect(job.failure?.message).toMatch(/taken/);
    expect(await git.git('me/app', ['rev-parse', 'refs/heads/taken'])).toBe(
      await git.git('me/app', ['rev-parse', 'refs/heads/main']),
    );
  });

  it('retries forge API errors, then opens the pull request', async () => {
    forgejo.failNext(500, 'internal error', 1);
    const job = await run('write retry.txt r');
    expect(job.status).toBe('SUCCEEDED');
    expect((job.result as Record<string, unknown>).pr_number).toBeGreaterThan(0);
  });

  it('reports a forge that keeps failing as category push, keeping the branch', async () => {
    forgejo.failNext(503, 'maintenance', 3); // Forge tries three times
    const job = await run('write down.txt d');
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('push');
    expect(job.failure?.message).toContain('maintenance');
    // The push went through: the result names the pushed commit, which the next push expects.
    const result = job.result as Record<string, unknown>;
    expect(result.commit).toBe(
      await git.git('me/app', ['rev-parse', `refs/heads/${String(result.branch)}`]),
    );
  });

  it('opens a draft PR for a repository marked draft, and none with open_pr false on its own branch', async () => {
    const draft = await run('write d.txt d', { repo: 'drafts' });
    const pull = forgejo
      .pulls('me/app')
      .find((p) => p.head === (draft.result as Record<string, unknown>).branch);
    expect(pull?.title).toMatch(/^WIP: /);
    const quiet = await run('write q.txt q', { open_pr: false, branch: 'feature/quiet' });
    expect(quiet.status).toBe('SUCCEEDED');
    expect(quiet.result).toMatchObject({ branch: 'feature/quiet', changed_files: 1 });
    expect((quiet.result as Record<string, unknown>).pr_url).toBeUndefined();
    expect(await git.git('me/app', ['show', 'refs/heads/feature/quiet:q.txt'])).toBe('q');
  });

  it("starts a retry from the previous attempt's pushed work when the profile says so", async () => {
    // Attempt 1 writes first.txt and fails; attempt 2 must find first.txt in its checkout.
    const job = await run(
      'write first.txt one; fail-on 1 4; env FORGE_ATTEMPT; write second.txt two',
      { profile: 'resume' },
    );
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts).toHaveLength(2);
    const head = String((job.result as Record<string, unknown>).commit);
    expect(await git.git('me/app', ['show', `${head}:first.txt`])).toBe('one');
    expect(await git.git('me/app', ['show', `${head}:second.txt`])).toBe('two');
    const history = await git.git('me/app', ['log', '--format=%B', `main..${head}`]);
    expect(history).toContain('Forge-Attempt: 1');
    expect(history).toContain('Forge-Attempt: 2');
  });

  it('fails with category workspace when the repository cannot be reached', async () => {
    const job = await run('print never', {
      repo: 'http://127.0.0.1:9/nowhere.git',
      open_pr: false,
      max_retries: 0,
    });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('workspace');
    expect(job.failure?.message).toMatch(/127\.0\.0\.1:9/);
    expect(job.attempts[0]?.exit_code).toBeUndefined();
  });
});
