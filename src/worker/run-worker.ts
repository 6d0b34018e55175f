/**
 * `forge worker`: runs one attempt away from Forge. In order:
 *   1. fetch the spec (GET attempt) and lay out the attempt's files under `dir`, paths mapped from
 *      Forge's attempt directory to `dir`;
 *   2. fetch the workspace (GET workspace: a git bundle) — the worker never holds a forge token;
 *   3. run the agent with the spec's environment plus the variables it names from this worker's
 *      own (model credentials from the profile's Secret), output spooled to a file and sent from
 *      the last acknowledged offset (output-sender.ts), heartbeats, cancel by long-poll;
 *   4. at the end — or on cancel, after killing the agent's process group — send the rest of the
 *      output, upload the work as a git bundle (result-bundle.ts), report the exit.
 * Resolves with the worker's exit code: 0 when it reported the agent's exit (whatever that was).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mapCommand } from '../adapters/sandbox/remote/path-map.ts';
import {
  attemptSpecSchema,
  outputAnswerSchema,
  type AttemptSpec,
  type ExitReport,
} from '../adapters/sandbox/remote/protocol.ts';
import { findExecutable } from '../lib/find-executable.ts';
import { startAgentProcess, type AgentExit } from './agent-process.ts';
import { agentEnv, layOut } from './attempt-layout.ts';
import { OutputSender } from './output-sender.ts';
import { uploadResult } from './result-upload.ts';
import { ForgeUnreachable, TokenRefused, WorkerClient } from './worker-client.ts';
import { fetchWorkspace } from './workspace-fetch.ts';

export interface WorkerOptions {
  url: string;
  token: string;
  /** The worker's directory: stands for Forge's attempt directory. */
  dir: string;
  /** This worker's own environment (without its token), for the spec's `inherit_env`. */
  env: Record<string, string | undefined>;
  giveUpAfterMs: number;
  log: (line: string) => void;
  maxBackoffMs?: number;
  /** Aborted when the worker itself is told to stop: the agent is stopped as on a cancel. */
  signal?: AbortSignal;
}

export const WORKER_EXIT = { ok: 0, failed: 1, unreachable: 3, refused: 4 } as const;

/** How long the agent gets between SIGTERM and SIGKILL on cancel: short, Forge waits ~1 s. */
const CANCEL_KILL_GRACE_MS = 200;

export async function runWorker(opts: WorkerOptions): Promise<number> {
  const client = new WorkerClient({
    url: opts.url,
    token: opts.token,
    giveUpAfterMs: opts.giveUpAfterMs,
    log: opts.log,
    ...(opts.maxBackoffMs ? { maxBackoffMs: opts.maxBackoffMs } : {}),
  });
  try {
    return await runAttempt(client, opts);
  } catch (err) {
    opts.log((err as Error).message);
    if (err instanceof ForgeUnreachable) return WORKER_EXIT.unreachable;
    if (err instanceof TokenRefused) return WORKER_EXIT.refused;
    return WORKER_EXIT.failed;
  }
}

async function runAttempt(client: WorkerClient, opts: WorkerOptions): Promise<number> {
  // Stopped before it has its spec (its pod deleted while Forge was out of reach): nothing to save.
  const parsed = attemptSpecSchema.safeParse(await client.json('/attempt', {}, opts.signal));
  if (!parsed.success)
    throw new Error(
      `Forge sent a spec this worker does not understand (${parsed.error.message}); run the same Forge version in the worker image`,
    );
  const spec = parsed.data;
  // Forge takes three missed heartbeats for a dead worker: retries must come faster than that.
  client.capBackoff(spec.heartbeat_ms / 2);
  opts.log(`running attempt ${spec.attempt} of job ${spec.job_id}`);
  const scratch = join(opts.dir, '.forge-worker');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const spool = join(scratch, 'output.log');
  await writeFile(spool, '', { flag: 'a' });
  const cancel = cancellation(opts.log);
  // Heartbeats (and cancel) from the start: fetching a large workspace must not look like a
  // worker that died.
  const sender = startSender(client, spec, spool, cancel.request);
  opts.signal?.addEventListener('abort', cancel.request, { once: true });
  if (opts.signal?.aborted) cancel.request();
  const control = new AbortController();
  const watching = watchControl(client, control.signal, cancel.request);
  const gitPath = opts.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const cwd = join(opts.dir, spec.cwd);
  try {
    const exit = await prepareAndRun(client, spec, opts, { cwd, spool, scratch, gitPath }, cancel);
    cancel.finished();
    control.abort();
    const outputBytes = await sender.drain();
    if (spec.workspace && !exit.error)
      await uploadResult(client, cwd, spec.workspace.head, scratch, gitPath, opts.log);
    await reportExit(client, sender, { ...exit, output_bytes: outputBytes });
    return WORKER_EXIT.ok;
  } finally {
    cancel.finished();
    control.abort();
    sender.stop();
    await watching;
  }
}

interface Places {
  cwd: string;
  spool: string;
  scratch: string;
  gitPath: string;
}

