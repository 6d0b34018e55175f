import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ForgeConfig } from '../config.ts';
import { formatDuration } from '../domain/duration.ts';
import { isForgeError } from '../domain/errors.ts';
import { failure, isRetryable, type Failure } from '../domain/failure.ts';
import { hasRetriesLeft, type Attempt, type Job, type JobResult } from '../domain/job.ts';
import type { AgentAdapter, AgentReport } from '../ports/agent.ts';
import type { Sandbox, SandboxExit } from '../ports/sandbox.ts';
import type { Claim, JobStore, NextState } from '../ports/store.ts';
import { resolveProfile } from './agent-settings.ts';
import { finalizeWork, prepareWorkspace, type RepoDeps, type Workspace } from './repo-work.ts';
import { AttemptOutput } from './attempt-output.ts';
import type { EventBus } from './events.ts';
import { findExecutable } from '../lib/find-executable.ts';
import { buildPrompt } from './retry-prompt.ts';

/** Why Forge stopped an attempt from the outside. */
export type StopReason =
  'cancelled' | 'shutdown' | 'lease_lost' | 'max_duration' | 'inactivity' | 'budget';

export interface AttemptDeps {
  store: JobStore;
  bus: EventBus;
  sandbox: Sandbox;
  /** Git and forges, for jobs with a repository. */
  repos: RepoDeps;
  /** The adapter for a configured agent name, or null when it is not configured. */
  resolveAgent: (name: string) => AgentAdapter | null;
  logger: Logger;
  owner: string;
  dataDir: string;
  /** Server environment variables every agent gets (PATH, LANG, …), chosen by the composition root. */
  baseEnv: Record<string, string>;
  config: ForgeConfig;
  /** Paths agents must never read (the database, the config file). */
  denyRead: string[];
  retryBackoffMs: number;
  /** Secret values redacted from every output line. */
  secrets: string[];
  /** How often the output tail is saved to the store while the attempt runs. */
  tailSaveMs?: number;
}

export function attemptDir(dataDir: string, jobId: string, attempt: number): string {
  return join(dataDir, 'jobs', jobId, `attempt-${attempt}`);
}

export function attemptLogPath(dataDir: string, jobId: string, attempt: number): string {
  return join(attemptDir(dataDir, jobId, attempt), 'output.log');
}

/** Everything one attempt accumulates while it runs. */
interface AttemptState {
  job: Job;
  attempt: number;
  dir: string;
  stop: AbortController;
  output: AttemptOutput;
  reports: AgentReport;
  exit: SandboxExit | null;
  /** Set once the workspace exists; finalize keeps what the agent left in it. */
  ws: Workspace | null;
  /** Resets the inactivity watchdog. */
  touch: () => void;
  log: Logger;
}

/**
 * Runs one attempt of a claimed job from workspace to closed record. `stop` aborts it from the
 * outside with a StopReason; max duration and inactivity abort it the same way. Never throws:
 * every path ends in `finishAttempt`, and the output so far is kept.
 */
export async function runAttempt(
  deps: AttemptDeps,
  claim: Claim,
  stop: AbortController,
): Promise<void> {
  const { job, attempt } = claim;
  const dir = attemptDir(deps.dataDir, job.id, attempt);
  const log = deps.logger.child({ jobId: job.id, attempt });
  await mkdir(join(dir, 'private', 'home'), { recursive: true });
  await mkdir(join(dir, 'private', 'tmp'), { recursive: true });

  let inactivity: NodeJS.Timeout | undefined;
  const state: AttemptState = {
    job,
    attempt,
    dir,
    stop,
    log,
    exit: null,
    reports: {},
    ws: null,
    output: new AttemptOutput({
      logPath: join(dir, 'output.log'),
      bus: deps.bus,
      jobId: job.id,
      attempt,
      secrets: deps.secrets,
    }),
    touch: () => {
      clearTimeout(inactivity);
      inactivity = setTimeout(
        () => stop.abort('inactivity' satisfies StopReason),
        job.inactivity_timeout_ms,
      );
    },
  };
  const maxDuration = setTimeout(
    () => stop.abort('max_duration' satisfies StopReason),
    job.max_duration_ms,
  );
  state.touch();

  let agentFailure: Failure | null;
  try {
    agentFailure = await runAgent(deps, state);
  } catch (err) {
    log.error({ err }, 'attempt failed unexpectedly');
    agentFailure = failure('sandbox', `Forge could not run the attempt: ${(err as Error).message}`);
  } finally {
    clearTimeout(inactivity);
    clearTimeout(maxDuration);
  }
  await closeAttempt(deps, state, agentFailure ?? state.reports.failure ?? null);
}

