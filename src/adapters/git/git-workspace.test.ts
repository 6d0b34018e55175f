// The git workspace against a real git smart-HTTP server on loopback that demands basic auth.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForgeError } from '../../domain/errors.ts';
import type { GitWorkspace } from '../../ports/git-workspace.ts';
import { startGitServer, type GitServer } from '../../../test/support/git-http-server.ts';
import { createGitWorkspace, type GitWorkspaceOptions } from './git-workspace.ts';

const FILES = { 'README.md': '# test repository\n', 'src/a.txt': 'one\ntwo\nthree\n' };
const IDENTITY = { name: 'Forge Test', email: 'forge-test@example.com' };

let server: GitServer;
let head: string;
let tmp: string;
const scratch: string[] = [];
const signal = new AbortController().signal;

beforeAll(async () => {
  server = await startGitServer({ username: 'forge-bot', token: 'tok-do-not-leak-7f3a91' });
  head = await server.createRepo('app', { files: FILES, commits: 2 });
  await server.createRepo('trunk-repo', { branch: 'trunk' });
});

afterAll(async () => {
  const root = server.root;
  await server.close();
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
  expect(await processesMentioning([root, ...scratch]), 'git processes left running').toEqual([]);
});

afterEach(() => {
  server.requests.length = 0;
});

async function setup(
  opts: Partial<GitWorkspaceOptions> = {},
): Promise<{ ws: GitWorkspace; dir: (name: string) => string; mirrorsDir: string }> {
  tmp = await mkdtemp(join(tmpdir(), 'forge-git-ws-'));
  scratch.push(tmp);
  const mirrorsDir = join(tmp, 'mirrors');
  const ws = createGitWorkspace({
    mirrorsDir,
    homeDir: join(tmp, 'home'),
    identity: IDENTITY,
    pathEnv: process.env.PATH ?? '',
    ...opts,
  });
  return { ws, dir: (name) => join(tmp, 'attempts', name, 'workspace'), mirrorsDir };
}

function checkoutReq(dir: string, over: Record<string, unknown> = {}) {
  return {
    url: server.url('app'),
    baseBranch: 'main',
    branch: 'forge/job-1',
    dir,
    credentials: server.credentials,
    startFrom: null,
    ...over,
  };
}

