// The work coming back from a worker, on real repositories: Forge's workspace ends up as the
// worker's did — the agent's commits on the branch, its uncommitted changes (new, changed and
// deleted files) in the working tree, what .gitignore hides left out.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyResultBundle, createResultBundle } from './result-bundle.ts';
import { createWorkspaceBundle, describeWorkspace } from './workspace-bundle.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'A',
  GIT_AUTHOR_EMAIL: 'a@example.com',
  GIT_COMMITTER_NAME: 'A',
  GIT_COMMITTER_EMAIL: 'a@example.com',
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: ENV }).toString().trim();

/** Forge's workspace (a checkout on the job's branch) and the worker's, made from its bundle. */
async function pair() {
  const root = await mkdtemp(join(tmpdir(), 'forge-result-'));
  dirs.push(root);
  const forge = join(root, 'forge');
  git(root, 'init', '--quiet', '--initial-branch=main', forge);
  await writeFile(join(forge, 'README.md'), '# app\n');
  await writeFile(join(forge, 'OLD.md'), 'to be deleted\n');
  await writeFile(join(forge, '.gitignore'), 'build/\n');
  git(forge, 'add', '.');
  git(forge, 'commit', '--quiet', '-m', 'initial');
  git(forge, 'checkout', '--quiet', '-b', 'forge/job-1');
  const info = await describeWorkspace(forge);
  const bundle = join(root, 'ws.bundle');
  await createWorkspaceBundle(forge, bundle);
  const worker = join(root, 'worker');
  git(root, 'clone', '--quiet', '--branch', 'forge/job-1', bundle, worker);
  return { root, forge, worker, start: info!.head };
}

describe('result bundle', () => {
  it("puts the worker's commits, changes, new and deleted files into Forge's workspace", async () => {
    const { root, forge, worker, start } = await pair();
    await writeFile(join(worker, 'COMMITTED.md'), 'committed by the agent\n');
    git(worker, 'add', 'COMMITTED.md');
    git(worker, 'commit', '--quiet', '-m', 'agent commit');
    const agentHead = git(worker, 'rev-parse', 'HEAD');
    await writeFile(join(worker, 'README.md'), '# app, changed\n');
    await writeFile(join(worker, 'NEW.md'), 'untracked\n');
    await unlink(join(worker, 'OLD.md'));
    await mkdir(join(worker, 'build'));
    await writeFile(join(worker, 'build', 'out.bin'), 'ignored\n');
    const file = join(root, 'result.bundle');
    await createResultBundle(worker, start, file, join(root, 'scratch-index'));
    // The worker's own index and HEAD are untouched by the snapshot.
    expect(git(worker, 'rev-parse', 'HEAD')).toBe(agentHead);
    expect(git(worker, 'status', '--porcelain')).toContain('?? NEW.md');

    const { head } = await applyResultBundle(forge, file);
    expect(head).toBe(agentHead);
    expect(git(forge, 'rev-parse', 'HEAD')).toBe(agentHead);
    expect(git(forge, 'symbolic-ref', '--short', 'HEAD')).toBe('forge/job-1');
    expect(await readFile(join(forge, 'README.md'), 'utf8')).toBe('# app, changed\n');
    expect(await readFile(join(forge, 'NEW.md'), 'utf8')).toBe('untracked\n');
    expect(existsSync(join(forge, 'OLD.md'))).toBe(false);
    expect(existsSync(join(forge, 'build'))).toBe(false);
    const status = git(forge, 'status', '--porcelain');
    expect(status).toContain('M  README.md');
    expect(status).toContain('A  NEW.md');
    expect(status).toContain('D  OLD.md');
    expect(git(forge, 'for-each-ref', 'refs/forge-result')).toBe('');
  });

  it('an agent that changed nothing comes back as nothing to commit', async () => {
    const { root, forge, worker, start } = await pair();
    const file = join(root, 'result.bundle');
    await createResultBundle(worker, start, file, join(root, 'scratch-index'));
    await applyResultBundle(forge, file);
    expect(git(forge, 'rev-parse', 'HEAD')).toBe(start);
    expect(git(forge, 'status', '--porcelain')).toBe('');
  });

  it('a file that is not a bundle is refused and the workspace left as it was', async () => {
    const { root, forge, start } = await pair();
    const file = join(root, 'junk.bundle');
    await writeFile(file, 'not a bundle at all');
    await expect(applyResultBundle(forge, file)).rejects.toThrow(/git fetch failed/);
    expect(git(forge, 'rev-parse', 'HEAD')).toBe(start);
    expect(git(forge, 'status', '--porcelain')).toBe('');
  });
});