/** Prepares and runs the agent; returns a failure found before or instead of a run, else null. */
async function runAgent(deps: AttemptDeps, s: AttemptState): Promise<Failure | null> {
  const { job, attempt, dir, stop } = s;
  const profile = resolveProfile(job, deps.config);
  try {
    s.ws = await prepareWorkspace(deps.repos, job, dir, profile.continueFrom, stop.signal);
  } catch (err) {
    return failure('workspace', `could not prepare the workspace: ${(err as Error).message}`);
  }
  const workspaceDir = s.ws.dir;
  if (job.budget_usd !== null && job.cost_usd >= job.budget_usd) {
    return failure(
      'budget_exceeded',
      `the job already spent $${job.cost_usd.toFixed(4)} of its $${job.budget_usd} budget; raise budget_usd to continue`,
    );
  }
  const adapter = deps.resolveAgent(job.agent);
  if (!adapter) {
    return failure(
      'config',
      `agent "${job.agent}" is no longer configured; add it under agents: in forge.yaml or submit with another agent`,
    );
  }
  const record = attempt > 1 ? await deps.store.get(job.id) : null;
  const previous = record?.attempts.find((a) => a.number === attempt - 1) ?? null;
  const prompt = buildPrompt(job.task, previous);
  const privateDir = join(dir, 'private');
  const promptFile = join(privateDir, 'prompt.txt');
  await writeFile(promptFile, prompt);
  let invocation;
  try {
    invocation = await adapter.prepare({
      job,
      attempt,
      prompt,
      promptFile,
      workspace: workspaceDir,
      privateDir,
      remainingBudgetUsd:
        job.budget_usd === null ? null : Math.max(0, job.budget_usd - job.cost_usd),
      settings: profile.settings,
      resumeSessionId: resumableSession(previous, profile.resumeInterrupted),
    });
  } catch (err) {
    return failure('config', (err as Error).message);
  }
  s.output.setParser(invocation.parser, (report) => {
    Object.assign(s.reports, report);
    const spent = job.cost_usd + (s.reports.cost_usd ?? 0);
    if (job.budget_usd !== null && spent > job.budget_usd)
      stop.abort('budget' satisfies StopReason);
  });
  const env: Record<string, string> = {
    ...deps.baseEnv,
    HOME: join(privateDir, 'home'),
    TMPDIR: join(privateDir, 'tmp'),
    ...profile.env,
    ...invocation.env,
    FORGE_JOB_ID: job.id,
    FORGE_ATTEMPT: String(attempt),
    FORGE_PROMPT_FILE: promptFile,
  };
  const program = invocation.command[0] ?? '';
  if (!findExecutable(program, env.PATH ?? '', workspaceDir)) {
    return failure(
      'agent_not_found',
      `agent "${job.agent}": "${program}" was not found on PATH; ${invocation.installHint}`,
    );
  }
  if (stop.signal.aborted) return null;
  let run;
  try {
    run = await deps.sandbox.start(
      {
        command: invocation.command,
        cwd: workspaceDir,
        env,
        tmpDir: join(privateDir, 'tmp'),
        writable: [privateDir],
        allowedDomains: profile.allowedDomains,
        denyRead: deps.denyRead,
        labels: { jobId: job.id, attempt },
      },
      stop.signal,
    );
  } catch (err) {
    return failure(
      'sandbox',
      `the sandbox could not start the agent: ${isForgeError(err) ? err.message : String(err)}`,
    );
  }
  for (const notice of run.notices) s.output.note(notice);
  await deps.store
    .setSandboxRef(job.id, attempt, run.ref)
    .catch((err: unknown) => s.log.warn({ err }, 'could not record sandbox ref'));
  const saver = saveProgressPeriodically(deps, s);
  try {
    for await (const chunk of run.output) {
      s.touch();
      s.output.push(chunk);
    }
    s.exit = await run.exited;
  } finally {
    clearInterval(saver);
  }
  return null;
}

/** A retry resumes the agent's previous session only when that attempt was cut off from the
 *  outside (server restart, inactivity) — not when it produced a bad result, which a fresh start
 *  with the retry prompt handles better. */
function resumableSession(previous: Attempt | null, allowed: boolean): string | null {
  if (!allowed || !previous?.session_id) return null;
  const category = previous.failure?.category;
  return category === 'interrupted' || category === 'inactivity' ? previous.session_id : null;
}

/** Saves output tail and cost to the store while the attempt runs, so `GET /jobs/{id}` shows
 *  recent output and live cost, and a crash loses at most one interval of either. */
