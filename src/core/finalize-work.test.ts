// Keeping the agent's work, in process: real git repositories (a git smart-HTTP server on
// loopback, Forge's mirror and workspace in a temp dir) and a fake forge whose pull requests the
// test controls.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitServer, type GitServer } from '../../test/support/git-http-server.ts';
import { createGitWorkspace } from '../adapters/git/git-workspace.ts';
import { ForgeError } from '../domain/errors.ts';
import type { GitHost, PullRequest, PullRequestRequest } from '../ports/git-host.ts';
import type { GitWorkspace } from '../ports/git-workspace.ts';
import { EventBus } from './events.ts';
import { finalizeWork, type FinalizeInput } from './finalize-work.ts';
import { prepareWorkspace, type RepoDeps } from './repo-work.ts';

const SECRET = 'sk-live-4f1c9e2a7b3d';
const logger = pino({ level: 'silent' });
const never = new AbortController().signal;

let server: GitServer;
let tmp: string;
let jobNo = 0;

beforeAll(async () => {
  server = await startGitServer();
  await server.createRepo('me/app', { files: { 'README.md': '# app\n' } });
  tmp = await mkdtemp(join(tmpdir(), 'forge-finalize-'));
});

afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

/** A forge whose `openPullRequest` is `open`; `calls` records what Forge asked for. */
function fakeHost(open?: (signal: AbortSignal) => Promise<PullRequest>) {
  const calls: { req: PullRequestRequest; signal: AbortSignal }[] = [];
  const host: GitHost = {
    kind: 'forgejo',
    openPullRequest(req, signal) {
      calls.push({ req, signal });
      return open
        ? open(signal)
        : Promise.resolve({ number: 7, url: 'http://pr/7', created: true });
    },
    repoFor: () => ({ owner: 'me', name: 'app' }),
    gitCredentials: () => server.credentials,
  };
  return { host, calls };
}

interface Setup {
  /** Replaces the workspace's push (the real one is `push`). */
  push?: (real: GitWorkspace['push'], ...args: Parameters<GitWorkspace['push']>) => Promise<string>;
  open?: (signal: AbortSignal) => Promise<PullRequest>;
  retryDelayMs?: number;
  task?: string;
  /** Files the agent leaves in its workspace. */
  files?: Record<string, string>;
}

/** A job with a checked-out workspace in which the "agent" left `files`. */
async function setup(opts: Setup = {}) {
  const real = createGitWorkspace({
    mirrorsDir: join(tmp, 'mirrors'),
    homeDir: join(tmp, 'git-home'),
    pathEnv: process.env.PATH ?? '',
  });
  const git: GitWorkspace = opts.push
    ? { ...real, push: (...args) => opts.push!(real.push.bind(real), ...args) }
    : real;
  const { host, calls } = fakeHost(opts.open);
  const deps: RepoDeps = {
    git,
    hostFor: () => host,
    bus: new EventBus(logger),
    logger,
    publicUrl: 'http://forge.test',
    retryDelayMs: opts.retryDelayMs ?? 1,
    redact: (text: string) => text.replaceAll(SECRET, '[redacted]'),
  };
  const id = `01JOB${++jobNo}`;
  const job = {
    id,
    task: opts.task ?? 'Add notes for the release',
    agent: 'script',
    profile: null,
    result: null,
    settings: {},
    repo: {
      url: server.url('me/app'),
      name: 'app',
      forge: 'home',
      base_branch: 'main',
      branch: null,
      open_pr: true,
      draft: false,
    },
  } as unknown as Parameters<typeof finalizeWork>[1];
  const ws = await prepareWorkspace(deps, job, join(tmp, id), null, never);
  for (const [name, text] of Object.entries(opts.files ?? { 'NOTES.md': 'notes\n' }))
    await writeFile(join(ws.dir, name), text);
  const branch = `forge/${id.toLowerCase()}`;
  const remoteHead = () => server.git('me/app', ['rev-parse', `refs/heads/${branch}`]);
  return { deps, job, ws, calls, branch, remoteHead };
}

