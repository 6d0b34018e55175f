// Workspaces from a warm bare mirror per repository, and the commit and push after the agent.
//
// Checkout method (measured on a 20,000-file repository, see bench/workspace.ts): a clone with
// `--shared` borrows the mirror's objects through .git/objects/info/alternates, so making the
// clone costs the same for any repository size, and what remains is writing the files. It beats
// `--reference` (which still negotiates a fetch) and equals a hard-linked local clone, which we do
// not use: a hard link shares the inode, so an agent that chmods a pack file in its workspace could
// corrupt the mirror. `git worktree` would write the agent's commits into the mirror itself.
// Borrowing is safe for the life of an attempt: objects the mirror stops referencing (after a
// force-push upstream) are pruned only after gc.pruneExpire (two weeks).
//
// The workspace is written by the agent, so its .git/config and hooks are not trusted: commands
// run there disable hooks and fsmonitor, and nothing that holds credentials runs there. The push
// to the forge runs in the mirror, after the mirror fetched the workspace's HEAD.
import { randomBytes } from 'node:crypto';
import { access, copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ForgeError, isForgeError } from '../../domain/errors.ts';
import type { GitCredentials } from '../../ports/git-host.ts';
import type { Checkout, DiffStat, GitWorkspace } from '../../ports/git-workspace.ts';
import { createGitCli, type GitRun } from './git-cli.ts';
import { cleanUrl, mirrorName } from './repo-url.ts';
import {
  createWorkspacePool,
  type WorkspacePool,
  type WorkspacePoolOptions,
} from './workspace-pool.ts';

export interface GitWorkspaceOptions {
  mirrorsDir: string;
  /** Forge-private HOME for git (no user config, no credential helpers). */
  homeDir: string;
  /** Author and committer of Forge's commits (and the agent's, unless it sets its own). */
  identity?: { name: string; email: string };
  /** A fetch that finished less than this long ago is reused (one fetch per burst of jobs). */
  fetchCoalesceMs?: number;
  /** PATH for git; default /usr/local/bin:/usr/bin:/bin. */
  pathEnv?: string;
  /** Deadline of each git command (default 10 minutes). */
  timeoutMs?: number;
  /** Workspaces prepared ahead of jobs, per repository and base branch (see workspace-pool.ts). */
  pool?: Pick<WorkspacePoolOptions, 'root' | 'specs' | 'onWarning'>;
}

/** The git workspace, and its pool of prepared workspaces when one was asked for. */
export type PooledGitWorkspace = GitWorkspace & { pool: WorkspacePool | null };

const DEFAULT_IDENTITY = { name: 'Forge', email: 'forge@localhost' };
// Config that overrides whatever the agent wrote into its workspace's .git/config.
const UNTRUSTED_REPO = {
  'core.hooksPath': '/dev/null',
  'core.fsmonitor': 'false',
  'commit.gpgSign': 'false',
  'core.quotePath': 'false',
};
/** The most of git's output read to describe a change. */
const DESCRIBE_BYTES = 256 * 1024;
const DESCRIBE_MAX_LINES = 40;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** What the last fetch learned about the remote. */
interface Remote {
  defaultBranch: string | null;
}

interface MirrorState {
  inFlight: { promise: Promise<Remote>; controller: AbortController; waiters: number } | null;
  last: { at: number; remote: Remote } | null;
}

