// One run as a local process group: spawned, its output merged, stopped on abort, and swept
// after it exits. Shared by the unisolated and the srt-isolated runs of local-sandbox.ts.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { ForgeError } from '../../domain/errors.ts';
import type { SandboxExit, SandboxRun } from '../../ports/sandbox.ts';
import { killLabelled, trySignal, type Labels } from './labelled-processes.ts';

/** Between SIGTERM and SIGKILL when a run is aborted; the port allows a second for the whole tree. */
const KILL_GRACE_MS = 500;
// One pipe for both streams keeps their order. `exec 2>&1` comes first so that even the shell's
// own complaint about a missing command lands in the output.
const MERGED_OUTPUT = ['-c', 'exec 2>&1; exec "$@"', 'forge-agent'];

export interface GroupOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** fd 1 must be 'pipe' (the output) and fd 2 'ignore' (merged into fd 1). */
  stdio: StdioOptions;
  /** Labels in `env`: what the sweep after the run kills. */
  labels: Labels;
  signal: AbortSignal;
  /** Runs after the process and its output have ended. */
  cleanup?: () => Promise<void>;
  /** Turns the leader's exit status into the run's. */
  translate?: (exit: SandboxExit) => SandboxExit;
}

export type GroupRun = Pick<SandboxRun, 'output' | 'exited'> & { child: ChildProcess; pid: number };

/** Rejects with ForgeError('unavailable') when the process cannot be spawned. */
export async function startGroup(opts: GroupOptions): Promise<GroupRun> {
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', [...MERGED_OUTPUT, ...opts.argv], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: opts.stdio,
      detached: true, // its own process group (and session), so the whole tree can be signalled
    });
    await once(child, 'spawn');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ForgeError(
      'unavailable',
      `could not start the agent's process (${reason}); check that /bin/sh exists`,
      {
        cause: err,
      },
    );
  }
  if (child.pid === undefined || child.stdout === null) {
    throw new ForgeError('internal', 'spawned process has no pid or stdout');
  }
  return { child, pid: child.pid, ...supervise(child, child.pid, child.stdout, opts) };
}

function supervise(
  child: ChildProcess,
  pid: number,
  stdout: Readable,
  opts: GroupOptions,
): Pick<SandboxRun, 'output' | 'exited'> {
  const { signal } = opts;
  const killAll = () => {
    trySignal(-pid, 'SIGKILL');
    return killLabelled(opts.labels);
  };
  let escalation: NodeJS.Timeout | undefined;
  const onAbort = () => {
    trySignal(-pid, 'SIGTERM');
    escalation = setTimeout(() => void killAll(), KILL_GRACE_MS);
  };
  const processExit = new Promise<SandboxExit>((resolve) => {
    child.once('exit', (exitCode, exitSignal) => resolve({ exitCode, signal: exitSignal }));
  });
  let outputDone = () => {};
  const outputEnded = new Promise<void>((resolve) => (outputDone = resolve));
  const output = readOutput(stdout, () => outputDone());
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const exited = (async () => {
    const exit = await processExit;
    signal.removeEventListener('abort', onAbort);
    clearTimeout(escalation);
    // What the agent left behind would run unobserved, and could hold the output open forever.
    // The group dies now; the sweep for processes that left the group (batched with other
    // attempts' sweeps) need not delay this attempt unless one of them holds the output open.
    trySignal(-pid, 'SIGKILL');
    void killLabelled(opts.labels);
    await outputEnded;
    await opts.cleanup?.().catch(() => {});
    return opts.translate ? opts.translate(exit) : exit;
  })();
  return { output, exited };
}

async function* readOutput(stream: Readable, done: () => void): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch {
    // A failed read ends the output; the exit status still says how the run ended.
  } finally {
    stream.destroy();
    done();
  }
}