function input(over: Partial<FinalizeInput> = {}): FinalizeInput {
  return {
    attempt: 1,
    succeeded: true,
    summary: 'Wrote the notes.',
    costUsd: 0.5,
    turns: 3,
    ...over,
  };
}

const unavailable = () => new ForgeError('unavailable', 'the forge is having a moment');

describe('finalizeWork', () => {
  it('commits, pushes and opens a pull request when nothing cancels', async () => {
    const s = await setup();
    const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
      deadline: never,
      withdrawn: never,
    });
    expect(out.failure).toBeNull();
    expect(out.result).toMatchObject({ branch: s.branch, pr_url: 'http://pr/7', pr_number: 7 });
    expect(out.result?.wip).toBeUndefined();
    expect(out.result?.commit).toBe(await s.remoteHead());
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]!.req).toMatchObject({ head: s.branch, base: 'main' });
  });

  it('after a cancel during the push back-off, still pushes the branch but opens no pull request', async () => {
    const cancel = new AbortController();
    let pushes = 0;
    const s = await setup({
      push: (real, ...args) => {
        if (++pushes > 1) return real(...args);
        cancel.abort('cancelled'); // arrives while Forge waits to try the push again
        return Promise.reject(unavailable());
      },
    });
    const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
      deadline: never,
      withdrawn: cancel.signal,
    });
    expect(pushes).toBe(2);
    expect(out.failure).toBeNull();
    expect(out.result?.commit).toBe(await s.remoteHead());
    expect(out.result?.wip).toBe(true);
    expect(out.result?.pr_url).toBeUndefined();
    expect(s.calls).toHaveLength(0);
  });

  it('after a cancel that arrives just before the pull request step, opens none', async () => {
    const cancel = new AbortController();
    const s = await setup({
      push: async (real, ...args) => {
        const commit = await real(...args);
        cancel.abort('cancelled');
        return commit;
      },
    });
    const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
      deadline: never,
      withdrawn: cancel.signal,
    });
    expect(out.result?.commit).toBe(await s.remoteHead());
    expect(out.result).toMatchObject({ wip: true });
    expect(out.result?.pr_url).toBeUndefined();
    expect(s.calls).toHaveLength(0);
    expect(out.notes.join('\n')).toContain('cancelled');
  });

  it(
    'aborts a pull request request in flight when the cancel arrives',
    { timeout: 5_000 },
    async () => {
      const cancel = new AbortController();
      const s = await setup({
        open: (signal) => {
          cancel.abort('cancelled'); // the request has gone out; now the cancel comes
          return new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
          );
        },
      });
      const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
        deadline: never,
        withdrawn: cancel.signal,
      });
      expect(s.calls).toHaveLength(1);
      expect(s.calls[0]!.signal.aborted).toBe(true);
      expect(out.failure).toBeNull();
      expect(out.result).toMatchObject({ wip: true, commit: await s.remoteHead() });
      expect(out.result?.pr_url).toBeUndefined();
    },
  );

  it(
    'stops retrying the pull request when a cancel arrives during its back-off',
    { timeout: 5_000 },
    async () => {
      const cancel = new AbortController();
      const s = await setup({
        retryDelayMs: 60_000,
        open: () => {
          cancel.abort('cancelled');
          return Promise.reject(unavailable());
        },
      });
      const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
        deadline: never,
        withdrawn: cancel.signal,
      });
      expect(s.calls).toHaveLength(1);
      expect(out.result).toMatchObject({ wip: true, commit: await s.remoteHead() });
      expect(out.result?.pr_url).toBeUndefined();
    },
  );

  it(
    'gives up at the deadline instead of sleeping out a push back-off',
    { timeout: 5_000 },
    async () => {
      const deadline = new AbortController();
      const s = await setup({
        retryDelayMs: 60_000,
        push: () => {
          deadline.abort(new Error('deadline'));
          return Promise.reject(unavailable());
        },
      });
      const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
        deadline: deadline.signal,
        withdrawn: never,
      });
      expect(out.failure?.category).toBe('push');
      expect(s.calls).toHaveLength(0);
    },
  );

  it('keeps the pushed commit in the result when the pull request cannot be opened', async () => {
    const s = await setup({
      open: () => Promise.reject(new ForgeError('invalid_request', 'pull requests are disabled')),
    });
    const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
      deadline: never,
      withdrawn: never,
    });
    expect(out.failure?.category).toBe('push');
    expect(out.failure?.message).toContain('pushed to');
    expect(out.failure?.message).toContain('pull requests are disabled');
    // The next push expects the branch where this one left it.
    expect(out.result?.commit).toBe(await s.remoteHead());
    expect(out.result?.changed_files).toBe(1);
  });

  it('after a failed push, the result is still what an earlier attempt pushed', async () => {
    let pushes = 0;
    const s = await setup({
      push: (real, ...args) =>
        ++pushes === 1
          ? real(...args)
          : Promise.reject(new ForgeError('invalid_request', 'the token may not push')),
    });
    const first = await finalizeWork(s.deps, s.job, s.ws, input({ succeeded: false }), {
      deadline: never,
      withdrawn: never,
    });
    await writeFile(join(s.ws.dir, 'MORE.md'), 'more\n');
    const job = { ...s.job, result: first.result };
    const second = await finalizeWork(s.deps, job, s.ws, input({ attempt: 2 }), {
      deadline: never,
      withdrawn: never,
    });
    expect(second.failure?.message).toContain('could not be pushed');
    expect(second.result).toEqual(first.result);
    expect(second.result?.commit).toBe(await s.remoteHead());
  });

  it('keeps a secret in the summary or task out of the commit, the pull request and the notes', async () => {
    const s = await setup({ task: `Use key ${SECRET} for the client` });
    const summary = `Configured the client with ${SECRET}.\nAlso wrote notes.`;
    const out = await finalizeWork(s.deps, s.job, s.ws, input({ summary }), {
      deadline: never,
      withdrawn: never,
    });
    const message = await server.git('me/app', ['log', '-1', '--format=%B', await s.remoteHead()]);
    expect(message).toContain('Configured the client with [redacted].');
    const pr = s.calls[0]!.req;
    expect(pr.body).toContain('[redacted]');
    for (const text of [message, pr.title, pr.body, ...out.notes])
      expect(text).not.toContain(SECRET);
  });

  it('returns the diff stat of what the attempt left, for the next attempt', async () => {
    const s = await setup({ files: { 'NOTES.md': 'a\nb\n', 'src.txt': 'x\n' } });
    const out = await finalizeWork(s.deps, s.job, s.ws, input({ succeeded: false }), {
      deadline: never,
      withdrawn: never,
    });
    expect(out.diffStat).toContain('NOTES.md');
    expect(out.diffStat).toContain('src.txt');
    expect(out.diffStat).toContain('2 files changed, 3 insertions(+)');
  });

  it('cuts a long diff stat to about 2,000 characters and says so', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++)
      files[`a-rather-long-file-name-for-the-stat-${'x'.repeat(40)}-${i}.txt`] = `${i}\n`;
    const s = await setup({ files });
    const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
      deadline: never,
      withdrawn: never,
    });
    expect(out.diffStat!.length).toBeLessThanOrEqual(2_100);
    expect(out.diffStat).toMatch(/cut/);
    expect(out.diffStat).toContain('60 files changed');
  });

  it('has no diff stat when the agent changed nothing', async () => {
    const s = await setup({ files: {} });
    const out = await finalizeWork(s.deps, s.job, s.ws, input(), {
      deadline: never,
      withdrawn: never,
    });
    expect(out.result?.no_changes).toBe(true);
    expect(out.diffStat).toBeNull();
  });
});
