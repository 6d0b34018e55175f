/**
 * Finalizing an attempt: keeping the agent's work after it exited, on every path (success,
 * failure, budget, timeout, cancel). Three steps, each with the orchestrator's own credentials
 * (the agent never holds them):
 *   commit — everything the agent left, with a message from its summary
 *   push   — the job's branch, retried while the network or the forge may fix it
 *   open   — the pull request, only when the attempt succeeded and the job was not withdrawn
 * Everything sent out passes through `deps.redact`.
 */
import { failure, type Failure } from '../domain/failure.ts';
import { jobBranch, type Job, type JobResult } from '../domain/job.ts';
import type { GitHost, PullRequestRequest } from '../ports/git-host.ts';
import { commitMessage, prBody, prTitle } from './pull-request-text.ts';
import type { RepoDeps, Workspace } from './repo-work.ts';
import { untilAborted, withRetries } from './with-retries.ts';

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
  /** What the forge holds for the job now; null when there is nothing (new) to record. */
  result: JobResult | null;
  /** Set when keeping the work failed (category `push`). */
  failure: Failure | null;
  /** Lines for the attempt's output (what was pushed, the PR). */
  notes: string[];
  /** `git diff --stat` of what the attempt left (capped), for the next attempt's prompt; null
   *  without a repository or changes. */
  diffStat: string | null;
}

/** What the steps did so far; on a failure it tells what is already on the forge. */
interface Progress {
  notes: string[];
  diffStat: string | null;
  /** Set once the push step went through. */
  pushed: JobResult | null;
}

const DIFF_STAT_CHARS = 2000;
const WITHDRAWN_NOTE = 'the job was cancelled: no pull request was opened or updated';

/** Keeps the agent's work: commit, push, open the pull request. Never throws. */
export async function finalizeWork(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  signals: FinalizeSignals,
): Promise<FinalizeOutcome> {
  if (!job.repo || !ws.checkout) return { result: null, failure: null, notes: [], diffStat: null };
  const p: Progress = { notes: [], diffStat: null, pushed: null };
  let result: JobResult | null;
  let fail: Failure | null = null;
  try {
    result = await runSteps(deps, job, ws, input, signals, p);
  } catch (err) {
    deps.logger.warn({ jobId: job.id, err }, "could not keep the agent's work");
    result = p.pushed ?? job.result ?? unpushed(job, input);
    fail = failure('push', deps.redact(failureMessage(jobBranch(job), p.pushed !== null, err)));
  }
  const diffStat = p.diffStat === null ? null : deps.redact(p.diffStat);
  return { result, failure: fail, notes: p.notes.map(deps.redact), diffStat };
}

async function runSteps(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  signals: FinalizeSignals,
  p: Progress,
): Promise<JobResult | null> {
  const base = ws.checkout!.baseCommit;
  if (!(await commitWork(deps, job, ws, input, p))) {
    if (!input.succeeded) return null;
    p.notes.push('no changes to push');
    return { ...noStat(jobBranch(job), base), no_changes: true };
  }
  const result = (p.pushed = await pushBranch(deps, job, ws, input, signals));
  p.notes.push(
    `pushed ${result.wip ? 'work in progress to ' : ''}branch ${result.branch} at ${result.commit!.slice(0, 12)}`,
  );
  if (input.succeeded) await openPullRequest(deps, job, ws, input, result, signals, p.notes);
  return result;
}

/** Step 1: commits what the agent left. Returns false when it left nothing (no new commits
 *  either). */
async function commitWork(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  p: Progress,
): Promise<boolean> {
  const base = ws.checkout!.baseCommit;
  if (!(await deps.git.hasChanges(ws.dir, base))) return false;
  await deps.git.commitAll(ws.dir, deps.redact(commitMessage(job, input)));
  p.diffStat = capped(await deps.git.describeChanges(ws.dir, base));
  p.notes.push(`changes left:\n${p.diffStat}`);
  return true;
}

/** Step 2: pushes the job's branch. Bounded by the deadline only: the work is kept after any
 *  stop, a cancel included. Returns the result with the pushed commit. */