/** Lays out the attempt, fetches the workspace and runs the agent (unless cancelled first). */
async function prepareAndRun(
  client: WorkerClient,
  spec: AttemptSpec,
  opts: WorkerOptions,
  at: Places,
  cancel: Cancellation,
): Promise<Exit> {
  try {
    await layOut(spec, opts.dir);
    await fetchWorkspace(client, spec, at.cwd, at.scratch, at.gitPath);
  } catch (err) {
    if (err instanceof ForgeUnreachable || err instanceof TokenRefused) throw err;
    const message = `the worker could not prepare the attempt: ${(err as Error).message}`;
    return { exit_code: null, signal: null, error: { category: 'sandbox', message } };
  }
  if (cancel.requested()) return { exit_code: null, signal: 'SIGTERM' };
  const env = agentEnv(spec, opts.dir, opts.env);
  for (const name of spec.inherit_env)
    if (env[name] === undefined && name !== 'PATH')
      await writeFile(
        at.spool,
        `forge worker: ${name} is not set in the worker's environment; the profile's Secret should provide it\n`,
        { flag: 'a' },
      );
  const command = mapCommand(spec.command, spec.root, opts.dir);
  return runAgent(spec, command, env, at, cancel);
}

interface Cancellation {
  request: () => void;
  requested: () => boolean;
  /** Called with the agent's stop once it runs (at once if a cancel came first). */
  onStop: (stop: () => void) => void;
  /** The attempt is over: a late cancel (or SIGTERM) has nothing left to stop. */
  finished: () => void;
}

function cancellation(log: (line: string) => void): Cancellation {
  let requested = false;
  let over = false;
  let stop: (() => void) | null = null;
  return {
    request() {
      if (requested || over) return;
      requested = true;
      log('the attempt was cancelled; stopping the agent');
      stop?.();
    },
    requested: () => requested,
    onStop(fn) {
      stop = fn;
      if (requested) fn();
    },
    finished: () => (over = true),
  };
}

function startSender(
  client: WorkerClient,
  spec: AttemptSpec,
  spool: string,
  onCancel: () => void,
): OutputSender {
  return new OutputSender({
    spool,
    acked: spec.output_acked,
    heartbeatMs: spec.heartbeat_ms,
    onCancel,
    send: async (offset, bytes) => {
      const res = await client.call(`/output?offset=${offset}`, {
        method: 'POST',
        body: bytes,
        headers: { 'content-type': 'application/octet-stream' },
        accept: [409],
      });
      const body = (await res.json()) as { acked?: number; cancel?: boolean };
      return outputAnswerSchema.parse({ acked: body.acked, cancel: body.cancel ?? false });
    },
  });
}

type Exit = Omit<ExitReport, 'exit_code' | 'signal'> & {
  exit_code: number | null;
  signal: string | null;
};

async function runAgent(
  spec: AttemptSpec,
  command: string[],
  env: Record<string, string>,
  at: Places,
  cancel: Cancellation,
): Promise<Exit> {
  const program = command[0] ?? '';
  if (!findExecutable(program, env.PATH ?? '', at.cwd)) {
    const message = program.includes('/')
      ? `agent program "${program}" is not an executable file in the worker (relative to ${at.cwd})`
      : `agent program "${program}" was not found on the worker's PATH (${env.PATH ?? ''}); install it in the worker image`;
    return { exit_code: null, signal: null, error: { category: 'agent_not_found', message } };
  }
  const agent = await startAgentProcess({
    command,
    cwd: at.cwd,
    env,
    spool: at.spool,
    stdinFile: spec.stdin_base64 === null ? null : join(at.scratch, 'stdin'),
  });
  cancel.onStop(() => agent.stop(CANCEL_KILL_GRACE_MS));
  const exit: AgentExit = await agent.exited;
  if (exit.lost) {
    const message = `${exit.lost}; the agent was stopped and its output may be incomplete`;
    return { exit_code: null, signal: null, error: { category: 'interrupted', message } };
  }
  return { exit_code: exit.exitCode, signal: exit.signal };
}

/** Long-polls Forge for a cancel until `signal` aborts. */
async function watchControl(
  client: WorkerClient,
  signal: AbortSignal,
  onCancel: () => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const answer = await client.json<{ cancel: boolean }>(
        '/control?wait=20000',
        { timeoutMs: 30_000 },
        signal,
      );
      if (answer.cancel) return onCancel();
    } catch {
      return; // aborted, or Forge gone for good: the output sender notices that too
    }
  }
}

/** Reports the exit; Forge refuses it (409) while output is missing, so send that first. */
async function reportExit(
  client: WorkerClient,
  sender: OutputSender,
  exit: Exit & { output_bytes: number },
): Promise<void> {
  for (;;) {
    const res = await client.call('/exit', {
      method: 'POST',
      body: JSON.stringify(exit),
      headers: { 'content-type': 'application/json' },
      accept: [409],
    });
    if (res.status !== 409) return;
    const { acked } = (await res.json()) as { acked: number };
    sender.acked = Math.min(sender.acked, acked);
    await sender.drain();
  }
}