function saveProgressPeriodically(deps: AttemptDeps, s: AttemptState): NodeJS.Timeout {
  let saved = 0;
  return setInterval(() => {
    if (s.output.version === saved) return;
    saved = s.output.version;
    deps.store
      .saveProgress(s.job.id, s.attempt, {
        output: s.output.tail.text(),
        truncated: s.output.tail.truncated,
        cost_usd: s.reports.cost_usd ?? null,
        turns: s.reports.turns ?? null,
        session_id: s.reports.session_id ?? null,
      })
      .catch((err: unknown) => s.log.warn({ err }, 'could not save attempt progress'));
  }, deps.tailSaveMs ?? 1000);
}

/** How long committing, pushing and opening the PR may take after the agent exited. */
const FINALIZE_TIMEOUT_MS = 5 * 60_000;

async function closeAttempt(
  deps: AttemptDeps,
  s: AttemptState,
  agentFailure: Failure | null,
): Promise<void> {
  let outcome = decide(s, agentFailure, deps.retryBackoffMs);
  let jobResult: JobResult | null = null;
  if (s.ws?.checkout) {
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
      AbortSignal.timeout(FINALIZE_TIMEOUT_MS),
    );
    for (const note of kept.notes) for (const line of note.split('\n')) s.output.note(line);
    jobResult = kept.result;
    if (kept.failure && !outcome.failure)
      outcome = { failure: kept.failure, next: { status: 'FAILED', failure: kept.failure } };
    else if (kept.failure) s.output.note(`${kept.failure.category}: ${kept.failure.message}`);
  }
  if (outcome.failure) s.output.note(`${outcome.failure.category}: ${outcome.failure.message}`);
  s.output.close();
  const record = await deps.store
    .finishAttempt(
      s.job.id,
      deps.owner,
      s.attempt,
      {
        exit_code: s.exit?.exitCode ?? null,
        output: s.output.tail.text(),
        truncated: s.output.tail.truncated,
        failure: outcome.failure,
        cost_usd: s.reports.cost_usd ?? null,
        turns: s.reports.turns ?? null,
        session_id: s.reports.session_id ?? null,
        summary: s.reports.summary ?? null,
        job_result: jobResult,
      },
      outcome.next,
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

/** Why Forge stopped an attempt, as the failure a person reads. */
function stopFailure(reason: StopReason, job: Job): Failure {
  switch (reason) {
    case 'cancelled':
      return failure('cancelled', 'cancelled on request');
    case 'shutdown':
      return failure(
        'interrupted',
        'the Forge server shut down while this attempt ran; it will be retried',
      );
    case 'lease_lost':
      return failure(
        'interrupted',
        'this server lost its lease on the job (cancelled or recovered elsewhere)',
      );
    case 'max_duration':
      return failure(
        'max_duration',
        `the attempt ran longer than max_duration (${formatDuration(job.max_duration_ms)}) and was stopped; raise max_duration or split the task`,
      );
    case 'inactivity':
      return failure(
        'inactivity',
        `the agent printed nothing for ${formatDuration(job.inactivity_timeout_ms)} (inactivity_timeout) and was stopped`,
      );
    case 'budget':
      return failure(
        'budget_exceeded',
        `the job spent more than its budget of $${job.budget_usd ?? 0}; raise budget_usd to continue`,
      );
  }
}

/** Turns how the attempt ended into its failure (if any) and the job's next state. */
function decide(
  s: AttemptState,
  agentFailure: Failure | null,
  backoffMs: number,
): { failure: Failure | null; next: NextState } {
  const reason = s.stop.signal.aborted ? (s.stop.signal.reason as StopReason) : null;
  let fail = reason ? stopFailure(reason, s.job) : agentFailure;
  if (!fail && s.exit && s.exit.exitCode !== 0) {
    fail = failure(
      'agent_error',
      s.exit.exitCode === null
        ? `the agent was killed by ${s.exit.signal ?? 'a signal'}`
        : `the agent exited with code ${s.exit.exitCode}; its last output lines say why`,
    );
  }
  if (!fail && !s.exit) fail = failure('sandbox', 'the agent did not run');
  if (!fail) return { failure: null, next: { status: 'SUCCEEDED' } };
  if (isRetryable(fail.category) && hasRetriesLeft({ ...s.job, attempt_count: s.attempt })) {
    return {
      failure: fail,
      next: { status: 'PENDING', not_before: Date.now() + (reason === 'shutdown' ? 0 : backoffMs) },
    };
  }
  return { failure: fail, next: { status: 'FAILED', failure: fail } };
}
