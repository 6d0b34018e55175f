// The workspace pool against a real git smart-HTTP server: claimed workspaces are the same
// repository a fresh clone gives, and an agent changing everything in its own workspace changes
// nothing in the pool, the mirror or another job's workspace.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGitServer, type GitServer } from '../../../test/support/git-http-server.ts';
import { createGitWorkspace, type PooledGitWorkspace } from './git-workspace.ts';
import { poolChecks, readyOnDisk } from './workspace-pool.ts';

const FILES = { 'README.md': '# pooled\n', 'src/a.txt': 'one\n' };
const signal = new AbortController().signal;

let server: GitServer;
let url: string;
let tmp: string;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startGitServer();
  await server.createRepo('app', { files: FILES, commits: 2 });
  url = server.url('app');
  tmp = await mkdtemp(join(tmpdir(), 'forge-pool-'));
});

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

let made = 0;
/** A git workspace with a pool of `size` for the app repository (none when size is 0), started. */
async function setup(size: number) {
  const root = join(tmp, `forge-${made++}`);
  const warnings: string[] = [];
  const git: PooledGitWorkspace = createGitWorkspace({
    mirrorsDir: join(root, 'mirrors'),
    homeDir: join(root, 'home'),
    pathEnv: process.env.PATH ?? '',
    fetchCoalesceMs: 0,
    ...(size > 0
      ? {
          pool: {
            root: join(root, 'pool'),
            specs: [{ repo: 'app', url, baseBranch: 'main', size }],
            onWarning: (msg) => warnings.push(msg),
          },
        }
      : {}),
  });
  await git.pool?.start();
  if (git.pool) stops.push(() => git.pool!.stop());
  let job = 0;
  const checkout = async (over: { startFrom?: string } = {}) => {
    const dir = join(root, 'jobs', `job-${++job}`, 'workspace');
    const branch = `forge/job-${job}`;
    const c = await git.checkout(
      { url, baseBranch: 'main', branch, dir, credentials: server.credentials, ...over },
      signal,
    );
    return { dir, branch, ...c };
  };
  return { git, pool: git.pool!, root, poolRoot: join(root, 'pool'), checkout, warnings };
}

function sh(cwd: string, cmd: string, args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH ?? '', HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim()),
    );
  });
}
const git = (cwd: string, ...args: string[]) => sh(cwd, 'git', args);

/** Every file under `dir` (the .git directory too) by path: its mode and content's hash, or a
 *  link's target. What "changed nothing" is asserted against. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (at: string): Promise<void> => {
    for (const name of await readdir(at)) {
      const path = join(at, name);
      const st = await lstat(path);
      const key = relative(dir, path);
      if (st.isDirectory()) {
        out[key] = `dir ${st.mode.toString(8)}`;
        await walk(path);
      } else if (st.isSymbolicLink()) out[key] = `link ${await readlink(path)}`;
      else {
        const hash = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
        out[key] = `${st.mode.toString(8)} ${hash}`;
      }
    }
  };
  await walk(dir);
  return out;
}

/** The ready workspaces in the pool (not those being made). */
async function pooledDirs(pool: string): Promise<string[]> {
  const found: string[] = [];
  for (const repo of await readdir(pool))
    for (const branch of await readdir(join(pool, repo)))
      for (const name of await readdir(join(pool, repo, branch)))
        if (name.startsWith('ready-')) found.push(join(pool, repo, branch, name));
  return found.sort();
}

