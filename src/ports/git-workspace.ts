import type { GitCredentials } from './git-host.ts';

export interface CheckoutRequest {
  /** Clone URL without credentials (what `git remote -v` in the workspace will show). */
  url: string;
  /** null: the repository's default branch. */
  baseBranch: string | null;
  /** The job's branch, created at the base commit (or at `startFrom`). */
  branch: string;
  /** Directory to create the checkout in (must not exist yet). */
  dir: string;
  /** Used for fetching only; never written into the workspace. */
  credentials: GitCredentials | null;
  /** Where to start instead of the base (continuing a previous attempt): a commit id, or
   *  `refs/forge/<branch>`, the work Forge kept in its mirror at the last push (pushed or not). */
  startFrom?: string | null;
}

export interface Checkout {
  /** The base branch actually used (resolved default branch when none was asked for). */
  baseBranch: string;
  baseCommit: string;
}

export interface DiffStat {
  changed_files: number;
  insertions: number;
  deletions: number;
}

export interface PushRequest {
  url: string;
  branch: string;
  credentials: GitCredentials | null;
  /** What Forge last pushed to `branch` (null: the branch must not exist yet). Anything else on the
   *  remote means someone else moved it: the push is rejected (ForgeError 'conflict'). */
  expectedRemote: string | null;
}

/**
 * Git on the orchestrator's side: workspaces made from a warm local mirror per repository, and the
 * commit and push after the agent exits. Methods reject with ForgeError: 'unavailable' for
 * network/server trouble (retryable), 'conflict' for a rejected push, 'invalid_request' for a
 * repository or branch that does not exist; messages include git's own words (never credentials).
 */
export interface GitWorkspace {
  /** Fetches the mirror (at most once per burst of jobs) and creates the checkout on a new branch. */
  checkout(req: CheckoutRequest, signal: AbortSignal): Promise<Checkout>;
  /** Whether the agent left uncommitted changes or new commits since `baseCommit`. */
  hasChanges(dir: string, baseCommit: string): Promise<boolean>;
  /** Commits everything uncommitted (with Forge's identity); returns the new HEAD, or null when
   *  there was nothing to commit. */
  commitAll(dir: string, message: string): Promise<string | null>;
  /** Pushes HEAD to `branch` and keeps the commits in the mirror (under refs/forge/) so a later
   *  retry can push them even if this push failed. Returns the pushed commit. */
  push(dir: string, req: PushRequest, signal: AbortSignal): Promise<string>;
  diffStat(dir: string, baseCommit: string): Promise<DiffStat>;
  /** Short human description of what changed (for a retry prompt), e.g. `git diff --stat`. */
  describeChanges(dir: string, baseCommit: string): Promise<string>;
}