/** git as a person would run it, outside Forge (HOME in the test's temp dir). */
function sh(cwd: string, ...args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH ?? '', HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`git ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

async function mirrorOf(mirrorsDir: string): Promise<string> {
  const [name] = await readdir(mirrorsDir);
  return join(mirrorsDir, name!);
}

async function rejection(p: Promise<unknown>): Promise<ForgeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ForgeError);
  return err as ForgeError;
}

/** Every file under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(needle)) hits.push(path);
  }
  return hits;
}

async function processesMentioning(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (needles.some((n) => cmdline.includes(n)))
      found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const infoRefs = () =>
  server.requests.filter((r) => r.method === 'GET' && r.service === 'git-upload-pack').length;

describe('checkout', () => {
  it('creates the job branch at the base commit, with the base content and no credentials anywhere', async () => {
    const { ws, dir, mirrorsDir } = await setup();
    const checkout = await ws.checkout(checkoutReq(dir('1')), signal);
    expect(checkout).toEqual({ baseBranch: 'main', baseCommit: head });
    expect(await sh(dir('1'), 'rev-parse', 'HEAD')).toBe(head);
    expect(await sh(dir('1'), 'symbolic-ref', '--short', 'HEAD')).toBe('forge/job-1');
    expect(await readFile(join(dir('1'), 'src/a.txt'), 'utf8')).toBe(FILES['src/a.txt']);
    expect(await sh(dir('1'), 'status', '--porcelain')).toBe('');
    expect(await sh(dir('1'), 'rev-parse', 'origin/main')).toBe(head);

    const remotes = await sh(dir('1'), 'remote', '-v');
    expect(remotes).toContain(server.url('app'));
    expect(remotes).not.toContain(server.token);
    const basic = Buffer.from(`forge-bot:${server.token}`).toString('base64');
    for (const secret of [server.token, basic]) {
      expect(await filesContaining(join(dir('1'), '.git'), secret)).toEqual([]);
      expect(await filesContaining(mirrorsDir, secret)).toEqual([]);
    }
    // The header goes out with the first request: no anonymous probe, no 401 round trip.
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.auth === 'ok')).toBe(true);
  });

  it("resolves the default branch from the remote's HEAD when no base branch is asked for", async () => {
    const { ws, dir } = await setup();
    const checkout = await ws.checkout(
      checkoutReq(dir('1'), { url: server.url('trunk-repo'), baseBranch: null }),
      signal,
    );
    expect(checkout.baseBranch).toBe('trunk');
    expect(checkout.baseCommit).toBe(await server.git('trunk-repo', ['rev-parse', 'trunk']));
    expect(await sh(dir('1'), 'rev-parse', 'HEAD')).toBe(checkout.baseCommit);
  });

  it('names an unknown base branch (invalid_request) and leaves no directory behind', async () => {
    const { ws, dir } = await setup();
    const err = await rejection(
      ws.checkout(checkoutReq(dir('1'), { baseBranch: 'no-such-branch' }), signal),
    );
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('"no-such-branch"');
    expect(err.message).toContain('main'); // the branches that do exist
    await expect(readdir(dir('1'))).rejects.toThrow(/ENOENT/);
  });

  it('shares one fetch among the checkouts of a burst', async () => {
    const { ws, dir } = await setup();
    await Promise.all(
      ['1', '2', '3'].map((n) =>
        ws.checkout(checkoutReq(dir(n), { branch: `forge/job-${n}` }), signal),
      ),
    );
    await ws.checkout(checkoutReq(dir('4'), { branch: 'forge/job-4' }), signal); // still within the burst window
    // One refresh = one `git fetch` plus one `git ls-remote` for the default branch, each of which
    // opens with one GET of info/refs.
    expect(infoRefs()).toBe(2);
    for (const n of ['1', '2', '3', '4'])
      expect(await sh(dir(n), 'rev-parse', `forge/job-${n}`)).toBe(head);
  });

  it('fetches again for each job once the burst window has passed', async () => {
    const { ws, dir } = await setup({ fetchCoalesceMs: 0 });
    await ws.checkout(checkoutReq(dir('1')), signal);
    await ws.checkout(checkoutReq(dir('2')), signal);
    expect(infoRefs()).toBe(4);
  });

  it("reports an unreachable server with git's words and what to check", async () => {
    const { ws, dir } = await setup();
    const url = `http://127.0.0.1:${await closedPort()}/app.git`;
    const err = await rejection(ws.checkout(checkoutReq(dir('1'), { url }), signal));
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/unable to access .*(Failed to connect|Couldn't connect)/);
    expect(err.message).toContain('reachable');
  });

  it('reports a wrong token as an authentication failure without echoing the token', async () => {
    const { ws, dir } = await setup();
    const credentials = { username: 'forge-bot', password: 'wrong-tok-5d1e' };
    const err = await rejection(ws.checkout(checkoutReq(dir('1'), { credentials }), signal));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toMatch(/could not read Username|Authentication failed/); // git's words
    expect(err.message).toContain('token');
    expect(err.message).not.toContain('wrong-tok-5d1e');
    expect(err.message).not.toContain(Buffer.from('forge-bot:wrong-tok-5d1e').toString('base64'));
    expect(server.requests.some((r) => r.auth === 'wrong')).toBe(true);
  });

  it('says to configure a forge when the server wants credentials and none were given', async () => {
    const { ws, dir } = await setup();
    const err = await rejection(ws.checkout(checkoutReq(dir('1'), { credentials: null }), signal));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('forge.yaml');
    expect(server.requests.every((r) => r.auth === 'none')).toBe(true);
  });

  it('stops git when the checkout is aborted', async () => {
    const { ws, dir } = await setup();
    const abort = new AbortController();
    const poll = setInterval(() => server.requests.length > 0 && abort.abort(), 1);
    const err = await rejection(ws.checkout(checkoutReq(dir('1')), abort.signal)).finally(() =>
      clearInterval(poll),
    );
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('stopped');
    expect(await processesMentioning([tmp])).toEqual([]);
  });

  it('reports a repository that does not exist', async () => {
    const { ws, dir } = await setup();
    const err = await rejection(
      ws.checkout(checkoutReq(dir('1'), { url: server.url('nope') }), signal),
    );
    expect(err.code).toBe('invalid_request');
    expect(err.message).toMatch(/not found/);
    expect(err.message).toContain('repository URL');
  });
});

