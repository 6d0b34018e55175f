import { formatDuration } from '../domain/duration.ts';
import type { Attempt, Job, JobRecord } from '../domain/job.ts';

/** The public shape of a job (snake_case; internal bookkeeping like `revision` stays inside). */
export function jobSummary(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    task: job.task,
    agent: job.agent,
    profile: job.profile,
    status: job.status,
    created_at: job.created_at,
    updated_at: job.updated_at,
    max_retries: job.max_retries,
    source: job.source,
    tags: job.tags,
    budget_usd: job.budget_usd,
    cost_usd: job.cost_usd,
    inactivity_timeout: formatDuration(job.inactivity_timeout_ms),
    max_duration: formatDuration(job.max_duration_ms),
    attempt_count: job.attempt_count,
    ...(job.model ? { model: job.model } : {}),
    ...(job.max_turns !== null ? { max_turns: job.max_turns } : {}),
    ...(job.repo ? { repo: job.repo } : {}),
    ...(job.result ? { result: job.result } : {}),
    ...(job.failure ? { failure: job.failure } : {}),
    ...(job.origin ? { origin: job.origin } : {}),
    ...(job.parent_id ? { parent_id: job.parent_id } : {}),
  };
}

function attemptJson(a: Attempt): Record<string, unknown> {
  return {
    number: a.number,
    sandbox: a.sandbox,
    started_at: a.started_at,
    ...(a.finished_at ? { finished_at: a.finished_at } : {}),
    ...(a.exit_code !== null ? { exit_code: a.exit_code } : {}),
    output: a.output,
    truncated: a.truncated,
    ...(a.failure ? { failure: a.failure } : {}),
    ...(a.cost_usd !== null ? { cost_usd: a.cost_usd } : {}),
    ...(a.turns !== null ? { turns: a.turns } : {}),
    ...(a.session_id ? { session_id: a.session_id } : {}),
    ...(a.summary ? { summary: a.summary } : {}),
  };
}

/** The full record. While an attempt runs, `cost_usd` includes what it has spent so far. */
export function jobRecord(record: JobRecord): Record<string, unknown> {
  const running = record.attempts
    .filter((a) => a.finished_at === null)
    .reduce((sum, a) => sum + (a.cost_usd ?? 0), 0);
  const turns = record.attempts.reduce((sum, a) => sum + (a.turns ?? 0), 0);
  return {
    ...jobSummary(record),
    cost_usd: record.cost_usd + running,
    turns,
    attempts: record.attempts.map(attemptJson),
  };
}
