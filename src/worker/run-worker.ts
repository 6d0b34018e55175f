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
import { createReadStream } from 'node:fs';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createResultBundle } from '../adapters/sandbox/remote/result-bundle.ts';
import { mapCommand, mapEnv } from '../adapters/sandbox/remote/path-map.ts';
import {
  attemptSpecSchema,
  outputAnswerSchema,
  type AttemptSpec,
  type ExitReport,
} from '../adapters/sandbox/remote/protocol.ts';
import { findExecutable } from '../lib/find-executable.ts';
import { startAgentProcess, type AgentExit } from './agent-process.ts';
import { OutputSender } from './output-sender.ts';
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
  const parsed = attemptSpecSchema.safeParse(await client.json('/attempt'));
  if (!parsed.success)
    throw new Error(
      `Forge sent a spec this worker does not understand (${parsed.error.message}); run the same Forge version in the worker image`,
    );
  const spec = parsed.data;
  opts.log(`running attempt ${spec.attempt} of job ${spec.job_id}`);
  const scratch = join(opts.dir, '.forge-worker');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const spool = join(scratch, 'output.log');
  await writeFile(spool, '', { flag: 'a' });
  const note = (line: string) => writeFile(spool, `forge worker: ${line}\n`, { flag: 'a' });
  await layOut(spec, opts.dir);
  const gitPath = opts.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const cwd = join(opts.dir, spec.cwd);
  await fetchWorkspace(client, spec, cwd, scratch, gitPath);

  const env = agentEnv(spec, opts);
  for (const name of spec.inherit_env)
    if (env[name] === undefined && name !== 'PATH')
      await note(
        `${name} is not set in the worker's environment; the profile's Secret should provide it`,
      );
  const command = mapCommand(spec.command, spec.root, opts.dir);

  let cancelled = false;
  let stopAgent: (() => void) | null = null;
  const onCancel = () => {
    if (cancelled) return;
    cancelled = true;
    opts.log('the attempt was cancelled; stopping the agent');
    stopAgent?.();
  };
  const sender = new OutputSender({
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
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  if (opts.signal?.aborted) onCancel();
  const control = new AbortController();
  const watching = watchControl(client, control.signal, onCancel);
  try {
    const exit = await runAgent(spec, command, cwd, env, spool, scratch, sender, (stop) => {
      stopAgent = stop;
      if (cancelled) stop();
    });
    control.abort();
    const outputBytes = await sender.drain();
    if (spec.workspace)
      await uploadResult(client, cwd, spec.workspace.head, scratch, gitPath, opts.log);
    await reportExit(client, sender, { ...exit, output_bytes: outputBytes });
    return WORKER_EXIT.ok;
  } finally {
    control.abort();
    sender.stop();
    await watching;
  }
}

/** The spec's directories and files under `dir`. */
async function layOut(spec: AttemptSpec, dir: string): Promise<void> {
  for (const d of spec.dirs) {
    await mkdir(join(dir, d.path), { recursive: true });
    await chmod(join(dir, d.path), d.mode);
  }
  await mkdir(join(dir, spec.tmp_dir), { recursive: true });
  for (const f of spec.files)
    await writeFile(join(dir, f.path), Buffer.from(f.content_base64, 'base64'), { mode: f.mode });
  if (spec.stdin_base64 !== null)
    await writeFile(join(dir, '.forge-worker', 'stdin'), Buffer.from(spec.stdin_base64, 'base64'));
}

/** The agent's environment: the spec's (paths mapped), and the variables it names from ours. */
function agentEnv(spec: AttemptSpec, opts: WorkerOptions): Record<string, string> {
  const env = mapEnv(spec.env, spec.root, opts.dir);
  for (const name of spec.inherit_env) {
    const value = opts.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.TMPDIR = join(opts.dir, spec.tmp_dir);
  env.FORGE_JOB_ID = spec.job_id;
  env.FORGE_ATTEMPT = String(spec.attempt);
  return env;
}

type Exit = Omit<ExitReport, 'exit_code' | 'signal'> & {
  exit_code: number | null;
  signal: string | null;
};

async function runAgent(
  spec: AttemptSpec,
  command: string[],
  cwd: string,
  env: Record<string, string>,
  spool: string,
  scratch: string,
  sender: OutputSender,
  onStarted: (stop: () => void) => void,
): Promise<Exit> {
  const program = command[0] ?? '';
  if (!findExecutable(program, env.PATH ?? '', cwd)) {
    const message = program.includes('/')
      ? `agent program "${program}" is not an executable file in the worker (relative to ${cwd})`
      : `agent program "${program}" was not found on the worker's PATH (${env.PATH ?? ''}); install it in the worker image`;
    return { exit_code: null, signal: null, error: { category: 'agent_not_found', message } };
  }
  const agent = startAgentProcess({
    command,
    cwd,
    env,
    spool,
    stdinFile: spec.stdin_base64 === null ? null : join(scratch, 'stdin'),
  });
  onStarted(() => agent.stop(CANCEL_KILL_GRACE_MS));
  const exit: AgentExit = await agent.exited;
  sender.poke();
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

async function uploadResult(
  client: WorkerClient,
  cwd: string,
  startHead: string,
  scratch: string,
  gitPath: string,
  log: (line: string) => void,
): Promise<void> {
  const file = join(scratch, 'result.bundle');
  try {
    await createResultBundle(cwd, startHead, file, join(scratch, 'snapshot-index'), {
      path: gitPath,
    });
  } catch (err) {
    log(`could not bundle the agent's work: ${(err as Error).message}`);
    return;
  }
  const size = (await stat(file)).size;
  try {
    await client.call('/result', {
      method: 'PUT',
      bodyFactory: () => Readable.toWeb(createReadStream(file)),
      headers: { 'content-type': 'application/x-git-bundle', 'content-length': String(size) },
      timeoutMs: 30 * 60_000,
    });
  } catch (err) {
    if (err instanceof ForgeUnreachable || err instanceof TokenRefused) throw err;
    // Refused as malformed: the exit is still worth reporting, with the output.
    log(`Forge did not take the agent's work: ${(err as Error).message}`);
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
