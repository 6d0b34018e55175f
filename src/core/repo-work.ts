import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { jobBranch, type Job } from '../domain/job.ts';
import type { GitHost } from '../ports/git-host.ts';
import type { Checkout, GitWorkspace } from '../ports/git-workspace.ts';
import type { EventBus } from './events.ts';
import { placeNotes } from './notes-file.ts';

export interface RepoDeps {
  git: GitWorkspace;
  /** The configured forge by name, or null. */
  hostFor: (forge: string | null) => GitHost | null;
  bus: EventBus;
  logger: Logger;
  /** Base URL people use to reach this server (for links in pull requests). */
  publicUrl: string;
  /** Pause between tries of a push or forge call (doubles each time). */
  retryDelayMs?: number;
  /** Removes secrets from everything sent to git or a forge. */
  redact: (text: string) => string;
  /** A steward's latest notes (null: none yet), placed in its runs' workspaces. */
  notesOf?: (steward: string) => Promise<string | null>;
}

export interface Workspace {
  dir: string;
  /** null for a job without a repository. */
  checkout: Checkout | null;
}

/** Creates the attempt's workspace: an empty directory, or a checkout of the job's repository on
 *  its branch. Rejects with a message naming what went wrong (→ failure `workspace`). */
export async function prepareWorkspace(
  deps: RepoDeps,
  job: Job,
  attemptDir: string,
  continueFrom: string | null,
  signal: AbortSignal,
): Promise<Workspace> {
  const dir = join(attemptDir, 'workspace');
  if (!job.repo) {
    await mkdir(dir, { recursive: true });
    return { dir, checkout: null };
  }
  const host = deps.hostFor(job.repo.forge);
  const checkout = await deps.git.checkout(
    {
      url: job.repo.url,
      baseBranch: job.repo.base_branch,
      branch: jobBranch(job),
      dir,
      credentials: host?.gitCredentials() ?? null,
      startFrom: continueFrom,
    },
    signal,
  );
  if (job.settings.notes)
    await placeNotes(dir, (await deps.notesOf?.(job.settings.notes.steward)) ?? '');
  return { dir, checkout };
}

export { finalizeWork, type FinalizeInput, type FinalizeOutcome } from './finalize-work.ts';
