// Workspaces prepared ahead of the jobs that will use them: per repository and base branch, a
// few checkouts at the base commit, each claimed whole by one job.
//
// Why: writing a repository's files is most of a workspace's cost (`git checkout` alone is ~0.5×
// a plain clone of 20,000 files), and nothing that writes the tree while the job waits can be
// much cheaper. A pooled workspace was written before the job came; the job renames it into its
// attempt directory (same filesystem: one metadata operation) and creates its branch, which
// writes no file because the index already matches the commit.
//
// Isolation is the cold path's: each pooled workspace is its own `clone --shared` of the mirror
// (its own .git: config, hooks, refs, index; it only reads the mirror's objects through
// alternates). Hard links (local clones, `cp -al`) would share inodes with the mirror and
// `git worktree` would share refs and hooks, both writable by an agent. A pooled workspace is
// never reused: the job that claims one keeps it, and the pool makes another.
//
// A pooled workspace is made by the cold path's own clone and left as that leaves it before its
// checkout (HEAD on the unborn default branch), with the files and index of the base commit
// already written; the claim then creates the branch and points HEAD at it with the refs and
// reflogs `checkout -b` writes, so the result is the same repository.
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DoctorCheck } from '../../ports/doctor-check.ts';
import type { Git } from './git-cli.ts';
import { cleanUrl, mirrorName } from './repo-url.ts';

/** One configured pool: `size` workspaces of `url` at the head of `baseBranch`. */
export interface PoolSpec {
  /** The name under `repos:` (a metrics label and a doctor line). */
  repo: string;
  url: string;
  /** null: the remote's default branch, known after the first fetch. */
  baseBranch: string | null;
  size: number;
}

export interface PoolStatus {
  repo: string;
  /** The base branch the pool follows (null until the default branch is known). */
  baseBranch: string | null;
  wanted: number;
  /** Workspaces at the latest known base commit, claimable now. */
  ready: number;
  /** Checkouts served from the pool, and those that fell back to a fresh clone. */
  hits: number;
  misses: number;
}

/** Where the mirror's checkout is and what it should hold. */
export interface ClaimRequest {
  url: string;
  mirror: string;
  baseBranch: string;
  /** The remote's default branch, for pools configured without a base branch. */
  defaultBranch: string | null;
  baseCommit: string;
  /** Where the workspace must end up (must not exist). */
  dir: string;
}

export interface WorkspacePool {
  /** Moves a ready workspace at `baseCommit` to `req.dir` and returns true; false when this
   *  repository has no pool or none is ready at that commit (the caller clones afresh). Either
   *  way the pool is topped up, and refreshed to `baseCommit`, in the background. */
  claim(req: ClaimRequest): Promise<boolean>;
  /** Clears what an earlier run of Forge left (it may have been touched while Forge was down). */
  start(): Promise<void>;
  /** Stops filling and removes every pooled workspace. */
  stop(): Promise<void>;
  status(): PoolStatus[];
  /** Resolves once no workspace is being made, brought forward or removed (tests, benchmarks). */
  idle(): Promise<void>;
}

export interface WorkspacePoolOptions {
  /** On the same filesystem as the attempts' directories (a claim is a rename). */
  root: string;
  specs: PoolSpec[];
  git: Git;
  /** The cold path's clone of the mirror (origin's URL and origin/<base> set, no files written). */
  clone: (
    mirror: string,
    url: string,
    baseBranch: string,
    baseCommit: string,
    dir: string,
    signal: AbortSignal,
  ) => Promise<void>;
  onWarning?: (msg: string) => void;
}

interface Entry {
  dir: string;
  commit: string;
}

interface Pool {
  spec: PoolSpec;
  baseBranch: string | null;
  mirror: string | null;
  /** The base commit the pool's workspaces should be at: the latest a checkout saw. */
  target: string | null;
  ready: Entry[];
  /** Made at an older base commit: brought forward (or discarded) before new ones are made. */
  stale: Entry[];
  hits: number;
  misses: number;
  filling: Promise<void> | null;
  again: boolean;
}

