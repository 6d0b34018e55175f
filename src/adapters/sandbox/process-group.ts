// One run as a local process group: spawned, its output merged, stopped on abort, and swept
// after it exits. Shared by the unisolated and the srt-isolated runs of local-sandbox.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ForgeError } from '../../domain/errors.ts';
import type { SandboxExit, SandboxRun } from '../../ports/sandbox.ts';
import { destroyCgroup, JOIN_CGROUP } from './attempt-cgroup.ts';
import { killLabelled, trySignal, type Labels } from './labelled-processes.ts';
import { readOutput } from './read-output.ts';

/** Between SIGTERM and SIGKILL when a run is aborted; the port allows a second for the whole tree. */
const KILL_GRACE_MS = 500;
/** How long the output may stay open once the agent's main process has exited and what it left
 *  has been killed. Only a process that escaped every kill (no cgroup, and it left the group and
 *  cleared its environment) holds it that long; then the output ends without it. */
export const OUTPUT_DRAIN_MS = 2000;

// Every run starts with this shell. `exec 2>&1` comes first so that even the shell's own
// complaints land in the output: one pipe for both streams keeps their order. It joins the
// attempt's cgroup ($1, when given) before it execs anything, so nothing the agent starts is born
// outside it; then it reports on fd 3 and closes it, so the agent never holds the status pipe.
const WRAPPER = [
  'exec 2>&1',
  `if [ -n "$1" ] && ! ${JOIN_CGROUP}; then echo "error could not join the cgroup $1" >&3; exit 125; fi`,
  'echo ok >&3; exec 3>&-',
  'shift; exec "$@"',
].join('\n');

export interface GroupOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** fd 0: /dev/null, a pipe, or an open file descriptor (which the caller closes after). */
  stdin: 'ignore' | 'pipe' | number;
  /** Also give the process fd 4, a pipe (srt's launcher reports on it). */
  statusPipe?: boolean;
  /** The attempt's cgroup, which the wrapper joins; killed and removed when the run ends. */
  cgroup: string | null;
  /** Labels in `env`: what the sweep after the run kills when there is no cgroup. */
  labels: Labels;
  signal: AbortSignal;
  /** Runs once, after the process and its output have ended or when the start fails. */
  cleanup?: () => Promise<void>;
  /** Turns the leader's exit status into the run's. */
  translate?: (exit: SandboxExit) => SandboxExit;
}

export type GroupRun = Pick<SandboxRun, 'output' | 'exited'> & { child: ChildProcess; pid: number };

/** Resolves once the wrapper is about to exec `argv` (or the run was aborted while starting).
 *  Rejects with ForgeError('unavailable') when the process cannot be spawned or the wrapper cannot
 *  join the cgroup; everything started is stopped and cleaned up first. */
export async function startGroup(opts: GroupOptions): Promise<GroupRun> {
  const child = await spawnWrapper(opts);
  if (child.pid === undefined || child.stdout === null) {
    throw new ForgeError('internal', 'spawned process has no pid or stdout');
  }
  const run = { child, pid: child.pid, ...supervise(child, child.pid, child.stdout, opts) };
  const status = (await text(child.stdio[3] as Readable)).trim();
  // Aborted while starting: not a sandbox failure; `exited` reports how it ended.
  if (status === 'ok' || opts.signal.aborted) return run;
  const reason = await whyNotStarted(run, status, 'it exited before it started the agent');
  throw new ForgeError('unavailable', `the agent's process could not start: ${reason}`);
}

async function spawnWrapper(opts: GroupOptions): Promise<ChildProcess> {
  try {
    const fds: 'pipe'[] = opts.statusPipe ? ['pipe', 'pipe'] : ['pipe'];
    const child = spawn(
      '/bin/sh',
      ['-c', WRAPPER, 'forge-agent', opts.cgroup ?? '', ...opts.argv],
      {
        cwd: opts.cwd,
        env: opts.env,
        stdio: [opts.stdin, 'pipe', 'ignore', ...fds],
        detached: true, // its own process group (and session), so the whole tree can be signalled
      },
    );
    await once(child, 'spawn');
    return child;
  } catch (err) {
    if (opts.cgroup) await destroyCgroup(opts.cgroup);
    await opts.cleanup?.().catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new ForgeError(
      'unavailable',
      `could not start the agent's process (${reason}); check that /bin/sh exists`,
      { cause: err },
    );
  }
}

/** Why a run that did not start failed, once it has ended: its status line, else its output. */
export async function whyNotStarted(
  run: GroupRun,
  status: string,
  silent: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of run.output) chunks.push(chunk);
  await run.exited;
  const said = Buffer.concat(chunks).toString('utf8').trim().slice(-2000);
  return status.replace(/^error /, '') || said || silent;
}

function supervise(
  child: ChildProcess,
  pid: number,
  stdout: Readable,
  opts: GroupOptions,
): Pick<SandboxRun, 'output' | 'exited'> {
  const { signal } = opts;
  let escalation: NodeJS.Timeout | undefined;
  const onAbort = () => {
    trySignal(-pid, 'SIGTERM');
    escalation = setTimeout(() => {
      trySignal(-pid, 'SIGKILL');
      void killLabelled(opts.labels);
    }, KILL_GRACE_MS);
  };
  const processExit = new Promise<SandboxExit>((resolve) => {
    child.once('exit', (exitCode, exitSignal) => resolve({ exitCode, signal: exitSignal }));
  });
  const drainDeadline = new AbortController();
  let outputDone = () => {};
  const outputEnded = new Promise<void>((resolve) => (outputDone = resolve));
  const output = readOutput(stdout, drainDeadline.signal, () => outputDone());
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const exited = (async () => {
    const exit = await processExit;
    signal.removeEventListener('abort', onAbort);
    clearTimeout(escalation);
    await killLeftovers(pid, opts);
    const drain = setTimeout(() => drainDeadline.abort(), OUTPUT_DRAIN_MS);
    await outputEnded;
    clearTimeout(drain);
    await opts.cleanup?.().catch(() => {});
    return opts.translate ? opts.translate(exit) : exit;
  })();
  return { output, exited };
}

/** What the agent left behind would run unobserved, and could hold the output open forever. */
async function killLeftovers(pid: number, opts: GroupOptions): Promise<void> {
  trySignal(-pid, 'SIGKILL');
  if (opts.cgroup) {
    await destroyCgroup(opts.cgroup);
    return;
  }
  // The sweep for processes that left the group (batched with other attempts' sweeps) need not
  // delay this attempt unless one of them holds the output open.
  void killLabelled(opts.labels);
}
