/**
 * One attempt of a claimed job, from workspace to closed record. The steps, in order:
 *   start  (start-agent.ts)   prepare the workspace and the agent, start it in the sandbox
 *   run    (here)             pump its output, watch budget, inactivity and max duration
 *   close  (close-attempt.ts) decide the outcome, finalize the work (commit, push, pull request:
 *                             repo-work.ts), then finish the attempt in the store
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { failure, type Failure } from '../domain/failure.ts';
import type { Job } from '../domain/job.ts';
import type { AgentAdapter, AgentReport } from '../ports/agent.ts';
import type { AttemptLogs } from '../ports/logs.ts';
import type { Sandbox, SandboxExit, SandboxRun } from '../ports/sandbox.ts';
import type { AttemptProgressLog, Claim, JobQueue, JobRecords } from '../ports/store.ts';
import type { StewardStore } from '../ports/steward-store.ts';
import { AttemptOutput } from './attempt-output.ts';
import { closeAttempt } from './close-attempt.ts';
import type { EventBus } from './events.ts';
import type { Redactor } from './redactor.ts';
import type { RepoDeps, Workspace } from './repo-work.ts';
import { startAgent } from './start-agent.ts';
import type { AttemptControl, StopReason } from './stop-reason.ts';

export type { StopReason };

export interface AttemptDeps {
  store: JobQueue & AttemptProgressLog & Pick<JobRecords, 'get'>;
  /** Where stewards' notes are kept (absent: steward runs keep none). */
  stewardNotes?: Pick<StewardStore, 'getNotes' | 'saveNotes'>;
  bus: EventBus;
  /** Where each attempt's full output log is written. */
  logs: AttemptLogs;
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
  /** Paths agents must never read (the database, the config file). */
  denyRead: string[];
  retryBackoffMs: number;
  /** Removes secret values from everything stored, streamed, committed or sent out. */
  redactor: Redactor;
  /** How often the output tail is saved to the store while the attempt runs. */
  tailSaveMs?: number;
}

export function attemptDir(dataDir: string, jobId: string, attempt: number): string {
  return join(dataDir, 'jobs', jobId, `attempt-${attempt}`);
}

/** Everything one attempt accumulates while it runs. */
export interface AttemptState {
  job: Job;
  attempt: number;
  dir: string;
  control: AttemptControl;
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
 * Runs one attempt. `control.stop` aborts it from the outside with a StopReason; max duration and
 * inactivity abort it the same way. Never throws: every path ends in closing the attempt, and the
 * output so far is kept.
 */
export async function runAttempt(
  deps: AttemptDeps,
  claim: Claim,
  control: AttemptControl,
): Promise<void> {
  await driveAttempt(deps, claim, control, (s) => runAgent(deps, s), {});
}

/** How an attempt is driven: a fresh one (runAttempt), or one a previous server started and
 *  this one re-attached to (resume-attempt.ts). */
export interface DriveOptions {
  /** Where the attempt's output continues (a re-attached attempt's log and tail so far). */
  resumeAt?: { offset: number; tail: string };
  /** When the attempt started, for its max duration (default now). */
  startedAt?: number;
}

/** Sets up an attempt's state and watchdogs, runs `body` (start or re-attach, then pump the
 *  output), and closes the attempt whatever happened. */
export async function driveAttempt(
  deps: AttemptDeps,
  claim: Claim,
  control: AttemptControl,
  body: (s: AttemptState) => Promise<Failure | null>,
  opts: DriveOptions,
): Promise<void> {
  const { job, attempt } = claim;
  const { stop } = control;
  const dir = attemptDir(deps.dataDir, job.id, attempt);
  await mkdir(join(dir, 'private', 'home'), { recursive: true });
  await mkdir(join(dir, 'private', 'tmp'), { recursive: true });
  let inactivity: NodeJS.Timeout | undefined;
  const state: AttemptState = {
    job,
    attempt,
    dir,
    control,
    log: deps.logger.child({ jobId: job.id, attempt }),
    exit: null,
    reports: {},
    ws: null,
    output: new AttemptOutput({
      log: deps.logs.open({ job_id: job.id, attempt }),
      bus: deps.bus,
      jobId: job.id,
      attempt,
      redactor: deps.redactor,
      ...(opts.resumeAt ? { resumeAt: opts.resumeAt } : {}),
    }),
    touch: () => {
      clearTimeout(inactivity);
      inactivity = setTimeout(
        () => stop.abort('inactivity' satisfies StopReason),
        job.inactivity_timeout_ms,
      );
    },
  };
  // In force until the attempt is closed, including the wait for the agent's output to end.
  const ranFor = Date.now() - (opts.startedAt ?? Date.now());
  const maxDuration = setTimeout(
    () => stop.abort('max_duration' satisfies StopReason),
    Math.max(0, job.max_duration_ms - ranFor),
  );
  state.touch();
  let agentFailure: Failure | null;
  try {
    agentFailure = await body(state);
  } catch (err) {
    state.log.error({ err }, 'attempt failed unexpectedly');
    agentFailure = failure('sandbox', `Forge could not run the attempt: ${(err as Error).message}`);
  } finally {
    clearTimeout(inactivity);
  }
  try {
    await closeAttempt(deps, state, agentFailure ?? state.reports.failure ?? null);
  } finally {
    clearTimeout(maxDuration);
  }
}

/** Starts the agent and pumps its output until it ended; returns a failure found before or
 *  instead of a run, else null (the exit status is in `s.exit`). */
async function runAgent(deps: AttemptDeps, s: AttemptState): Promise<Failure | null> {
  const started = await startAgent(deps, s);
  if (!started.ok) return started.failure;
  const { run } = started;
  for (const notice of run.notices) s.output.note(notice);
  await deps.store
    .setSandboxRef({ job_id: s.job.id, attempt: s.attempt }, run.ref)
    .catch((err: unknown) => s.log.warn({ err }, 'could not record sandbox ref'));
  await pumpOutput(deps, s, run);
  return null;
}

/** Feeds the run's output to the attempt until it ends, saving progress as it goes; records the
 *  exit. */
export async function pumpOutput(
  deps: AttemptDeps,
  s: AttemptState,
  run: SandboxRun,
): Promise<void> {
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
}

/** Saves output tail and cost to the store while the attempt runs, so `GET /jobs/{id}` shows
 *  recent output and live cost, and a crash loses at most one interval of either. */
function saveProgressPeriodically(deps: AttemptDeps, s: AttemptState): NodeJS.Timeout {
  let saved = 0;
  return setInterval(() => {
    if (s.output.version === saved) return;
    saved = s.output.version;
    deps.store
      .saveProgress(
        { job_id: s.job.id, attempt: s.attempt },
        {
          output: s.output.tail.text(),
          truncated: s.output.tail.truncated,
          cost_usd: s.reports.cost_usd ?? null,
          turns: s.reports.turns ?? null,
          session_id: s.reports.session_id ?? null,
        },
      )
      .catch((err: unknown) => s.log.warn({ err }, 'could not save attempt progress'));
  }, deps.tailSaveMs ?? 1000);
}