export function createWorkspacePool(opts: WorkspacePoolOptions): WorkspacePool {
  const pools: Pool[] = opts.specs
    .filter((spec) => spec.size > 0)
    .map((spec) => ({
      spec,
      baseBranch: spec.baseBranch,
      mirror: null,
      target: null,
      ready: [],
      stale: [],
      hits: 0,
      misses: 0,
      filling: null,
      again: false,
    }));
  let stopping = new AbortController();
  const signal = () => stopping.signal;
  const warn = (msg: string) => opts.onWarning?.(msg);
  const run = (dir: string, args: string[]) =>
    opts.git(args, {
      cwd: dir,
      signal: signal(),
      // Forge made these repositories and no agent has had them yet, but the same guard costs nothing.
      config: { 'core.hooksPath': '/dev/null', 'core.fsmonitor': 'false' },
    });
  const removing = new Set<Promise<void>>();
  const discard = (dir: string) => {
    const removal = rm(dir, { recursive: true, force: true })
      .catch((err: unknown) =>
        warn(`could not remove the pooled workspace ${dir} (${String(err)}); remove it by hand`),
      )
      .finally(() => removing.delete(removal));
    removing.add(removal);
  };

  const find = (req: ClaimRequest): Pool | undefined =>
    pools.find(
      (p) =>
        cleanUrl(p.spec.url) === cleanUrl(req.url) &&
        (p.spec.baseBranch ?? req.defaultBranch) === req.baseBranch,
    );

  const dirOf = (pool: Pool): string =>
    join(opts.root, mirrorName(pool.spec.url), branchDir(pool.baseBranch ?? ''));

  /** A new workspace at `commit`: made aside, renamed in when complete. */
  async function make(pool: Pool, commit: string): Promise<Entry> {
    const parent = dirOf(pool);
    await mkdir(parent, { recursive: true });
    const id = randomBytes(6).toString('hex');
    const tmp = join(parent, `tmp-${id}`);
    try {
      await opts.clone(pool.mirror!, pool.spec.url, pool.baseBranch!, commit, tmp, signal());
      await writeTree(tmp, null, commit);
      const dir = join(parent, `ready-${id}`);
      await rename(tmp, dir);
      return { dir, commit };
    } catch (err) {
      discard(tmp);
      throw err;
    }
  }

  /** Writes `commit`'s files and index (only those that differ from `from`'s). */
  async function writeTree(dir: string, from: string | null, commit: string) {
    await run(dir, ['read-tree', '-u', ...(from ? ['-m', from] : ['--reset']), commit]);
    // The index's stat data made fresh now, so the claim's checkout and the agent's first
    // `git status` compare timestamps instead of hashing files.
    await run(dir, ['update-index', '-q', '--refresh']);
  }

  /** A workspace made at an older base commit, moved to `commit` as a fresh one would be. */
  async function bringForward(pool: Pool, old: Entry, commit: string): Promise<Entry> {
    await run(old.dir, ['update-ref', `refs/remotes/origin/${pool.baseBranch}`, commit]);
    await writeTree(old.dir, old.commit, commit);
    return { dir: old.dir, commit };
  }

  /** Brings the pool to `size` workspaces at `target`, one git command at a time (it shares the
   *  machine with running agents). Stops at the first failure: the next claim tries again. */
  async function fill(pool: Pool): Promise<void> {
    while (!signal().aborted && pool.target && pool.mirror) {
      const target = pool.target;
      pool.stale.push(...pool.ready.filter((e) => e.commit !== target));
      pool.ready = pool.ready.filter((e) => e.commit === target);
      const old = pool.stale.pop();
      if (pool.ready.length >= pool.spec.size) {
        if (old) discard(old.dir);
        if (pool.stale.length === 0) return;
        continue;
      }
      try {
        const entry = old ? await bringForward(pool, old, target) : await make(pool, target);
        if (signal().aborted) discard(entry.dir);
        else pool.ready.push(entry);
      } catch (err) {
        if (old) discard(old.dir);
        if (!signal().aborted)
          warn(
            `could not prepare a pooled workspace of ${pool.spec.repo} (${err instanceof Error ? err.message : String(err)}); jobs clone afresh until it works (check the disk under ${opts.root})`,
          );
        return;
      }
    }
  }

  function topUp(pool: Pool): void {
    if (pool.filling) {
      pool.again = true;
      return;
    }
    pool.again = false;
    pool.filling = fill(pool).finally(() => {
      pool.filling = null;
      if (pool.again && !signal().aborted) topUp(pool);
    });
  }

  return {
    async claim(req) {
      const pool = find(req);
      if (!pool) return false;
      pool.baseBranch = req.baseBranch;
      pool.mirror = req.mirror;
      pool.target = req.baseCommit;
      const at = pool.ready.findIndex((e) => e.commit === req.baseCommit);
      const entry = at >= 0 ? pool.ready.splice(at, 1)[0] : undefined;
      let claimed = false;
      if (entry) {
        // ENOENT (removed behind Forge's back) or EXDEV (another filesystem): a fresh clone instead.
        claimed = await rename(entry.dir, req.dir).then(
          () => true,
          () => (discard(entry.dir), false),
        );
      }
      if (claimed) pool.hits++;
      else pool.misses++;
      if (!signal().aborted) topUp(pool);
      return claimed;
    },

    async start() {
      stopping = new AbortController();
      // Whatever a previous run left may have been changed while Forge was not watching: set
      // aside in one rename and removed in the background, never claimed.
      const old = `${opts.root}.old-${randomBytes(4).toString('hex')}`;
      const moved = await rename(opts.root, old).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          return false;
        },
      );
      if (moved) discard(old);
      await mkdir(opts.root, { recursive: true });
    },

    async stop() {
      stopping.abort();
      await Promise.all(pools.flatMap((p) => (p.filling ? [p.filling] : [])));
      for (const p of pools) p.ready = p.stale = [];
      await rm(opts.root, { recursive: true, force: true });
    },

    async idle() {
      for (;;) {
        const busy = [...pools.flatMap((p) => (p.filling ? [p.filling] : [])), ...removing];
        if (busy.length === 0) return;
        await Promise.all(busy);
      }
    },

    status: () =>
      pools.map((p) => ({
        repo: p.spec.repo,
        baseBranch: p.baseBranch,
        wanted: p.spec.size,
        ready: p.ready.filter((e) => e.commit === p.target).length,
        hits: p.hits,
        misses: p.misses,
      })),
  };
}

