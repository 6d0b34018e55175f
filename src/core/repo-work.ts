import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isForgeError } from '../domain/errors.ts';
import { failure, type Failure } from '../domain/failure.ts';
import { jobBranch, type Job, type JobResult } from '../domain/job.ts';
import type { GitHost } from '../ports/git-host.ts';
import type { Checkout, GitWorkspace } from '../ports/git-workspace.ts';
import type { JobStore } from '../ports/store.ts';
import type { EventBus } from './events.ts';

export interface RepoDeps {
  git: GitWorkspace;
  /** The configured forge by name, or null. */
  hostFor: (forge: string | null) => GitHost | null;
  store: JobStore;
  bus: EventBus;
  logger: Logger;
  /** Base URL people use to reach this server (for links in pull requests). */
  publicUrl: string;
  /** Pause between tries of a push or forge call (doubles each time). */
  retryDelayMs?: number;
}

export interface Workspace {
  dir: string;
  /** null for a job without a repository. */
  checkout: Checkout | null;
}

const TRIES = 3;

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
  return { dir, checkout };
}

export interface FinalizeInput {
  attempt: number;
  succeeded: boolean;
  summary: string | null;
  costUsd: number;
  turns: number | null;
}

export interface FinalizeOutcome {
  result: JobResult | null;
  /** Set when keeping the work failed (category `push`). */
  failure: Failure | null;
  /** Lines for the attempt's output (what was pushed, the PR). */
  notes: string[];
}

/**
 * After the agent exits, on every path: commits what it left, pushes the job's branch, and — when
 * it succeeded — opens or updates the pull request. The orchestrator does all of this with its own
 * credentials; the agent never holds them. Never throws.
 */
export async function finalizeWork(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  signal: AbortSignal,
): Promise<FinalizeOutcome> {
  if (!job.repo || !ws.checkout) return { result: null, failure: null, notes: [] };
  const branch = jobBranch(job);
  const base = ws.checkout.baseCommit;
  const notes: string[] = [];
  try {
    if (!(await deps.git.hasChanges(ws.dir, base))) {
      if (!input.succeeded) return { result: null, failure: null, notes };
      return {
        result: {
          branch,
          commit: base,
          no_changes: true,
          changed_files: 0,
          insertions: 0,
          deletions: 0,
        },
        failure: null,
        notes: ['no changes to push'],
      };
    }
    notes.push(`changes left:\n${await deps.git.describeChanges(ws.dir, base)}`);
    await deps.git.commitAll(ws.dir, commitMessage(job, input));
    const host = deps.hostFor(job.repo.forge);
    const commit = await withRetries(deps, 'push', () =>
      deps.git.push(
        ws.dir,
        {
          url: job.repo!.url,
          branch,
          credentials: host?.gitCredentials() ?? null,
          expectedRemote: job.result?.commit ?? null,
        },
        signal,
      ),
    );
    const stat = await deps.git.diffStat(ws.dir, base);
    const result: JobResult = {
      branch,
      commit,
      ...stat,
      ...(input.succeeded ? {} : { wip: true }),
    };
    notes.push(
      `pushed ${input.succeeded ? '' : 'work in progress to '}branch ${branch} at ${commit.slice(0, 12)}`,
    );
    if (input.succeeded && job.repo.open_pr && host) {
      const repo = host.repoFor(job.repo.url);
      if (!repo)
        throw new Error(
          `${job.repo.url} is not a repository on forge "${job.repo.forge}"; check repos:/forges: in forge.yaml`,
        );
      const pr = await withRetries(deps, 'pull request', () =>
        host.openPullRequest(
          {
            repo,
            head: branch,
            base: ws.checkout!.baseBranch,
            title: prTitle(job),
            body: prBody(deps, job, input, result),
            draft: job.repo!.draft,
          },
          signal,
        ),
      );
      result.pr_url = pr.url;
      result.pr_number = pr.number;
      notes.push(`${pr.created ? 'opened' : 'updated'} pull request #${pr.number}: ${pr.url}`);
      await deps.store.appendEvent(job.id, 'pr.opened', {
        url: pr.url,
        number: pr.number,
        created: pr.created,
        attempt: input.attempt,
      });
      deps.bus.publish({ type: 'pr.opened', jobId: job.id, url: pr.url, number: pr.number });
    }
    return { result, failure: null, notes };
  } catch (err) {
    const message = isForgeError(err) || err instanceof Error ? err.message : String(err);
    deps.logger.warn({ jobId: job.id, err }, "could not keep the agent's work");
    return {
      result: {
        branch,
        commit: null,
        changed_files: 0,
        insertions: 0,
        deletions: 0,
        wip: !input.succeeded,
      },
      failure: failure(
        'push',
        `the agent's work could not be pushed to ${branch}: ${message}. The commits are kept in Forge's mirror; fix the cause and retry the job`,
      ),
      notes,
    };
  }
}

/** Retries what the network or the forge may fix; a conflict gets the same few tries (the branch
 *  may have been moved by a concurrent push) before the job fails with `push`. */
async function withRetries<T>(deps: RepoDeps, what: string, fn: () => Promise<T>): Promise<T> {
  let delay = deps.retryDelayMs ?? 500;
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await fn();
    } catch (err) {
      const retryable =
        isForgeError(err) && (err.code === 'unavailable' || err.code === 'conflict');
      if (!retryable || tryNo >= TRIES) throw err;
      deps.logger.warn({ err, tryNo, what }, 'retrying');
      await sleep(delay);
      delay *= 2;
    }
  }
}

function firstLine(text: string, max: number): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function commitMessage(job: Job, input: FinalizeInput): string {
  const subject =
    firstLine(input.summary ?? '', 72) || firstLine(job.task, 72) || `Forge job ${job.id}`;
  const body =
    input.summary && input.summary.trim() !== subject ? `\n\n${input.summary.trim()}` : '';
  return `${subject}${body}\n\nForge-Job: ${job.id}\nForge-Attempt: ${input.attempt}\n`;
}

function prTitle(job: Job): string {
  return firstLine(job.task, 70) || `Forge job ${job.id}`;
}

function prBody(deps: RepoDeps, job: Job, input: FinalizeInput, result: JobResult): string {
  return [
    input.summary?.trim() || '_The agent gave no summary._',
    '',
    '---',
    `Task: ${firstLine(job.task, 200)}`,
    `Agent: ${job.agent}${job.profile ? ` (profile ${job.profile})` : ''} · attempt ${input.attempt} · cost $${input.costUsd.toFixed(4)}${input.turns !== null ? ` · ${input.turns} turns` : ''}`,
    `Changes: ${result.changed_files} files, +${result.insertions} −${result.deletions}`,
    `Job: ${deps.publicUrl.replace(/\/+$/, '')}/jobs/${job.id}`,
    '',
    'Opened by Forge for human review.',
  ].join('\n');
}
