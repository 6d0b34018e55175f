/**
 * The start of an attempt: its workspace, its prompt, the agent's command line, and the agent
 * started in the sandbox. Everything that can go wrong before the agent runs becomes a failure a
 * person can act on.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isForgeError } from '../domain/errors.ts';
import { failure, type Failure } from '../domain/failure.ts';
import type { Attempt } from '../domain/job.ts';
import type { AgentInvocation } from '../ports/agent.ts';
import type { SandboxRun } from '../ports/sandbox.ts';
import { resolveProfile, type ResolvedProfile } from './agent-settings.ts';
import { NOTES_FILE } from './notes-file.ts';
import { prepareWorkspace } from './repo-work.ts';
import { buildPrompt } from './retry-prompt.ts';
import { planResume, sessionNote, type ResumeDecision } from './session-resume.ts';
import type { AttemptDeps, AttemptState } from './run-attempt.ts';
import type { StopReason } from './stop-reason.ts';

export type Started = { ok: true; run: SandboxRun } | { ok: false; failure: Failure | null };

/** Prepares and starts the agent. `{ok: false, failure: null}`: stopped from the outside before
 *  it started (the stop reason says why). */
export async function startAgent(deps: AttemptDeps, s: AttemptState): Promise<Started> {
  const { job } = s;
  const { stop } = s.control;
  const profile = resolveProfile(job);
  try {
    s.ws = await prepareWorkspace(deps.repos, job, s.dir, profile.continueFrom, stop.signal);
    // A server that re-attaches to this attempt after a restart finalizes from this.
    await writeFile(join(s.dir, CHECKOUT_FILE), JSON.stringify(s.ws.checkout));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return refused('workspace', `could not prepare the workspace: ${reason}`);
  }
  if (job.budget_usd !== null && job.cost_usd >= job.budget_usd) {
    return refused(
      'budget_exceeded',
      `the job already spent $${job.cost_usd.toFixed(4)} of its $${job.budget_usd} budget; raise budget_usd to continue`,
    );
  }
  const prepared = await prepareInvocation(deps, s, profile, { resume: true });
  if (!prepared.ok) return prepared;
  if (prepared.sessionNote) s.output.note(prepared.sessionNote);
  if (stop.signal.aborted) return { ok: false, failure: null };
  return startInSandbox(deps, s, profile, prepared.invocation);
}

function refused(category: Failure['category'], message: string): Started {
  return { ok: false, failure: failure(category, message) };
}

/** Where the attempt's checkout (base branch and commit) is kept, beside its workspace. */
export const CHECKOUT_FILE = 'checkout.json';

/** The agent's command line for this attempt, with its prompt written to a private file. With
 *  `resume`, it continues an earlier agent session where one applies (session-resume.ts) and
 *  returns the line for the job's log saying whether it did; without (re-attaching to a running
 *  attempt), the command line is only rebuilt and no session is touched. */
export async function prepareInvocation(
  deps: AttemptDeps,
  s: AttemptState,
  profile: ResolvedProfile,
  opts: { resume?: boolean } = {},
): Promise<
  | { ok: true; invocation: AgentInvocation; sessionNote: string | null }
  | { ok: false; failure: Failure }
> {
  const { job, attempt } = s;
  const adapter = deps.resolveAgent(job.agent);
  if (!adapter) {
    return {
      ok: false,
      failure: failure(
        'config',
        `agent "${job.agent}" is no longer configured; add it under agents: in forge.yaml or submit with another agent`,
      ),
    };
  }
  const record = attempt > 1 ? await deps.store.get(job.id) : null;
  const previous = record?.attempts.find((a) => a.number === attempt - 1) ?? null;
  const decision = opts.resume ? await decideResume(deps, s, previous, profile) : null;
  const plan = decision?.plan ?? null;
  const privateDir = join(s.dir, 'private');
  const promptFile = join(privateDir, 'prompt.txt');
  const prompt = buildPrompt(job.task, previous);
  await writeFile(promptFile, prompt);
  try {
    const invocation = await adapter.prepare({
      job,
      attempt,
      prompt,
      promptFile,
      workspace: s.ws!.dir,
      privateDir,
      remainingBudgetUsd:
        job.budget_usd === null ? null : Math.max(0, job.budget_usd - job.cost_usd),
      settings: profile.settings,
      resumeSessionId: plan?.sessionId ?? null,
      sessionDirs: plan?.sessionDirs ?? [],
    });
    const note = plan ? sessionNote(plan, invocation) : (decision?.note ?? null);
    return { ok: true, invocation, sessionNote: note };
  } catch (err) {
    return { ok: false, failure: failure('config', (err as Error).message) };
  }
}

async function decideResume(
  deps: AttemptDeps,
  s: AttemptState,
  previous: Attempt | null,
  profile: ResolvedProfile,
): Promise<ResumeDecision> {
  const { job, attempt } = s;
  const parent =
    attempt === 1 && job.parent_id !== null
      ? await deps.store.get(job.parent_id).catch((err: unknown) => {
          s.log.warn({ err }, 'could not read the parent job');
          return null;
        })
      : null;
  return planResume({
    job,
    attempt,
    previous,
    parent,
    resumeInterrupted: profile.resumeInterrupted,
    dataDir: deps.dataDir,
  });
}

/** Reads the agent's reports (cost, turns, session) from its output; stops the attempt when its
 *  cost passes the job's budget. */
export function watchReports(s: AttemptState, invocation: AgentInvocation): void {
  const { job, control } = s;
  s.output.setParser(invocation.parser, (report) => {
    Object.assign(s.reports, report);
    const spent = job.cost_usd + (s.reports.cost_usd ?? 0);
    if (job.budget_usd !== null && spent > job.budget_usd)
      control.stop.abort('budget' satisfies StopReason);
  });
}

async function startInSandbox(
  deps: AttemptDeps,
  s: AttemptState,
  profile: ResolvedProfile,
  invocation: AgentInvocation,
): Promise<Started> {
  const { job, attempt, control } = s;
  const privateDir = join(s.dir, 'private');
  watchReports(s, invocation);
  const env: Record<string, string> = {
    ...deps.baseEnv,
    HOME: join(privateDir, 'home'),
    TMPDIR: join(privateDir, 'tmp'),
    ...profile.env,
    ...invocation.env,
    FORGE_JOB_ID: job.id,
    FORGE_ATTEMPT: String(attempt),
    FORGE_PROMPT_FILE: join(privateDir, 'prompt.txt'),
  };
  try {
    const run = await deps.sandbox.start(
      {
        command: invocation.command,
        cwd: s.ws!.dir,
        env,
        tmpDir: join(privateDir, 'tmp'),
        writable: [privateDir],
        allowedDomains: profile.allowedDomains,
        denyRead: deps.denyRead,
        labels: { jobId: job.id, attempt },
        stdinFile: invocation.stdinFile ?? null,
        maxDurationMs: job.max_duration_ms,
        ...(job.settings.pod ? { pod: job.settings.pod } : {}),
        ...(job.settings.notes && s.ws?.checkout ? { carry: [NOTES_FILE] } : {}),
      },
      control.stop.signal,
    );
    return { ok: true, run };
  } catch (err) {
    const reason = isForgeError(err) ? err.message : String(err);
    // The sandbox looks the program up on its own PATH (a pod's is not this server's).
    if (isForgeError(err) && err.code === 'not_found') {
      return refused(
        'agent_not_found',
        `agent "${job.agent}": ${reason}; ${invocation.installHint}`,
      );
    }
    return refused('sandbox', `the sandbox could not start the agent: ${reason}`);
  }
}
