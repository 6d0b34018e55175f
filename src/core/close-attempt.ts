/**
 * The end of an attempt. Three steps with three names:
 *   close    — this file: decide how the attempt ended and what becomes of the job
 *   finalize — keep the agent's work: commit, push, open or update the pull request (repo-work.ts)
 *   finish   — the store's atomic transition: the attempt's record closed, the job moved on
 * Everything stored or published here has passed through the redactor.
 */
import { failure, type Failure } from '../domain/failure.ts';
import type { JobResult } from '../domain/job.ts';
import { nextAfterAttempt, type NextState } from '../domain/lifecycle.ts';
import { keepNotes } from './keep-notes.ts';
import { finalizeWork } from './repo-work.ts';
import type { AttemptDeps, AttemptState } from './run-attempt.ts';
import { stopFailure, type StopReason } from './stop-reason.ts';

/** How long committing, pushing and opening the PR may take after the agent exited. */
const FINALIZE_TIMEOUT_MS = 5 * 60_000;

interface Outcome {
  failure: Failure | null;
  next: NextState;
}

export async function closeAttempt(
  deps: AttemptDeps,
  s: AttemptState,
  agentFailure: Failure | null,
): Promise<void> {
  let outcome = decide(s, agentFailure, deps.retryBackoffMs);
  const kept = await keepWork(deps, s, outcome);
  if (kept.failure && !outcome.failure)
    outcome = { failure: kept.failure, next: failed(kept.failure) };
  else if (kept.failure) s.output.note(`${kept.failure.category}: ${kept.failure.message}`);
  if (outcome.failure) s.output.note(`${outcome.failure.category}: ${outcome.failure.message}`);
  s.output.close();
  const redact = (text: string | null | undefined) =>
    text === null || text === undefined ? null : deps.redactor.redact(text);
  const record = await deps.store
    .finish(
      { job_id: s.job.id, attempt: s.attempt },
      deps.owner,
      {
        exit_code: s.exit?.exitCode ?? null,
        output: s.output.tail.text(),
        truncated: s.output.tail.truncated,
        failure: redactFailure(outcome.failure, redact),
        cost_usd: s.reports.cost_usd ?? null,
        turns: s.reports.turns ?? null,
        session_id: s.reports.session_id ?? null,
        summary: redact(s.reports.summary),
        diff_stat: redact(kept.diffStat),
        job_result: kept.result,
      },
      redactNext(outcome.next, redact),
    )
    .catch((err: unknown) => {
      s.log.error({ err }, 'could not close the attempt; recovery will close it');
      return null;
    });
  if (record) {
    deps.bus.publish({
      type: 'job.status',
      jobId: s.job.id,
      status: record.status,
      attempt: s.attempt,
      failure: record.failure,
    });
  }
  s.log.info({ status: record?.status, failure: outcome.failure?.category }, 'attempt finished');
}

/** Finalizes the work of a job with a repository; what it did goes into the output. */
async function keepWork(
  deps: AttemptDeps,
  s: AttemptState,
  outcome: Outcome,
): Promise<{ result: JobResult | null; failure: Failure | null; diffStat: string | null }> {
  if (!s.ws?.checkout) return { result: null, failure: null, diffStat: null };
  // Before the commit: the notes are the steward's, never part of its change.
  const notes = s.job.settings.notes;
  if (notes && deps.stewardNotes) {
    const line = await keepNotes(
      { store: deps.stewardNotes, redact: (t) => deps.redactor.redact(t) },
      s.job.id,
      notes,
      s.ws.dir,
    ).catch((err: unknown) => `the notes could not be kept: ${(err as Error).message}`);
    s.output.note(line);
  }
  const kept = await finalizeWork(
    deps.repos,
    s.job,
    s.ws,
    {
      attempt: s.attempt,
      succeeded: outcome.failure === null,
      summary: s.reports.summary ?? null,
      costUsd: s.job.cost_usd + (s.reports.cost_usd ?? 0),
      turns: s.reports.turns ?? null,
    },
    { deadline: AbortSignal.timeout(FINALIZE_TIMEOUT_MS), withdrawn: s.control.withdrawn.signal },
  );
  for (const note of kept.notes) for (const line of note.split('\n')) s.output.note(line);
  return kept;
}

/** Turns how the attempt ended into its failure (if any) and the job's next state. */
function decide(s: AttemptState, agentFailure: Failure | null, backoffMs: number): Outcome {
  const { signal } = s.control.stop;
  const reason = signal.aborted ? (signal.reason as StopReason) : null;
  let fail = reason ? stopFailure(reason, s.job) : agentFailure;
  // A sandbox that knows why the run ended (a remote worker lost or never started) says so.
  if (!fail && s.exit?.failure) fail = s.exit.failure;
  if (!fail && s.exit && s.exit.exitCode !== 0) {
    fail = failure(
      'agent_error',
      s.exit.exitCode === null
        ? `the agent was killed by ${s.exit.signal ?? 'a signal'}`
        : `the agent exited with code ${s.exit.exitCode}; its last output lines say why`,
    );
  }
  if (!fail && !s.exit) fail = failure('sandbox', 'the agent did not run');
  // A server shutting down hands the job back at once; other retries wait a little.
  const retryAfter = reason === 'shutdown' ? 0 : backoffMs;
  return { failure: fail, next: nextAfterAttempt(s.job, s.attempt, fail, retryAfter) };
}

function failed(f: Failure): NextState {
  return { status: 'FAILED', failure: f };
}

function redactFailure(f: Failure | null, redact: (t: string) => string | null): Failure | null {
  return f === null ? null : { category: f.category, message: redact(f.message) ?? '' };
}

function redactNext(next: NextState, redact: (t: string) => string | null): NextState {
  return next.status === 'FAILED' ? failed(redactFailure(next.failure, redact)!) : next;
}
