import type { Job } from '../domain/job.ts';

export interface PreparedWorkspace {
  /** The directory the agent works in. */
  dir: string;
}

/** Prepares the directory an attempt works in. Jobs without a repository get a fresh empty
 *  directory; repositories arrive through another implementation of this port. Rejects with a
 *  ForgeError whose message says what went wrong (→ failure `workspace`). Aborting `signal` stops
 *  any long preparation. */
export interface WorkspaceProvider {
  prepare(job: Job, attempt: number, attemptDir: string, signal: AbortSignal): Promise<PreparedWorkspace>;
}
