/**
 * Finalizing an attempt: keeping the agent's work after it exited, on every path (success,
 * failure, budget, timeout, cancel). Three steps, each with the orchestrator's own credentials
 * (the agent never holds them):
 *   commit — everything the agent left, with a message from its summary
 *   push   — the job's branch, retried while the network or the forge may fix it
 *   open   — the pull request, only when the attempt succeeded and the job was not withdrawn
 * Everything sent out passes through `deps.redact`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isForgeError } from '../domain/errors.ts';
import { failure, type Failure } from '../domain/failure.ts';
import { jobBranch, type Job, type JobResult } from '../domain/job.ts';
import type { GitHost } from '../ports/git-host.ts';
import { commitMessage, prBody, prTitle } from './pull-request-text.ts';
import type { RepoDeps, Workspace } from './repo-work.ts';

export interface FinalizeInput {
  attempt: number;
  succeeded: boolean;
  summary: string | null;
  costUsd: number;
  turns: number | null;
}

export interface FinalizeSignals {
  /** How long finalizing may take in all. */
  deadline: AbortSignal;
  /** Aborted when the job is no longer this attempt's (cancelled, lease lost): the work is still
   *  pushed, but no pull request is opened or updated. */
  withdrawn: AbortSignal;
}

export interface FinalizeOutcome {
  result: JobResult | null;
  /** Set when keeping the work failed (category `push`). */
  failure: Failure | null;
  /** Lines for the attempt's output (what was pushed, the PR). */
  notes: string[];
  /** `git diff --stat` of what the attempt left (capped), for the next attempt's prompt; null
   *  without a repository or changes. */
  diffStat: string | null;
}

const TRIES = 3;
const DIFF_STAT_CHARS = 2000;

/** Keeps the agent's work. Never throws. */
export async function finalizeWork(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  signals: FinalizeSignals,
): Promise<FinalizeOutcome> {
  if (!job.repo || !ws.checkout) return { result: null, failure: null, notes: [], diffStat: null };
  const branch = jobBranch(job);
  const base = ws.checkout.baseCommit;
  const notes: string[] = [];
  let diffStat: string | null = null;
  const done = (out: Omit<FinalizeOutcome, 'notes' | 'diffStat'>): FinalizeOutcome => ({
    ...out,
    notes: notes.map(deps.redact),
    diffStat: diffStat === null ? null : deps.redact(diffStat),
  });
  try {
    if (!(await deps.git.hasChanges(ws.dir, base))) {
      if (!input.succeeded) return done({ result: null, failure: null });
      notes.push('no changes to push');
      return done({ result: noChanges(branch, base), failure: null });
    }
    await deps.git.commitAll(ws.dir, deps.redact(commitMessage(job, input)));
    diffStat = capped(await deps.git.describeChanges(ws.dir, base));
    notes.push(`changes left:\n${diffStat}`);
    const result = await pushBranch(deps, job, ws, input, signals);
    notes.push(
      `pushed ${result.wip ? 'work in progress to ' : ''}branch ${branch} at ${result.commit!.slice(0, 12)}`,
    );
    if (input.succeeded && signals.withdrawn.aborted) {
      notes.push('the job was cancelled: no pull request was opened or updated');
      result.wip = true;
    } else if (input.succeeded) {
      await openPullRequest(deps, job, ws, input, result, signals, notes);
    }
    return done({ result, failure: null });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.logger.warn({ jobId: job.id, err }, "could not keep the agent's work");
    return done({
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
        deps.redact(
          `the agent's work could not be pushed to ${branch}: ${message}. The commits are kept in Forge's mirror; fix the cause and retry the job`,
        ),
      ),
    });
  }
}

function noChanges(branch: string, base: string): JobResult {
  return { branch, commit: base, no_changes: true, changed_files: 0, insertions: 0, deletions: 0 };
}

