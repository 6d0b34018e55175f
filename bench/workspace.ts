/**
 * workspace — a generated repository (N files, a few hundred commits) behind a real git smart-HTTP
 * server: a plain `git clone` of it versus Forge's workspace preparation (GitWorkspace.checkout)
 * from its warm mirror, with an up-to-date fetch each time (fetch coalescing off) and within a
 * burst of jobs (fetch coalesced). The floor is what neither can avoid: `git checkout` writing the
 * files, timed alone in a clone that borrows the mirror's objects. With a workspace pool
 * (repos.<name>.workspace_pool): a job claiming a prepared workspace (warm), a job finding the pool
 * empty (cold), and what the pool's background work costs per workspace. Measured on the temp
 * dir's filesystem and again on a tmpfs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGitWorkspace, type PooledGitWorkspace } from '../src/adapters/git/git-workspace.ts';
import type { GitWorkspace } from '../src/ports/git-workspace.ts';
import { startGitServer, type GitServer } from '../test/support/git-http-server.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, now, round } from './measure.ts';
import { benchEnv } from './processes.ts';
import type { Scope } from './scope.ts';

export interface WorkspaceFigures {
  /** Where it was measured: the filesystem type and source of the directory. */
  filesystem: string;
  plain_clone_ms: number;
  forge_prepare_ms: number;
  ratio: number;
  forge_prepare_coalesced_ms: number;
  /** A job claiming a workspace from a warm pool: the fetch, the rename, `checkout -b`. */
  pool_warm_ms: number;
  pool_warm_ratio: number;
  pool_warm_coalesced_ms: number;
  /** A job finding the pool empty: the fresh clone, with the pool refilling beside it. */
  pool_empty_ms: number;
  /** Making one pooled workspace in the background (what a pool of N costs after N claims). */
  pool_fill_ms: number;
  checkout_floor_ms: number;
}

export interface WorkspaceResult extends WorkspaceFigures {
  files: number;
  commits: number;
  forge_cold_ms: number;
  rounds: number;
  /** The same figures on a tmpfs, when there is one: no disk, no inode-reuse artefact. */
  tmpfs: WorkspaceFigures | null;
}

const run = promisify(execFile);
/** A tmpfs that exists on most Linux machines. */
const TMPFS = '/dev/shm';

export const workspace: Benchmark<WorkspaceResult> = {
  name: 'workspace',
  fields: [
    'files',
    'plain_clone_ms',
    'forge_prepare_ms',
    'ratio',
    'pool_warm_ms',
    'pool_warm_ratio',
  ],
  async run({ quick, scope, log }) {
    const files = quick ? 2_000 : 20_000;
    const commits = 300;
    const rounds = 3;
    const server = await startGitServer();
    scope.defer(() => server.close());
    const head = await server.createRepo('app', { generatedFiles: files, commits });
    const repo = { server, url: server.url('app'), head, files, rounds };
    // Nothing is deleted between timed steps (only at the end): on ext4 without a journal, inodes
    // made right after many were deleted cost twice as much, which would measure the disk's
    // bookkeeping rather than Forge.
    const disk = await measureIn(await tempRoot(tmpdir(), scope), repo, scope, log);
    const onTmpfs = (await filesystemOf(TMPFS)).startsWith('tmpfs')
      ? await measureIn(await tempRoot(TMPFS, scope), repo, scope, log)
      : null;
    return {
      files,
      commits,
      rounds,
      ...disk.figures,
      forge_cold_ms: disk.cold,
      tmpfs: onTmpfs?.figures ?? null,
    };
  },
  rows: (r) => [
    ...figureRows(r, `${r.files} files, ${r.commits} commits; ${r.filesystem}`),
    {
      figure: 'Forge prepare, mirror made and fetched from nothing (once)',
      value: fmt(r.forge_cold_ms),
    },
    ...(r.tmpfs ? figureRows(r.tmpfs, `same on ${r.tmpfs.filesystem}`) : []),
  ],
};

