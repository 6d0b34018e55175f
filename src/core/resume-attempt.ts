/**
 * Re-attaching to an attempt a previous server started and that still runs in a sandbox that
 * outlives its server (a worker pod dialing home). The store's `adopt` gave this server the
 * attempt's lease; here the attempt goes on as if this server had started it: its log and tail
 * continue where they were, its agent's reports are read from the new output, its max duration
 * counts from when it really started, and it is closed (work committed, pushed, pull request) as
 * any attempt. When the sandbox says the attempt is gone, it is closed as `interrupted` and
 * retried like any attempt whose server died.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failure, type Failure } from '../domain/failure.ts';
import type { Checkout } from '../ports/git-workspace.ts';
import type { AdoptedAttempt } from '../ports/store.ts';
import { resolveProfile } from './agent-settings.ts';
import { driveAttempt, pumpOutput, type AttemptDeps, type AttemptState } from './run-attempt.ts';
import { CHECKOUT_FILE, prepareInvocation, watchReports } from './start-agent.ts';
import { OUTPUT_TAIL_BYTES } from '../domain/job.ts';
import type { AttemptControl } from './stop-reason.ts';

export async function resumeAttempt(
  deps: AttemptDeps,
  adopted: AdoptedAttempt,
  control: AttemptControl,
): Promise<void> {
  const key = { job_id: adopted.job.id, attempt: adopted.attempt };
  const record = await deps.store.get(adopted.job.id);
  const previous = record?.attempts.find((a) => a.number === adopted.attempt);
  // The log is the source of truth (the saved tail may be a second behind it).
  const size = (await deps.logs.read(key, 0, 0).catch(() => null))?.size ?? 0;
  const from = Math.max(0, size - OUTPUT_TAIL_BYTES);
  const tail = (await deps.logs.read(key, from, size - from).catch(() => null))?.bytes;
  await driveAttempt(deps, adopted, control, (s) => reattach(deps, s, adopted.sandbox_ref), {
    resumeAt: { offset: size, tail: tail?.toString('utf8') ?? previous?.output ?? '' },
    ...(previous ? { startedAt: Date.parse(previous.started_at) } : {}),
  });
}

async function reattach(deps: AttemptDeps, s: AttemptState, ref: string): Promise<Failure | null> {
  const gone = (why: string) =>
    failure(
      'interrupted',
      `the Forge server restarted while this attempt ran and could not re-attach to it (${why}); the attempt was interrupted`,
    );
  const adopt = deps.sandbox.adopt?.bind(deps.sandbox);
  if (!adopt) return gone(`the ${deps.sandbox.kind} sandbox cannot re-attach`);
  const workspace = join(s.dir, 'workspace');
  let checkout: Checkout | null;
  try {
    checkout = JSON.parse(await readFile(join(s.dir, CHECKOUT_FILE), 'utf8')) as Checkout | null;
  } catch {
    return gone('its workspace is no longer on this server');
  }
  s.ws = { dir: workspace, checkout };
  // The same invocation as at the start (its files are rewritten alike), for its output parser.
  const prepared = await prepareInvocation(deps, s, resolveProfile(s.job));
  if (!prepared.ok) return prepared.failure;
  watchReports(s, prepared.invocation);
  const run = await adopt(
    ref,
    {
      labels: { jobId: s.job.id, attempt: s.attempt },
      cwd: workspace,
      tmpDir: join(s.dir, 'private', 'tmp'),
    },
    s.control.stop.signal,
  ).catch((err: unknown) => {
    s.log.warn({ err }, 're-attaching failed');
    return null;
  });
  if (!run) return gone('its sandbox no longer has it');
  s.output.note('re-attached to the running attempt after a restart of the Forge server');
  await pumpOutput(deps, s, run);
  return null;
}
