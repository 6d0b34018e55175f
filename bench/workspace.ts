/**
 * workspace — a generated repository (N files, a few hundred commits) behind a real git smart-HTTP
 * server: a plain `git clone` of it versus Forge's workspace preparation (GitWorkspace.checkout)
 * from its warm mirror, with an up-to-date fetch each time (fetch coalescing off) and within a
 * burst of jobs (fetch coalesced). The floor is what neither can avoid: `git checkout` writing the
 * files, timed alone in a clone that borrows the mirror's objects.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGitWorkspace } from '../src/adapters/git/git-workspace.ts';
import type { GitWorkspace } from '../src/ports/git-workspace.ts';
import { startGitServer, type GitServer } from '../test/support/git-http-server.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, now, round } from './measure.ts';
import { benchEnv } from './processes.ts';

export interface WorkspaceResult {
  files: number;
  commits: number;
  plain_clone_ms: number;
  forge_prepare_ms: number;
  ratio: number;
  forge_prepare_coalesced_ms: number;
  forge_cold_ms: number;
  checkout_floor_ms: number;
  rounds: number;
}

const run = promisify(execFile);

export const workspace: Benchmark<WorkspaceResult> = {
  name: 'workspace',
  fields: ['files', 'plain_clone_ms', 'forge_prepare_ms', 'ratio'],
  async run({ quick, scope, log }) {
    const files = quick ? 2_000 : 20_000;
    const commits = 300;
    const rounds = 3;
    const root = await mkdtemp(join(tmpdir(), 'forge-bench-workspace-'));
    scope.defer(() => rm(root, { recursive: true, force: true }));
    const server = await startGitServer();
    scope.defer(() => server.close());
    const head = await server.createRepo('app', { generatedFiles: files, commits });
    const url = server.url('app');
    const opts = {
      mirrorsDir: join(root, 'mirrors'),
      homeDir: root,
      ...(process.env.PATH ? { pathEnv: process.env.PATH } : {}),
    };
    const fresh = createGitWorkspace({ ...opts, fetchCoalesceMs: 0 });
    const burst = createGitWorkspace({ ...opts, fetchCoalesceMs: 3_600_000 });
    let n = 0;
    let base = '';
    const prepare = async (git: GitWorkspace) => {
      await settle();
      const t0 = now();
      ({ baseCommit: base } = await git.checkout(
        {
          url,
          baseBranch: null,
          branch: `forge/bench-${n}`,
          dir: join(root, `ws-${n++}`),
          credentials: server.credentials,
        },
        AbortSignal.timeout(300_000),
      ));
      return now() - t0;
    };
    const cold = await prepare(fresh);
    await prepare(burst); // from the warm mirror, with its own fetch, which later checkouts reuse
    await checkWorkspace(join(root, 'ws-1'), 'forge/bench-1', head, files);
    const plain: number[] = [];
    const warm: number[] = [];
    const coalesced: number[] = [];
    const floor: number[] = [];
    const mirror = join(
      root,
      'mirrors',
      (await readdir(join(root, 'mirrors'))).find((n) => n.endsWith('.git'))!,
    );
    for (let r = 0; r < rounds; r++) {
      plain.push(await plainClone(server, url, join(root, `plain-${r}`)));
      warm.push(await prepare(fresh));
      coalesced.push(await prepare(burst));
      floor.push(await checkoutOnly(mirror, base, join(root, `floor-${r}`)));
      log(
        `round ${r + 1}/${rounds}: clone ${plain[r]!.toFixed(0)} ms, forge ${warm[r]!.toFixed(0)} ms, coalesced ${coalesced[r]!.toFixed(0)} ms, checkout alone ${floor[r]!.toFixed(0)} ms`,
      );
    }
    return {
      files,
      commits,
      plain_clone_ms: round(median(plain)),
      forge_prepare_ms: round(median(warm)),
      ratio: round(median(warm.map((w, i) => w / plain[i]!))),
      forge_prepare_coalesced_ms: round(median(coalesced)),
      forge_cold_ms: round(cold),
      checkout_floor_ms: round(median(floor)),
      rounds,
    };
  },
  rows: (r) => [
    { figure: 'git checkout alone, writing the files (floor)', value: fmt(r.checkout_floor_ms) },
    {
      figure: `plain git clone (${r.files} files, ${r.commits} commits)`,
      value: fmt(r.plain_clone_ms),
    },
    { figure: 'Forge prepare, warm mirror + fetch', value: fmt(r.forge_prepare_ms) },
    { figure: 'Forge prepare, fetch coalesced', value: fmt(r.forge_prepare_coalesced_ms) },
    {
      figure: 'ratio Forge / plain clone',
      value: fmt(r.ratio, ''),
      target: '< 0.10',
      met: r.ratio < 0.1,
    },
  ],
};

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