function figureRows(r: WorkspaceFigures, where: string) {
  return [
    {
      figure: `[${where}] git checkout alone, writing the files (floor)`,
      value: fmt(r.checkout_floor_ms),
    },
    { figure: 'plain git clone', value: fmt(r.plain_clone_ms) },
    { figure: 'Forge prepare, no pool: warm mirror + fetch', value: fmt(r.forge_prepare_ms) },
    { figure: 'Forge prepare, no pool: fetch coalesced', value: fmt(r.forge_prepare_coalesced_ms) },
    { figure: 'ratio Forge without a pool / plain clone', value: fmt(r.ratio, '') },
    { figure: 'Forge prepare, warm pool + fetch', value: fmt(r.pool_warm_ms) },
    { figure: 'Forge prepare, warm pool, fetch coalesced', value: fmt(r.pool_warm_coalesced_ms) },
    {
      figure: 'Forge prepare, pool empty (fresh clone, pool refilling beside it)',
      value: fmt(r.pool_empty_ms),
    },
    { figure: 'one pooled workspace made, in the background', value: fmt(r.pool_fill_ms) },
    {
      figure: 'ratio warm pool + fetch / plain clone',
      value: fmt(r.pool_warm_ratio, ''),
      target: '≤ 0.10',
      met: r.pool_warm_ratio <= 0.1,
    },
  ];
}

interface Repo {
  server: GitServer;
  url: string;
  head: string;
  files: number;
  rounds: number;
}