async function pushBranch(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  signals: FinalizeSignals,
): Promise<JobResult> {
  const repo = job.repo!;
  const request = {
    url: repo.url,
    branch: jobBranch(job),
    credentials: deps.hostFor(repo.forge)?.gitCredentials() ?? null,
    expectedRemote: job.result?.commit ?? repo.start_commit ?? null,
  };
  const commit = await withRetries(deps.logger, 'push', delayOf(deps), signals.deadline, () =>
    deps.git.push(ws.dir, request, signals.deadline),
  );
  const stat = await deps.git.diffStat(ws.dir, ws.checkout!.baseCommit);
  return { branch: request.branch, commit, ...stat, ...(input.succeeded ? {} : { wip: true }) };
}

/** Step 3: opens or updates the pull request, unless the job was withdrawn. A withdrawal aborts
 *  the request in flight and any back-off; then `result` is marked work in progress. */
async function openPullRequest(
  deps: RepoDeps,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  result: JobResult,
  signals: FinalizeSignals,
  notes: string[],
): Promise<void> {
  if (signals.withdrawn.aborted) return markWithdrawn(result, notes);
  const host = job.repo!.open_pr ? deps.hostFor(job.repo!.forge) : null;
  if (!host) return;
  const request = pullRequestFor(deps, host, job, ws, input, result);
  const signal = AbortSignal.any([signals.deadline, signals.withdrawn]);
  const pr = await withRetries(deps.logger, 'pull request', delayOf(deps), signal, () =>
    untilAborted(signal, host.openPullRequest(request, signal)),
  ).catch((err: unknown) => {
    if (signals.withdrawn.aborted) return null; // the cancel, not the forge, ended the request
    throw err;
  });
  if (!pr || signals.withdrawn.aborted) return markWithdrawn(result, notes);
  result.pr_url = pr.url;
  result.pr_number = pr.number;
  notes.push(`${pr.created ? 'opened' : 'updated'} pull request #${pr.number}: ${pr.url}`);
  deps.bus.publish({ type: 'pr.opened', jobId: job.id, url: pr.url, number: pr.number });
}

/** The pull request to ask `host` for, its words redacted. */
function pullRequestFor(
  deps: RepoDeps,
  host: GitHost,
  job: Job,
  ws: Workspace,
  input: FinalizeInput,
  result: JobResult,
): PullRequestRequest {
  const repo = job.repo!;
  const target = host.repoFor(repo.url);
  if (!target)
    throw new Error(
      `${repo.url} is not a repository on forge "${repo.forge}"; check repos:/forges: in forge.yaml`,
    );
  return {
    repo: target,
    head: result.branch,
    base: ws.checkout!.baseBranch,
    title: deps.redact(prTitle(job)),
    body: deps.redact(prBody(deps.publicUrl, job, input, result)),
    draft: repo.draft,
  };
}

function markWithdrawn(result: JobResult, notes: string[]): void {
  result.wip = true;
  notes.push(WITHDRAWN_NOTE);
}

function delayOf(deps: RepoDeps): number {
  return deps.retryDelayMs ?? 500;
}

function noStat(branch: string, commit: string | null): JobResult {
  return { branch, commit, changed_files: 0, insertions: 0, deletions: 0 };
}

/** The result of a first push that failed: the branch named, nothing on it yet. */
function unpushed(job: Job, input: FinalizeInput): JobResult {
  return { ...noStat(jobBranch(job), null), wip: !input.succeeded };
}

function failureMessage(branch: string, pushed: boolean, err: unknown): string {
  const why = err instanceof Error ? err.message : String(err);
  return pushed
    ? `the agent's work was pushed to ${branch}, but the pull request could not be opened: ${why}. Fix the cause and retry the job to open it`
    : `the agent's work could not be pushed to ${branch}: ${why}. The commits are kept in Forge's mirror; fix the cause and retry the job`;
}

/** The stat's first lines and its summary line, within DIFF_STAT_CHARS, saying when it was cut. */
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
