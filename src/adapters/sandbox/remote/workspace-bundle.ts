/**
 * The workspace going out to a worker: what it is (head, branch, origin, identity) and a git
 * bundle of it, made once before the worker is launched (a repository that cannot be bundled is a
 * `sandbox` failure at start, not a worker retrying a broken download). The bundle holds HEAD,
 * the branches and the remote-tracking refs, so the agent sees `origin/<base>` as it would here.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttemptSpec } from './protocol.ts';
import { git } from './git-run.ts';

export type WorkspaceInfo = NonNullable<AttemptSpec['workspace']>;

/** What the worker needs to rebuild the checkout at `dir`; null when `dir` is no git checkout. */
export async function describeWorkspace(dir: string, path?: string): Promise<WorkspaceInfo | null> {
  const isRepo = await stat(join(dir, '.git')).then(
    () => true,
    () => false,
  );
  if (!isRepo) return null;
  const run = (args: string[]) => git(args, { cwd: dir, ...(path ? { path } : {}) });
  const optional = (args: string[]) => run(args).catch(() => '');
  const head = await run(['rev-parse', '--verify', 'HEAD^{commit}']);
  const branch = await optional(['symbolic-ref', '--quiet', '--short', 'HEAD']);
  const origin = await optional(['remote', 'get-url', 'origin']);
  const name = await optional(['config', 'user.name']);
  const email = await optional(['config', 'user.email']);
  return {
    head,
    branch: branch || null,
    origin: origin || null,
    identity: name && email ? { name, email } : null,
  };
}

/** Writes a bundle of the checkout at `dir` to `file`. */
export async function createWorkspaceBundle(
  dir: string,
  file: string,
  path?: string,
): Promise<void> {
  await git(['bundle', 'create', '--quiet', file, 'HEAD', '--branches', '--remotes'], {
    cwd: dir,
    ...(path ? { path } : {}),
  });
}