/** The directory of one base branch's pool: readable, and distinct for any two branch names. */
export function branchDir(branch: string): string {
  const slug = branch.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40);
  return `${slug}-${createHash('sha256').update(branch).digest('hex').slice(0, 8)}`;
}

/** Ready workspaces on disk under a repository's pool (for `forge doctor`, which runs beside the
 *  server rather than in it): every base branch's, or one's. */
export async function readyOnDisk(
  root: string,
  url: string,
  baseBranch: string | null,
): Promise<number> {
  const repoDir = join(root, mirrorName(url));
  const branches = baseBranch
    ? [branchDir(baseBranch)]
    : await readdir(repoDir).catch(() => [] as string[]);
  let ready = 0;
  for (const b of branches) {
    const names = await readdir(join(repoDir, b)).catch(() => [] as string[]);
    ready += names.filter((n) => n.startsWith('ready-')).length;
  }
  return ready;
}

/** `forge doctor`: one line per pooled repository, the size wanted and the workspaces ready. */
export async function poolChecks(root: string, specs: PoolSpec[]): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const spec of specs.filter((s) => s.size > 0)) {
    const ready = await readyOnDisk(root, spec.url, spec.baseBranch);
    const branch = spec.baseBranch ?? 'the default branch';
    checks.push({
      name: `workspace_pool ${spec.repo}`,
      ok: true,
      level: 'ok',
      detail: `${spec.size} wanted, ${ready} ready at the head of ${branch}${ready < spec.size ? ' (forge serve fills the pool in the background after its first job on this repository)' : ''}`,
    });
  }
  return checks;
}