export function createGitWorkspace(opts: GitWorkspaceOptions): PooledGitWorkspace {
  const git = createGitCli({
    homeDir: opts.homeDir,
    ...(opts.pathEnv ? { pathEnv: opts.pathEnv } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const identity = opts.identity ?? DEFAULT_IDENTITY;
  const coalesceMs = opts.fetchCoalesceMs ?? 5_000;
  const mirrors = new Map<string, MirrorState>();
  const cloneArgs = [
    '--config',
    `user.name=${identity.name}`,
    '--config',
    `user.email=${identity.email}`,
  ];
  const pool = opts.pool
    ? createWorkspacePool({ ...opts.pool, git, clone: cloneFromMirror })
    : null;
  const inWorkspace = (dir: string, args: string[], run: Partial<GitRun> = {}) =>
    git(args, { ...run, cwd: dir, config: { ...UNTRUSTED_REPO, ...run.config } });
  // The agent can write its workspace's .git/config, and a filter, textconv or include defined there
  // would run in the orchestrator (outside the sandbox) when Forge commits. So Forge keeps the
  // config it wrote at checkout beside the workspace and puts it back before touching the
  // workspace again.
  const configCopy = (dir: string): string => `${dir}.forge-git-config`;
  const restoreConfig = async (dir: string): Promise<void> => {
    await copyFile(configCopy(dir), join(dir, '.git', 'config')).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      },
    );
  };

  async function ensureMirror(url: string): Promise<string> {
    const dir = join(opts.mirrorsDir, mirrorName(url));
    if (await exists(join(dir, 'HEAD'))) return dir;
    // Made aside and renamed into place, so a crash never leaves a half-made mirror behind.
    await mkdir(opts.mirrorsDir, { recursive: true });
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    await git(['init', '--quiet', '--bare', tmp], { cwd: opts.mirrorsDir });
    await git(['config', 'forge.url', cleanUrl(url)], { cwd: tmp }); // for people looking at the directory
    await rename(tmp, dir).catch(async (err: unknown) => {
      await rm(tmp, { recursive: true, force: true });
      if (!(await exists(join(dir, 'HEAD')))) throw err; // lost a race with another checkout: fine
    });
    return dir;
  }

  /** Fetches the mirror, sharing an in-flight or recent fetch; the fetch stops when every caller
   *  waiting for it has been aborted. */
  function refresh(
    mirror: string,
    url: string,
    credentials: GitCredentials | null,
    signal: AbortSignal,
  ): Promise<Remote> {
    let state = mirrors.get(mirror);
    if (!state) mirrors.set(mirror, (state = { inFlight: null, last: null }));
    if (state.last && Date.now() - state.last.at < coalesceMs)
      return Promise.resolve(state.last.remote);
    let shared = state.inFlight;
    if (!shared) {
      const s = state;
      const controller = new AbortController();
      const promise = fetchMirror(mirror, url, credentials, controller.signal)
        .then((remote) => ((s.last = { at: Date.now(), remote }), remote))
        .finally(() => (s.inFlight = null));
      shared = s.inFlight = { promise, controller, waiters: 0 };
    }
    return waitFor(shared, signal);
  }

  async function fetchMirror(
    mirror: string,
    url: string,
    credentials: GitCredentials | null,
    signal: AbortSignal,
  ): Promise<Remote> {
    const run = { cwd: mirror, signal, auth: { url, credentials } };
    // Into refs/remotes/origin/*, not --mirror: its prune would delete Forge's refs/forge/*.
    const fetching = git(
      [
        'fetch',
        '--quiet',
        '--prune',
        '--no-write-fetch-head',
        '--end-of-options',
        url,
        '+refs/heads/*:refs/remotes/origin/*',
        '+refs/tags/*:refs/tags/*',
      ],
      run,
    );
    // fetch (2.39) does not record the remote's HEAD; ask for it alongside, in parallel.
    const head = git(['ls-remote', '--symref', '--end-of-options', url, 'HEAD'], run);
    const [fetched, listed] = await Promise.allSettled([fetching, head]);
    for (const r of [fetched, listed])
      if (r.status === 'rejected')
        throw explain(r.reason, `could not fetch ${cleanUrl(url)}`, url, credentials);
    const symref =
      listed.status === 'fulfilled'
        ? /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(listed.value.stdout)
        : null;
    return { defaultBranch: symref?.[1] ?? null };
  }

  async function resolveCommit(mirror: string, rev: string): Promise<string | null> {
    const r = await git(
      ['rev-parse', '--quiet', '--verify', '--end-of-options', `${rev}^{commit}`],
      { cwd: mirror, okCodes: [1] },
    );
    return r.code === 0 ? r.stdout.trim() : null;
  }

  async function checkRef(name: string, what: string): Promise<void> {
    const r = name.startsWith('-')
      ? null
      : await git(['check-ref-format', `refs/heads/${name}`], { cwd: opts.homeDir, okCodes: [1] });
    if (r?.code !== 0)
      throw new ForgeError('invalid_request', `${what} "${name}" is not a valid git branch name`);
  }

  async function baseOf(
    mirror: string,
    url: string,
    asked: string | null,
    remote: Remote,
  ): Promise<{ baseBranch: string; baseCommit: string }> {
    const baseBranch = asked ?? remote.defaultBranch;
    if (!baseBranch)
      throw new ForgeError(
        'invalid_request',
        `could not tell the default branch of ${cleanUrl(url)} (it may be empty); set base_branch`,
      );
    const baseCommit = await resolveCommit(mirror, `refs/remotes/origin/${baseBranch}`);
    if (baseCommit) return { baseBranch, baseCommit };
    const branches = await git(
      ['for-each-ref', '--count=10', '--format=%(refname:lstrip=3)', 'refs/remotes/origin/'],
      { cwd: mirror },
    );
    const known = branches.stdout.trim().split('\n').filter(Boolean).join(', ') || 'none';
    throw new ForgeError(
      'invalid_request',
      `base branch "${baseBranch}" does not exist in ${cleanUrl(url)} (branches there: ${known}); check base_branch`,
    );
  }

  /** A fresh clone of the mirror, set up as the agent would expect a clone of the forge, without
   *  its files (a pooled workspace is made by this too, so the two paths cannot drift apart). */
  async function cloneFromMirror(
    mirror: string,
    url: string,
    baseBranch: string,
    baseCommit: string,
    dir: string,
    signal: AbortSignal,
  ): Promise<void> {
    await git(
      [
        'clone',
        '--quiet',
        '--shared',
        '--no-checkout',
        ...cloneArgs,
        '--end-of-options',
        mirror,
        dir,
      ],
      { cwd: dirname(dir), signal },
    );
    await inWorkspace(dir, ['remote', 'set-url', 'origin', cleanUrl(url)], { signal });
    // origin/<base> as the agent would expect it in a fresh clone (the clone from the mirror has none).
    await inWorkspace(dir, ['update-ref', `refs/remotes/origin/${baseBranch}`, baseCommit], {
      signal,
    });
  }

  /** The job's branch in a pooled workspace, whose files and index are already the base's: what
   *  `checkout -b` would do there (same refs, same reflogs), without its pass over every file
   *  (135 ms for 20,000 files against 4 ms). False, with the directory removed, if that failed:
   *  the caller clones afresh. */
  async function branchOff(
    dir: string,
    branch: string,
    start: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    try {
      const head = /^ref: refs\/heads\/(\S+)\n?$/.exec(
        await readFile(join(dir, '.git', 'HEAD'), 'utf8'),
      );
      if (!head) throw new Error('its HEAD is not an unborn branch');
      const ref = `refs/heads/${branch}`;
      await inWorkspace(
        dir,
        ['update-ref', '--create-reflog', '-m', `branch: Created from ${start}`, ref, start, ''],
        { signal },
      );
      await inWorkspace(
        dir,
        ['symbolic-ref', '-m', `checkout: moving from ${head[1]} to ${branch}`, 'HEAD', ref],
        { signal },
      );
      return true;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      if (signal.aborted) throw err;
      opts.pool?.onWarning?.(
        `a pooled workspace could not be used (${err instanceof Error ? err.message : String(err)}); the job clones afresh`,
      );
      return false;
    }
  }

  return {
    pool,

    async checkout(req, signal): Promise<Checkout> {
      await checkRef(req.branch, 'branch');
      if (req.baseBranch !== null) await checkRef(req.baseBranch, 'base branch');
      if (req.startFrom && !SHA.test(req.startFrom) && !req.startFrom.startsWith('refs/forge/')) {
        throw new ForgeError(
          'invalid_request',
          `startFrom "${req.startFrom}" is neither a full commit id nor a ref Forge keeps (refs/forge/…)`,
        );
      }
      const mirror = await ensureMirror(req.url);
      const remote = await refresh(mirror, req.url, req.credentials, signal);
      const { baseBranch, baseCommit } = await baseOf(mirror, req.url, req.baseBranch, remote);
      const start = req.startFrom ? await resolveCommit(mirror, req.startFrom) : baseCommit;
      if (!start)
        throw new ForgeError(
          'invalid_request',
          `commit ${req.startFrom} to continue from is not in Forge's mirror of ${cleanUrl(req.url)}; retry fresh from the base`,
        );
      await mkdir(dirname(req.dir), { recursive: true });
      const claim = { url: req.url, mirror, baseBranch, baseCommit, dir: req.dir };
      const pooled =
        pool && start === baseCommit
          ? await pool.claim({ ...claim, defaultBranch: remote.defaultBranch })
          : false;
      try {
        if (!(pooled && (await branchOff(req.dir, req.branch, start, signal)))) {
          await cloneFromMirror(mirror, req.url, baseBranch, baseCommit, req.dir, signal);
          await inWorkspace(req.dir, ['checkout', '--quiet', '-b', req.branch, start], { signal });
        }
        await copyFile(join(req.dir, '.git', 'config'), configCopy(req.dir));
      } catch (err) {
        await rm(req.dir, { recursive: true, force: true });
        throw err;
      }
      return { baseBranch, baseCommit };
    },

    async hasChanges(dir, baseCommit) {
      await restoreConfig(dir);
      // Whether there is anything, not what: the first entry is enough.
      const status = await inWorkspace(dir, ['status', '--porcelain', '--untracked-files=all'], {
        keepStdout: 4096,
      });
      if (status.stdout.trim() !== '') return true;
      const ahead = await inWorkspace(dir, ['rev-list', '--count', `${baseCommit}..HEAD`]);
      return Number(ahead.stdout.trim()) > 0;
    },

    async commitAll(dir, message) {
      await restoreConfig(dir);
      await inWorkspace(dir, ['add', '--all']);
      const staged = await inWorkspace(dir, ['diff', '--cached', '--quiet'], { okCodes: [1] });
      if (staged.code === 0) return null;
      // Forge's identity even if the agent changed the workspace's; the message on stdin (any size).
      const config = { 'user.name': identity.name, 'user.email': identity.email };
      await inWorkspace(
        dir,
        ['commit', '--quiet', '--no-verify', '--cleanup=whitespace', '--file=-'],
        { stdin: message, config },
      );
      return (await inWorkspace(dir, ['rev-parse', 'HEAD'])).stdout.trim();
    },

    async push(dir, req, signal) {
      await checkRef(req.branch, 'branch');
      if (req.expectedRemote !== null && !SHA.test(req.expectedRemote))
        throw new ForgeError(
          'invalid_request',
          `expectedRemote "${req.expectedRemote}" is not a full commit id`,
        );
      const mirror = await ensureMirror(req.url);
      const kept = `refs/forge/${req.branch}`;
      // The mirror pulls from the workspace (rather than the workspace pushing): no git command
      // reads the agent's config for this, and the commits are kept even if the forge refuses them.
      await git(
        [
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
          '--end-of-options',
          dir,
          `+HEAD:${kept}`,
        ],
        { cwd: mirror, signal },
      );
      const commit = (await git(['rev-parse', '--verify', kept], { cwd: mirror })).stdout.trim();
      const lease = `--force-with-lease=refs/heads/${req.branch}:${req.expectedRemote ?? ''}`;
      const auth = { url: req.url, credentials: req.credentials };
      try {
        await git(
          [
            'push',
            '--quiet',
            lease,
            '--end-of-options',
            req.url,
            `${commit}:refs/heads/${req.branch}`,
          ],
          { cwd: mirror, signal, auth, config: { 'core.hooksPath': '/dev/null' } },
        );
        return commit;
      } catch (err) {
        if (!(
          isForgeError(err) && /\((stale info|fetch first|non-fast-forward)\)/.test(err.message)
        ))
          throw explain(
            err,
            `could not push ${req.branch} to ${cleanUrl(req.url)}`,
            req.url,
            req.credentials,
          );
        const listed = await git(
          ['ls-remote', '--end-of-options', req.url, `refs/heads/${req.branch}`],
          { cwd: mirror, signal, auth },
        );
        const now = listed.stdout.split('\t')[0]?.trim() || null;
        if (now === commit) return commit; // an earlier push of ours went through after all
        if (now === null) {
          // Someone deleted the branch (e.g. after a conflict, as Forge's message suggests): there is
          // no work to overwrite, so Forge creates it again.
          await git(
            [
              'push',
              '--quiet',
              `--force-with-lease=refs/heads/${req.branch}:`,
              '--end-of-options',
              req.url,
              `${commit}:refs/heads/${req.branch}`,
            ],
            { cwd: mirror, signal, auth, config: { 'core.hooksPath': '/dev/null' } },
          );
          return commit;
        }
        const expected = req.expectedRemote
          ? `at ${req.expectedRemote.slice(0, 12)}`
          : 'not to exist';
        throw new ForgeError(
          'conflict',
          `branch ${req.branch} on ${cleanUrl(req.url)} moved: Forge expected it ${expected} but it is ${now ? `at ${now.slice(0, 12)}` : 'gone'}, so someone else pushed to it. Forge keeps its work as ${kept} (${commit.slice(0, 12)}) in its mirror; look at the branch, then delete or rename it and retry the job`,
          { cause: err },
        );
      }
    },

    async diffStat(dir, baseCommit): Promise<DiffStat> {
      await restoreConfig(dir);
      const out = (await inWorkspace(dir, ['diff', '--shortstat', `${baseCommit}...HEAD`])).stdout;
      const count = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
      return {
        changed_files: count(/(\d+) files? changed/),
        insertions: count(/(\d+) insertions?\(\+\)/),
        deletions: count(/(\d+) deletions?\(-\)/),
      };
    },

    async describeChanges(dir, baseCommit) {
      await restoreConfig(dir);
      // A description for people: the start of a long list is enough (capped again below).
      const listed = await inWorkspace(dir, ['diff', '--stat=100', baseCommit, '--'], {
        keepStdout: DESCRIBE_BYTES,
      });
      const stat = listed.stdout.trimEnd().split('\n').filter(Boolean);
      // git prints the summary last; a cut output has none.
      const summary = stat.length > 0 && !listed.truncated ? stat.pop()! : null;
      const untracked = (
        await inWorkspace(dir, ['ls-files', '--others', '--exclude-standard'], {
          keepStdout: DESCRIBE_BYTES,
        })
      ).stdout
        .split('\n')
        .filter(Boolean);
      const lines = [...stat, ...untracked.map((f) => ` ${f} (new file, not committed yet)`)];
      const shown =
        lines.length > DESCRIBE_MAX_LINES
          ? [
              ...lines.slice(0, DESCRIBE_MAX_LINES - 1),
              ` … and ${lines.length - DESCRIBE_MAX_LINES + 1} more files`,
            ]
          : lines;
      if (summary) shown.push(summary);
      return shown.join('\n') || 'no changes';
    },
  };
}

/** Waits for a shared fetch on behalf of one caller; the last caller to give up stops it. */
function waitFor(
  shared: NonNullable<MirrorState['inFlight']>,
  signal: AbortSignal,
): Promise<Remote> {
  shared.waiters++;
  return new Promise((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      signal.removeEventListener('abort', onAbort);
      return --shared.waiters === 0;
    };
    const onAbort = () => {
      if (leave()) shared.controller.abort();
      reject(
        new ForgeError('unavailable', 'fetching the repository was stopped before it finished'),
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    shared.promise.then(
      (r) => (leave(), resolve(r)),
      (e: unknown) => (leave(), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/** Adds what to check to a git failure against the forge. */
function explain(
  err: unknown,
  what: string,
  url: string,
  credentials: GitCredentials | null,
): unknown {
  if (!isForgeError(err)) return err;
  const said = err.message;
  let hint = `check that ${hostOf(url)} is reachable from Forge; the job may be retried`;
  let code = err.code === 'internal' ? 'unavailable' : err.code;
  if (
    /could not read (Username|Password)|Authentication failed|returned error: 40[13]/i.test(said)
  ) {
    hint = credentials
      ? "authentication failed: check the forge's token and that it may read (and push to) this repository"
      : 'the server asks for credentials and none were given: configure a forge for this repository (forges: and repos: in forge.yaml)';
    code = 'invalid_request';
  } else if (/returned error: 404|not found|does not appear to be a git repository/i.test(said)) {
    hint = 'check the repository URL (and that the token can see the repository)';
  }
  return new ForgeError(code, `${what}: ${said}; ${hint}`, { cause: err });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return cleanUrl(url);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