async function tempRoot(parent: string, scope: Scope): Promise<string> {
  const root = await mkdtemp(join(parent, 'forge-bench-workspace-'));
  scope.defer(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function filesystemOf(dir: string): Promise<string> {
  const out = await run('findmnt', ['-no', 'FSTYPE,SOURCE', '-T', dir]).catch(() => null);
  return out?.stdout.trim().split('\n')[0]?.replace(/\s+/g, ' ') || 'unknown filesystem';
}

/** Every figure, in directories under `root` (mirror, workspaces, clones on one filesystem). */
async function measureIn(
  root: string,
  { server, url, head, files, rounds }: Repo,
  scope: Scope,
  log: (message: string) => void,
): Promise<{ figures: WorkspaceFigures; cold: number }> {
  const filesystem = `${root.startsWith(TMPFS) ? TMPFS : tmpdir()}: ${await filesystemOf(root)}`;
  log(`measuring in ${filesystem}`);
  const opts = {
    mirrorsDir: join(root, 'mirrors'),
    homeDir: root,
    ...(process.env.PATH ? { pathEnv: process.env.PATH } : {}),
  };
  const spec = { repo: 'app', url, baseBranch: null, size: 1 };
  const pooled = (name: string, fetchCoalesceMs: number) => {
    const ws = createGitWorkspace({
      ...opts,
      fetchCoalesceMs,
      pool: { root: join(root, name), specs: [spec], onWarning: log },
    });
    scope.defer(() => ws.pool!.stop());
    return ws;
  };
  const fresh = createGitWorkspace({ ...opts, fetchCoalesceMs: 0 });
  const burst = createGitWorkspace({ ...opts, fetchCoalesceMs: 3_600_000 });
  const pool = pooled('pool', 0);
  const poolBurst = pooled('pool-burst', 3_600_000);
  for (const ws of [pool, poolBurst]) await ws.pool!.start();
  let n = 0;
  let base = '';
  const prepare = async (git: GitWorkspace, name = `ws-${n}`) => {
    await settle();
    const t0 = now();
    ({ baseCommit: base } = await git.checkout(
      {
        url,
        baseBranch: null,
        branch: `forge/bench-${n++}`,
        dir: join(root, name),
        credentials: server.credentials,
      },
      AbortSignal.timeout(300_000),
    ));
    return now() - t0;
  };
  /** Times a pool's background work after a claim (or a miss) until its workspace is ready. */
  const filled = async (git: PooledGitWorkspace) => {
    const t0 = now();
    await git.pool!.idle();
    return now() - t0;
  };
  const cold = await prepare(fresh);
  await prepare(burst); // from the warm mirror, with its own fetch, which later checkouts reuse
  await checkWorkspace(join(root, 'ws-1'), 'forge/bench-1', head, files);
  // Each pool learns the repository from its first (missed) job and fills behind it.
  for (const ws of [pool, poolBurst]) {
    await prepare(ws);
    await ws.pool!.idle();
  }
  const fill: number[] = [];
  const m = { plain: [] as number[], warm: [] as number[], coalesced: [] as number[] };
  const p = { warm: [] as number[], coalesced: [] as number[], empty: [] as number[] };
  const floor: number[] = [];
  const mirror = join(
    root,
    'mirrors',
    (await readdir(join(root, 'mirrors'))).find((n) => n.endsWith('.git'))!,
  );
  for (let r = 0; r < rounds; r++) {
    m.plain.push(await plainClone(server, url, join(root, `plain-${r}`)));
    m.warm.push(await prepare(fresh));
    m.coalesced.push(await prepare(burst));
    p.warm.push(await prepare(pool, `pooled-${r}`));
    if (r === 0) await checkWorkspace(join(root, 'pooled-0'), `forge/bench-${n - 1}`, head, files);
    fill.push(await filled(pool));
    p.coalesced.push(await prepare(poolBurst));
    await poolBurst.pool!.idle();
    // A pool of its own each round, so none is warm yet (and nothing is deleted until the end).
    const poolEmpty = pooled(`pool-empty-${r}`, 0);
    await poolEmpty.pool!.start();
    p.empty.push(await prepare(poolEmpty));
    await poolEmpty.pool!.idle();
    floor.push(await checkoutOnly(mirror, base, join(root, `floor-${r}`)));
    log(
      `round ${r + 1}/${rounds}: clone ${m.plain[r]!.toFixed(0)} ms, forge ${m.warm[r]!.toFixed(0)} ms, coalesced ${m.coalesced[r]!.toFixed(0)} ms, warm pool ${p.warm[r]!.toFixed(1)} ms (coalesced ${p.coalesced[r]!.toFixed(1)}), empty pool ${p.empty[r]!.toFixed(0)} ms, pool fill ${fill[r]!.toFixed(0)} ms, checkout alone ${floor[r]!.toFixed(0)} ms`,
    );
  }
  const { hits, misses } = pool.pool!.status()[0]!;
  if (hits !== rounds || misses !== 1)
    throw new Error(`workspace benchmark: the warm pool served ${hits} of ${rounds} jobs`);
  const ratio = (xs: number[]) => round(median(xs.map((x, i) => x / m.plain[i]!)));
  return {
    cold: round(cold),
    figures: {
      filesystem,
      plain_clone_ms: round(median(m.plain)),
      forge_prepare_ms: round(median(m.warm)),
      ratio: ratio(m.warm),
      forge_prepare_coalesced_ms: round(median(m.coalesced)),
      pool_warm_ms: round(median(p.warm)),
      pool_warm_ratio: ratio(p.warm),
      pool_warm_coalesced_ms: round(median(p.coalesced)),
      pool_empty_ms: round(median(p.empty)),
      pool_fill_ms: round(median(fill)),
      checkout_floor_ms: round(median(floor)),
    },
  };
}

async function plainClone(server: GitServer, url: string, dir: string): Promise<number> {
  const auth = `Authorization: Basic ${Buffer.from(`${server.username}:${server.token}`).toString('base64')}`;
  await settle();
  const t0 = now();
  await run('git', ['-c', `http.extraHeader=${auth}`, 'clone', '--quiet', url, dir], {
    env: benchEnv({ HOME: `${dir}.home`, GIT_CONFIG_NOSYSTEM: '1' }),
  });
  return now() - t0;
}

/** A measurement of a wrong checkout is worthless: the branch, the server's HEAD, every file (the
 *  last generated one with its content) and a clean status must be there. Generated repositories
 *  add README.md and CHANGES.md. */
async function checkWorkspace(
  dir: string,
  branch: string,
  head: string,
  files: number,
): Promise<void> {
  const git = async (...args: string[]) =>
    (await run('git', ['-C', dir, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
  const last = files - 1;
  const lastFile = `src/d${last % 100}/f${last}.txt`;
  const problems = [
    (await git('symbolic-ref', '--short', 'HEAD')) === branch ? null : `not on ${branch}`,
    (await git('rev-parse', 'HEAD')) === head ? null : `HEAD is not ${head}`,
    (await git('ls-files')).split('\n').length === files + 2 ? null : `not ${files + 2} files`,
    (await readFile(join(dir, lastFile), 'utf8').catch(() => '')) === `file ${last}\n`
      ? null
      : `${lastFile} is missing or wrong`,
    (await git('status', '--porcelain')) === '' ? null : 'not clean',
  ].filter((p) => p !== null);
  if (problems.length > 0)
    throw new Error(`workspace benchmark: the checkout is wrong: ${problems.join(', ')}`);
}

/** `git checkout` alone, in a clone (not timed) that borrows the mirror's objects. */
async function checkoutOnly(mirror: string, commit: string, dir: string): Promise<number> {
  const env = benchEnv({ HOME: `${dir}.home`, GIT_CONFIG_NOSYSTEM: '1' });
  await run('git', ['clone', '--quiet', '--shared', '--no-checkout', mirror, dir], { env });
  await settle();
  const t0 = now();
  await run('git', ['-C', dir, 'checkout', '--quiet', commit], { env });
  return now() - t0;
}

/** Writes back the files earlier steps left dirty, so each timed step pays only for its own. */
async function settle(): Promise<void> {
  await run('sync', []);
}