function capped(stat: string): string {
  if (stat.length <= DIFF_STAT_CHARS) return stat;
  const lines = stat.split('\n');
  const summary = lines.pop() ?? '';
  let kept = '';
  for (const line of lines) {
    if (kept.length + line.length + summary.length + 40 > DIFF_STAT_CHARS) break;
    kept += `${line}\n`;
  }
  return `${kept} … (cut to ${DIFF_STAT_CHARS} characters)\n${summary}`;
}

/** Pushes the job's branch; the push is bounded by the deadline only, since work is kept after
 *  any stop. Returns the result with the pushed commit. */
async function pushBranch(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  signals: FinalizeSignals,
): Promise<JobResult> {
  const repo = job.repo!;
  const host = deps.hostFor(repo.forge);
  const branch = jobBranch(job);
  const commit = await withRetries(deps, 'push', signals.deadline, () =>
    deps.git.push(
      ws.dir,
      {
        url: repo.url,
        branch,
        credentials: host?.gitCredentials() ?? null,
        expectedRemote: job.result?.commit ?? null,
      },
      signals.deadline,
    ),
  );
  const stat = await deps.git.diffStat(ws.dir, ws.checkout!.baseCommit);
  return { branch, commit, ...stat, ...(input.succeeded ? {} : { wip: true }) };
}

/** Opens or updates the pull request. A withdrawal (cancel) aborts the request in flight and any
 *  back-off; then the result is marked work in progress and no pull request is recorded. */
async function openPullRequest(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  result: JobResult,
  signals: FinalizeSignals,
  notes: string[],
): Promise<void> {
  const repo = job.repo!;
  const host: GitHost | null = repo.open_pr ? deps.hostFor(repo.forge) : null;
  if (!host) return;
  const target = host.repoFor(repo.url);
  if (!target)
    throw new Error(
      `${repo.url} is not a repository on forge "${repo.forge}"; check repos:/forges: in forge.yaml`,
    );
  const signal = AbortSignal.any([signals.deadline, signals.withdrawn]);
  let pr;
  try {
    pr = await withRetries(deps, 'pull request', signal, () =>
      untilAborted(
        signal,
        host.openPullRequest(
          {
            repo: target,
            head: result.branch,
            base: ws.checkout!.baseBranch,
            title: deps.redact(prTitle(job)),
            body: deps.redact(prBody(deps.publicUrl, job, input, result)),
            draft: repo.draft,
          },
          signal,
        ),
      ),
    );
  } catch (err) {
    if (!signals.withdrawn.aborted) throw err;
  }
  if (!pr || signals.withdrawn.aborted) {
    notes.push('the job was cancelled: no pull request was opened or updated');
    result.wip = true;
    return;
  }
  result.pr_url = pr.url;
  result.pr_number = pr.number;
  notes.push(`${pr.created ? 'opened' : 'updated'} pull request #${pr.number}: ${pr.url}`);
  deps.bus.publish({ type: 'pr.opened', jobId: job.id, url: pr.url, number: pr.number });
}

/** Retries what the network or the forge may fix; a conflict gets the same few tries (the branch
 *  may have been moved by a concurrent push) before the job fails with `push`. Back-off sleeps
 *  end when `signal` aborts. */
async function withRetries<T>(
  deps: RepoDeps,
  what: string,
  signal: AbortSignal,
  fn: () => Promise<T>,
): Promise<T> {
  let delay = deps.retryDelayMs ?? 500;
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await fn();
    } catch (err) {
      const retryable =
        isForgeError(err) && (err.code === 'unavailable' || err.code === 'conflict');
      if (!retryable || tryNo >= TRIES || signal.aborted) throw err;
      deps.logger.warn({ err, tryNo, what }, 'retrying');
      await sleep(delay, undefined, { signal }).catch(() => {});
      if (signal.aborted) throw err;
      delay *= 2;
    }
  }
}

/** `work`, or a rejection as soon as `signal` aborts: a forge client that ignores its signal
 *  cannot hold finalizing past a cancel or the deadline. */
function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      work.catch(() => {}); // settled after the abort: nobody waits for it any more
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