/** What an agent sees of its repository, and what finalize reads back. */
async function describeRepo(dir: string) {
  return {
    head: await git(dir, 'rev-parse', 'HEAD'),
    branch: await git(dir, 'symbolic-ref', 'HEAD'),
    status: await git(dir, 'status', '--porcelain', '--untracked-files=all'),
    refs: await git(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    config: await git(dir, 'config', '--local', '--list'),
    remotes: await git(dir, 'remote', '-v'),
    files: await git(dir, 'ls-files', '-s'),
    reflog: (await git(dir, 'reflog', '--format=%gs')).split('\n'),
    branchReflog: await git(
      dir,
      'reflog',
      'show',
      '--format=%gs %H',
      await git(dir, 'symbolic-ref', 'HEAD'),
    ),
    hooks: (await readdir(join(dir, '.git', 'hooks'))).sort(),
    gitFiles: Object.keys(await snapshot(join(dir, '.git'))).sort(),
  };
}

async function mirrorDir(root: string): Promise<string> {
  const [name] = await readdir(join(root, 'mirrors'));
  return join(root, 'mirrors', name!);
}

describe('workspace pool', () => {
  it('an empty pool falls back to a fresh clone, then fills; the next job claims a pooled workspace', async () => {
    const f = await setup(2);
    const first = await f.checkout();
    // (The pool may have made one already, in the background, while this job cloned.)
    expect(f.pool.status()).toMatchObject([
      { repo: 'app', baseBranch: 'main', wanted: 2, hits: 0, misses: 1 },
    ]);
    expect(await readFile(join(first.dir, 'src/a.txt'), 'utf8')).toBe('one\n');
    await f.pool.idle();
    expect(f.pool.status()[0]).toMatchObject({ ready: 2 });
    expect(await readyOnDisk(f.poolRoot, url, 'main')).toBe(2);
    expect(await readyOnDisk(f.poolRoot, url, null)).toBe(2);
    const specs = [{ repo: 'app', url, baseBranch: 'main', size: 2 }];
    expect(await poolChecks(f.poolRoot, specs)).toEqual([
      {
        name: 'workspace_pool app',
        ok: true,
        level: 'ok',
        detail: '2 wanted, 2 ready at the head of main',
      },
    ]);
    const before = await pooledDirs(f.poolRoot);

    const second = await f.checkout();
    expect(f.pool.status()[0]).toMatchObject({ hits: 1, misses: 1 });
    // The claimed workspace left the pool, whole; the other stayed.
    const after = await pooledDirs(f.poolRoot);
    const claimed = before.filter((d) => !after.includes(d));
    expect(claimed).toHaveLength(1);
    expect(await git(second.dir, 'symbolic-ref', '--short', 'HEAD')).toBe(second.branch);
    await f.pool.idle();
    expect(f.pool.status()[0]).toMatchObject({ ready: 2 });
    // Never reused: the workspace a job had is not among those waiting.
    expect(await pooledDirs(f.poolRoot)).not.toContain(claimed[0]);
    expect(f.warnings).toEqual([]);
  });

  it('a pooled workspace is the same repository a fresh clone gives (HEAD, branch, status, refs, remote, config)', async () => {
    const cold = await setup(0);
    const pooled = await setup(1);
    await pooled.checkout(); // fills the pool
    await pooled.pool.idle();
    await cold.checkout(); // so both jobs are job-2
    const a = await cold.checkout();
    const b = await pooled.checkout();
    expect(pooled.pool.status()[0]).toMatchObject({ hits: 1 });
    expect(b.baseCommit).toBe(a.baseCommit);
    const [coldRepo, pooledRepo] = [await describeRepo(a.dir), await describeRepo(b.dir)];
    // The mirrors differ in path only.
    const alternates = (dir: string) => readFile(join(dir, '.git/objects/info/alternates'), 'utf8');
    expect(await alternates(a.dir)).toBe(`${await mirrorDir(cold.root)}/objects\n`);
    expect(await alternates(b.dir)).toBe(`${await mirrorDir(pooled.root)}/objects\n`);
    expect(pooledRepo).toEqual(coldRepo);
    expect(pooledRepo.status).toBe('');
    expect(pooledRepo.remotes).toContain(`origin\t${url} (fetch)`);
    expect(pooledRepo.refs).toContain(`refs/remotes/origin/main ${a.baseCommit}`);
    // Forge's copy of the config (restored before finalize reads the workspace) is there too.
    expect(await readFile(`${b.dir}.forge-git-config`, 'utf8')).toBe(
      await readFile(join(b.dir, '.git/config'), 'utf8'),
    );
    // And finalize sees the agent's work the same way.
    await writeFile(join(b.dir, 'src/a.txt'), 'changed\n');
    expect(await pooled.git.hasChanges(b.dir, b.baseCommit)).toBe(true);
    expect(await pooled.git.commitAll(b.dir, 'work')).toMatch(/^[0-9a-f]{40}$/);
    expect(await pooled.git.diffStat(b.dir, b.baseCommit)).toEqual({
      changed_files: 1,
      insertions: 1,
      deletions: 1,
    });
  });

  it('an agent changing files, config, hooks, refs and objects in its workspace changes nothing in the pool, the mirror or another job', async () => {
    const f = await setup(2);
    await f.checkout();
    await f.pool.idle();
    const other = await f.checkout(); // another job's workspace, from the pool
    const mine = await f.checkout(); // the agent's, from the pool
    expect(f.pool.status()[0]).toMatchObject({ hits: 2 });
    await f.pool.idle();
    const pooled = await pooledDirs(f.poolRoot);
    expect(pooled).toHaveLength(2);
    const mirror = await mirrorDir(f.root);
    const watched = [...pooled, mirror, other.dir];
    const before = await Promise.all(watched.map((d) => snapshot(d)));

    // The agent: a script doing everything a hostile or careless agent could in its workspace.
    const agent = [
      'set -e',
      'echo overwritten > src/a.txt && echo new > new.txt && rm README.md',
      'printf "[core]\\n\\thooksPath = /tmp/evil\\n[alias]\\n\\tst = !touch /tmp/pwned\\n" >> .git/config',
      'printf "#!/bin/sh\\necho hook\\n" > .git/hooks/post-commit && chmod +x .git/hooks/post-commit',
      'echo "# changed" >> .git/hooks/pre-commit.sample',
      'git add -A && git -c user.name=a -c user.email=a@b commit -q -m agent',
      'git update-ref refs/remotes/origin/main HEAD && git tag -f v-agent HEAD',
      'git branch -f main HEAD',
      'echo blob | git hash-object -w --stdin > /dev/null',
      // Every object file it has, written to (a hard-linked clone would write the mirror's).
      'find .git/objects -path .git/objects/info -prune -o -type f -print | while read -r f; do chmod u+w "$f"; printf x >> "$f"; done',
      '(git gc --quiet --prune=now && git repack -a -d -q) 2>/dev/null || true',
      'chmod -R a-w .git/objects/pack',
      'echo "ref: refs/heads/elsewhere" > .git/HEAD',
    ].join('\n');
    await sh(mine.dir, 'bash', ['-c', agent]);
    await sh(mine.dir, 'chmod', ['-R', 'u+w', '.git']); // so the test can clean up

    const after = await Promise.all(watched.map((d) => snapshot(d)));
    for (const [i, dir] of watched.entries()) expect(after[i], `${dir} changed`).toEqual(before[i]);
    // And they still work as they did: the other job's workspace is clean on its branch.
    expect(await git(other.dir, 'status', '--porcelain')).toBe('');
    expect(await git(other.dir, 'rev-parse', 'HEAD')).toBe(other.baseCommit);
    // The pool was not touched either: the next job gets the base, clean.
    const next = await f.checkout();
    expect(f.pool.status()[0]).toMatchObject({ hits: 3 });
    expect(await git(next.dir, 'rev-parse', 'HEAD')).toBe(next.baseCommit);
    expect(await git(next.dir, 'status', '--porcelain')).toBe('');
    expect(await readFile(join(next.dir, 'src/a.txt'), 'utf8')).toBe('one\n');
    expect(await readdir(join(next.dir, '.git/hooks'))).not.toContain('post-commit');
  });

  it('when the base branch moves, the job clones afresh at the new base and the pool is brought forward', async () => {
    const f = await setup(2);
    await f.checkout();
    await f.pool.idle();
    const moved = await server.commit('app', 'main', { 'src/a.txt': 'two\n', 'src/b.txt': 'b\n' });
    const job = await f.checkout();
    expect(job.baseCommit).toBe(moved);
    expect(f.pool.status()[0]).toMatchObject({ hits: 0, misses: 2 });
    expect(await git(job.dir, 'rev-parse', 'HEAD')).toBe(moved);
    await f.pool.idle();
    expect(f.pool.status()[0]).toMatchObject({ ready: 2 });
    for (const dir of await pooledDirs(f.poolRoot)) {
      expect(await git(dir, 'rev-parse', 'refs/remotes/origin/main')).toBe(moved);
      // Files and index are the new base's (HEAD stays unborn until a job makes its branch).
      expect(await git(dir, 'diff', '--cached', '--name-only', moved)).toBe('');
      expect(await git(dir, 'status', '--porcelain', '--untracked-files=all')).not.toMatch(
        /^.[^ ]/m,
      );
      expect(await readFile(join(dir, 'src/b.txt'), 'utf8')).toBe('b\n');
    }
    const next = await f.checkout();
    expect(f.pool.status()[0]).toMatchObject({ hits: 1 });
    expect(await git(next.dir, 'rev-parse', 'HEAD')).toBe(moved);
    expect(await readFile(join(next.dir, 'src/a.txt'), 'utf8')).toBe('two\n');
    expect(await git(next.dir, 'status', '--porcelain')).toBe('');
  });

  it('a job continuing earlier work, or finding its pooled workspace gone, clones afresh', async () => {
    const f = await setup(1);
    const first = await f.checkout();
    await f.pool.idle();
    // Continuing from a commit other than the base: not from the pool.
    await writeFile(join(first.dir, 'x.txt'), 'x\n');
    const work = (await f.git.commitAll(first.dir, 'work'))!;
    await f.git.push(
      first.dir,
      { url, branch: first.branch, credentials: server.credentials, expectedRemote: null },
      signal,
    );
    const cont = await f.checkout({ startFrom: work });
    expect(await git(cont.dir, 'rev-parse', 'HEAD')).toBe(work);
    expect(f.pool.status()[0]).toMatchObject({ ready: 1, hits: 0 });
    // Removed behind Forge's back: the claim fails over to a fresh clone.
    for (const dir of await pooledDirs(f.poolRoot)) await rm(dir, { recursive: true });
    const job = await f.checkout();
    expect(f.pool.status()[0]).toMatchObject({ hits: 0, misses: 2 });
    expect(await git(job.dir, 'status', '--porcelain')).toBe('');
    expect(await git(job.dir, 'rev-parse', 'HEAD')).toBe(job.baseCommit);
  });

  it('stop removes every pooled workspace; start sets aside what an earlier run left', async () => {
    const f = await setup(1);
    await f.checkout();
    await f.pool.idle();
    expect(await pooledDirs(f.poolRoot)).toHaveLength(1);
    await f.pool.stop();
    await expect(readdir(f.poolRoot)).rejects.toThrow(/ENOENT/);

    // A crash left a "ready" workspace someone may have changed since.
    const left = join(f.poolRoot, 'x.git', 'main-0', 'ready-left');
    await mkdir(left, { recursive: true });
    await f.pool.start();
    await f.pool.idle();
    expect(await readdir(f.poolRoot)).toEqual([]);
    expect((await readdir(f.root)).filter((n) => n.startsWith('pool'))).toEqual(['pool']);
  });
});