describe('commit and push', () => {
  it('pushes the committed work to the branch on the server and leaves the base untouched', async () => {
    const { ws, dir } = await setup();
    const { baseCommit } = await ws.checkout(checkoutReq(dir('1')), signal);
    expect(await ws.hasChanges(dir('1'), baseCommit)).toBe(false);
    expect(await ws.commitAll(dir('1'), 'nothing')).toBeNull();
    await writeFile(join(dir('1'), 'new.txt'), 'hello\n');
    expect(await ws.hasChanges(dir('1'), baseCommit)).toBe(true);
    const commit = (await ws.commitAll(
      dir('1'),
      'Add new.txt\n\nForge-Job: 01TEST\nForge-Attempt: 1\n',
    ))!;
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await ws.hasChanges(dir('1'), baseCommit)).toBe(true); // committed, ahead of base

    expect(
      await ws.push(
        dir('1'),
        {
          url: server.url('app'),
          branch: 'forge/job-1',
          credentials: server.credentials,
          expectedRemote: null,
        },
        signal,
      ),
    ).toBe(commit);
    expect(await server.git('app', ['rev-parse', 'refs/heads/forge/job-1'])).toBe(commit);
    expect(await server.git('app', ['show', `${commit}:new.txt`])).toBe('hello');
    expect(await server.git('app', ['log', '-1', '--format=%an <%ae>%n%B', commit])).toBe(
      'Forge Test <forge-test@example.com>\nAdd new.txt\n\nForge-Job: 01TEST\nForge-Attempt: 1',
    );
    expect(await server.git('app', ['rev-parse', 'refs/heads/main'])).toBe(head);
    const pushes = server.requests.filter((r) => r.service === 'git-receive-pack');
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes.every((r) => r.auth === 'ok')).toBe(true);
  });

  it('refuses to overwrite a branch someone else moved, and keeps the work in the mirror', async () => {
    const { ws, dir, mirrorsDir } = await setup();
    const push = (expectedRemote: string | null) =>
      ws.push(
        dir('1'),
        {
          url: server.url('app'),
          branch: 'forge/job-2',
          credentials: server.credentials,
          expectedRemote,
        },
        signal,
      );
    await ws.checkout(checkoutReq(dir('1'), { branch: 'forge/job-2' }), signal);
    await writeFile(join(dir('1'), 'first.txt'), '1\n');
    const first = (await ws.commitAll(dir('1'), 'first'))!;
    expect(await push(null)).toBe(first);
    expect(await push(first)).toBe(first); // same state again: nothing moved

    const theirs = await server.commit('app', 'forge/job-2', { 'theirs.txt': 'not Forge\n' });
    await writeFile(join(dir('1'), 'second.txt'), '2\n');
    const second = await ws.commitAll(dir('1'), 'second');
    const err = await rejection(push(first));
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('moved');
    expect(err.message).toContain('refs/forge/forge/job-2');
    expect(err.message).not.toContain(server.token);
    expect(await server.git('app', ['rev-parse', 'refs/heads/forge/job-2'])).toBe(theirs);
    expect(await sh(await mirrorOf(mirrorsDir), 'rev-parse', 'refs/forge/forge/job-2')).toBe(
      second,
    );

    // Forge believing the branch is new while it exists is the same conflict.
    expect((await rejection(push(null))).code).toBe('conflict');

    // Once someone deletes the moved branch (as the message suggests), Forge pushes its work again.
    await server.git('app', ['update-ref', '-d', 'refs/heads/forge/job-2']);
    expect(await push(first)).toBe(second);
    expect(await server.git('app', ['rev-parse', 'refs/heads/forge/job-2'])).toBe(second);
  });

  it('starts a later attempt from refs/forge/<branch>, the work kept at the last push even if it was refused', async () => {
    const { ws, dir } = await setup();
    await ws.checkout(checkoutReq(dir('1'), { branch: 'forge/job-4' }), signal);
    await server.git('app', ['branch', 'forge/job-4', 'main']); // someone took the branch name
    await server.commit('app', 'forge/job-4', { 'blocker.txt': 'b\n' });
    await writeFile(join(dir('1'), 'kept.txt'), 'kept\n');
    const kept = (await ws.commitAll(dir('1'), 'kept'))!;
    expect(
      (
        await rejection(
          ws.push(
            dir('1'),
            {
              url: server.url('app'),
              branch: 'forge/job-4',
              credentials: server.credentials,
              expectedRemote: null,
            },
            signal,
          ),
        )
      ).code,
    ).toBe('conflict');
    await ws.checkout(
      checkoutReq(dir('2'), { branch: 'forge/job-4', startFrom: 'refs/forge/forge/job-4' }),
      signal,
    );
    expect(await sh(dir('2'), 'rev-parse', 'HEAD')).toBe(kept);
    expect(await readFile(join(dir('2'), 'kept.txt'), 'utf8')).toBe('kept\n');
  });

  it('starts a later attempt from the commits kept in the mirror', async () => {
    const { ws, dir } = await setup();
    await ws.checkout(checkoutReq(dir('1'), { branch: 'forge/job-3' }), signal);
    await writeFile(join(dir('1'), 'kept.txt'), 'kept\n');
    const commit = await ws.commitAll(dir('1'), 'kept');
    // A push to a URL that refuses (wrong token) still keeps the commits under refs/forge/.
    const refused = await rejection(
      ws.push(
        dir('1'),
        {
          url: server.url('app'),
          branch: 'forge/job-3',
          credentials: { username: 'x', password: 'bad-pass-11' },
          expectedRemote: null,
        },
        signal,
      ),
    );
    expect(refused.message).not.toContain('bad-pass-11');
    const next = await ws.checkout(
      checkoutReq(dir('2'), { branch: 'forge/job-3', startFrom: commit }),
      signal,
    );
    expect(next.baseCommit).toBe(head);
    expect(await sh(dir('2'), 'rev-parse', 'HEAD')).toBe(commit);
    expect(await readFile(join(dir('2'), 'kept.txt'), 'utf8')).toBe('kept\n');
  });

  it('counts changed files, insertions and deletions exactly, and describes them before the commit', async () => {
    const { ws, dir } = await setup();
    const { baseCommit } = await ws.checkout(checkoutReq(dir('1')), signal);
    await writeFile(join(dir('1'), 'src/a.txt'), 'one\nTWO\nthree\n'); // +1 −1
    await writeFile(join(dir('1'), 'added.txt'), 'x\ny\n'); // +2
    await unlink(join(dir('1'), 'README.md')); // −1
    const described = await ws.describeChanges(dir('1'), baseCommit);
    expect(described).toContain('src/a.txt');
    expect(described).toContain('README.md');
    expect(described).toContain('added.txt (new file, not committed yet)');
    await ws.commitAll(dir('1'), 'changes');
    expect(await ws.diffStat(dir('1'), baseCommit)).toEqual({
      changed_files: 3,
      insertions: 3,
      deletions: 2,
    });
  });

  it('ignores hooks the agent planted in its workspace', async () => {
    const { ws, dir } = await setup();
    const { baseCommit } = await ws.checkout(checkoutReq(dir('1')), signal);
    const marker = join(tmp, 'hook-ran');
    await writeFile(
      join(dir('1'), '.git/hooks/pre-commit'),
      `#!/bin/sh\ntouch ${marker}\nexit 1\n`,
      { mode: 0o755 },
    );
    await writeFile(join(dir('1'), 'x.txt'), 'x\n');
    expect(await ws.commitAll(dir('1'), 'x')).not.toBeNull();
    expect(await ws.hasChanges(dir('1'), baseCommit)).toBe(true);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });
});

describe('an agent that rewrites its .git/config', () => {
  it('cannot make Forge run a filter, textconv or include of its choosing', async () => {
    const { ws, dir } = await setup();
    const { baseCommit } = await ws.checkout(checkoutReq(dir('1')), signal);
    const marker = join(tmp, 'filter-ran');
    const evil = `#!/bin/sh\ntouch ${marker}\ncat\n`;
    await writeFile(join(tmp, 'evil.sh'), evil, { mode: 0o755 });
    await sh(dir('1'), 'config', 'filter.evil.clean', join(tmp, 'evil.sh'));
    await sh(dir('1'), 'config', 'diff.evil.textconv', join(tmp, 'evil.sh'));
    await writeFile(join(dir('1'), '.gitattributes'), '* filter=evil diff=evil\n');
    await writeFile(join(dir('1'), 'y.txt'), 'y\n');
    expect(await ws.hasChanges(dir('1'), baseCommit)).toBe(true);
    await ws.describeChanges(dir('1'), baseCommit);
    expect(await ws.commitAll(dir('1'), 'y')).not.toBeNull();
    await ws.diffStat(dir('1'), baseCommit);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });
});
