/**
 * The agent's work coming back from a worker as a git bundle, so Forge commits, pushes and opens
 * the pull request from its own workspace and mirror exactly as after a local attempt.
 *
 * Worker side (`createResultBundle`): on top of the agent's HEAD, a commit of the whole working
 * tree made through a temporary index (untracked files included, .gitignore respected, the
 * agent's own index untouched), bundled relative to the head the worker started from.
 *
 * Forge side (`applyResultBundle`): fetch the snapshot into the workspace, put the working tree
 * and index at it and HEAD (the branch) at its parent, the agent's head: finalize-work then sees
 * the agent's commits plus its uncommitted changes, as it would have locally.
 */
import { rm } from 'node:fs/promises';
import { RESULT_REF } from './protocol.ts';
import { git } from './git-run.ts';

export interface BundleOptions {
  /** PATH to find git on. */
  path?: string;
}

/** Bundles the work in checkout `dir` (started at `startHead`) into `file`. */
export async function createResultBundle(
  dir: string,
  startHead: string,
  file: string,
  scratchIndex: string,
  opts: BundleOptions = {},
): Promise<void> {
  const base = { cwd: dir, ...(opts.path ? { path: opts.path } : {}) };
  const head = await git(['rev-parse', '--verify', 'HEAD^{commit}'], base);
  const withIndex = { ...base, env: { GIT_INDEX_FILE: scratchIndex } };
  await rm(scratchIndex, { force: true });
  try {
    await git(['read-tree', head], withIndex);
    await git(['add', '--all', '--', '.'], withIndex);
    const tree = await git(['write-tree'], withIndex);
    const identity = {
      GIT_AUTHOR_NAME: 'Forge worker',
      GIT_AUTHOR_EMAIL: 'forge@localhost',
      GIT_COMMITTER_NAME: 'Forge worker',
      GIT_COMMITTER_EMAIL: 'forge@localhost',
    };
    const snapshot = await git(
      ['commit-tree', tree, '-p', head, '-m', 'forge worker: the working tree at the end'],
      { ...base, env: identity },
    );
    await git(['update-ref', RESULT_REF, snapshot], base);
    await git(['bundle', 'create', '--quiet', file, RESULT_REF, `^${startHead}`], base);
  } finally {
    await rm(scratchIndex, { force: true });
    await git(['update-ref', '-d', RESULT_REF], base).catch(() => undefined);
  }
}

/** Applies a result bundle to the checkout at `dir`. Rejects, changing nothing, when the bundle is
 *  not one: not a bundle, without the ref, a snapshot without a parent, a prerequisite the
 *  checkout lacks. */
export async function applyResultBundle(
  dir: string,
  file: string,
  opts: BundleOptions = {},
): Promise<{ head: string }> {
  const base = { cwd: dir, ...(opts.path ? { path: opts.path } : {}) };
  await git(
    [
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-write-fetch-head',
      '--end-of-options',
      file,
      `+${RESULT_REF}:${RESULT_REF}`,
    ],
    base,
  );
  try {
    const head = await git(['rev-parse', '--verify', `${RESULT_REF}^1^{commit}`], base);
    await git(['reset', '--quiet', '--hard', RESULT_REF], base);
    // HEAD follows its branch: the job's branch now holds the agent's commits; the index keeps the
    // snapshot, so its uncommitted changes show as staged and are committed by Forge.
    await git(['update-ref', 'HEAD', head], base);
    return { head };
  } finally {
    await git(['update-ref', '-d', RESULT_REF], base).catch(() => undefined);
  }
}
