// One run as a local process group: spawned (by forge-spawn, or by Node through a wrapper shell
// where the helper is not built), its output merged, stopped on abort, and swept after it exits.
// Shared by the unisolated and the srt-isolated runs of local-sandbox.ts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ForgeError } from '../../domain/errors.ts';
import { failure, type Failure } from '../../domain/failure.ts';
import type { SandboxExit, SandboxRun } from '../../ports/sandbox.ts';
import { destroyCgroup, JOIN_CGROUP } from './attempt-cgroup.ts';
import { killLabelled, trySignal, type Labels } from './labelled-processes.ts';
import { readOutput } from './read-output.ts';
import type { HelperExit, SpawnHelper } from './spawn-helper/spawn-helper.ts';

/** Between SIGTERM and SIGKILL when a run is aborted; the port allows a second for the whole tree. */
const KILL_GRACE_MS = 500;
/** How long the output may stay open once the agent's main process has exited and what it left
 *  has been killed. Only a process that escaped every kill (no cgroup, and it left the group and
 *  cleared its environment) holds it that long; then the output ends without it. */
export const OUTPUT_DRAIN_MS = 2000;

// Without the helper every run starts with this shell. `exec 2>&1` comes first so that even the
// shell's own complaints land in the output: one pipe for both streams keeps their order. It joins
// the attempt's cgroup ($1, when given) before it execs anything, so nothing the agent starts is
// born outside it; then it reports on fd 3 and closes it, so the agent never holds the status
// pipe.
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
  /** fd 0: /dev/null (null), a file, or bytes written to it before the program reads. */
  stdin: { file: string } | { data: string } | null;
  /** Also give the process fd 4, a pipe (srt's launcher reports on it): `report` is its text. */
  statusPipe?: boolean;
  /** The attempt's cgroup, which the process joins before it execs; killed and removed when the
   *  run ends. */
  cgroup: string | null;
  /** Labels in `env`: what the sweep after the run kills when there is no cgroup. */
  labels: Labels;
  signal: AbortSignal;
  /** Creates the process; without it, Node's spawn through the wrapper shell. */
  helper: SpawnHelper | null;
  /** Runs once, after the process and its output have ended or when the start fails. */
  cleanup?: () => Promise<void>;
  /** Turns the leader's exit status into the run's. */
  translate?: (exit: SandboxExit) => SandboxExit;
}

export type GroupRun = Pick<SandboxRun, 'output' | 'exited'> & {
  pid: number;
  /** What the process wrote to fd 4 (with `statusPipe`), once it closed that. */
  report: Promise<string>;
};

/** A process as either path gives it. `started` is `ok` once `argv` is about to run (or has),
 *  else `error <reason>`. */
interface Spawned {
  pid: number;
  stdout: Readable;
  started: Promise<string>;
  report: Promise<string>;
  exit: Promise<HelperExit>;
}

/** Resolves once the agent's program is about to run (or the run was aborted while starting).
 *  Rejects with ForgeError('unavailable') when the process cannot be spawned or cannot join the
 *  cgroup; everything started is stopped and cleaned up first. */
export async function startGroup(opts: GroupOptions): Promise<GroupRun> {
  const spawned = await spawnProcess(opts);
  const run = { pid: spawned.pid, report: spawned.report, ...supervise(spawned, opts) };
  const status = (await spawned.started).trim();
  // Aborted while starting: not a sandbox failure; `exited` reports how it ended.
  if (status === 'ok' || opts.signal.aborted) return run;
  const reason = await whyNotStarted(run, status, 'it exited before it started the agent');
  throw new ForgeError('unavailable', `the agent's process could not start: ${reason}`);
}

async function spawnProcess(opts: GroupOptions): Promise<Spawned> {
  try {
    return opts.helper ? await throughHelper(opts.helper, opts) : await throughNode(opts);
  } catch (err) {
    if (opts.cgroup) await destroyCgroup(opts.cgroup);
    await opts.cleanup?.().catch(() => {});
    if (err instanceof ForgeError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ForgeError('unavailable', `could not start the agent's process: ${reason}`, {
      cause: err,
    });
  }
}

/** forge-spawn sets the process up itself: no shell, the cgroup joined before exec, stderr on
 *  stdout's pipe. A setup step that fails rejects here with its reason. */
async function throughHelper(helper: SpawnHelper, opts: GroupOptions): Promise<Spawned> {
  const { stdin } = opts;
  const p = await helper.spawn({
    argv: opts.argv,
    env: opts.env,
    cwd: opts.cwd,
    cgroup: opts.cgroup,
    stdin: !stdin
      ? { kind: 'null' }
      : 'file' in stdin
        ? { kind: 'file', path: stdin.file }
        : { kind: 'data', data: Buffer.from(stdin.data) },
    ...(opts.statusPipe ? { statusFd: 4 } : {}),
  });
  return {
    pid: p.pid,
    stdout: p.stdout,
    started: Promise.resolve('ok'),
    report: p.status,
    exit: p.exit,
  };
}

async function throughNode(opts: GroupOptions): Promise<Spawned> {
  const stdin = opts.stdin && 'file' in opts.stdin ? await openStdin(opts.stdin.file) : null;
  try {
    const fds: 'pipe'[] = opts.statusPipe ? ['pipe', 'pipe'] : ['pipe'];
    const child = spawn(
      '/bin/sh',
      ['-c', WRAPPER, 'forge-agent', opts.cgroup ?? '', ...opts.argv],
      {
        cwd: opts.cwd,
        env: opts.env,
        stdio: [stdin?.fd ?? (opts.stdin ? 'pipe' : 'ignore'), 'pipe', 'ignore', ...fds],
        detached: true, // its own process group (and session), so the whole tree can be signalled
      },
    );
    const exit = new Promise<HelperExit>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    await once(child, 'spawn');
    if (child.pid === undefined || child.stdout === null) {
      throw new ForgeError('internal', 'spawned process has no pid or stdout');
    }
    if (opts.stdin && 'data' in opts.stdin) {
      child.stdin?.on('error', () => {}); // a process that died early says so in its exit
      child.stdin?.end(opts.stdin.data);
    }
    return {
      pid: child.pid,
      stdout: child.stdout,
      started: text(child.stdio[3] as Readable),
      report: opts.statusPipe ? text(child.stdio[4] as Readable) : Promise.resolve(''),
      exit,
    };
  } catch (err) {
    if (err instanceof ForgeError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ForgeError(
      'unavailable',
      `could not start the agent's process (${reason}); check that /bin/sh exists`,
      { cause: err },
    );
  } finally {
    await stdin?.close(); // the process has its own copy
  }
}

async function openStdin(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new ForgeError('unavailable', `could not open the agent's standard input ${path}`, {
      cause: err,
    });
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

function supervise(spawned: Spawned, opts: GroupOptions): Pick<SandboxRun, 'output' | 'exited'> {
  const { signal } = opts;
  const { pid, stdout } = spawned;
  let escalation: NodeJS.Timeout | undefined;
  const onAbort = () => {
    trySignal(-pid, 'SIGTERM');
    escalation = setTimeout(() => {
      trySignal(-pid, 'SIGKILL');
      void killLabelled(opts.labels);
    }, KILL_GRACE_MS);
  };
  const drainDeadline = new AbortController();
  let outputDone = () => {};
  const outputEnded = new Promise<void>((resolve) => (outputDone = resolve));
  const output = readOutput(stdout, drainDeadline.signal, () => outputDone());
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const exited = (async () => {
    const exit = await spawned.exit;
    signal.removeEventListener('abort', onAbort);
    clearTimeout(escalation);
    await killLeftovers(pid, opts);
    const drain = setTimeout(() => drainDeadline.abort(), OUTPUT_DRAIN_MS);
    await outputEnded;
    clearTimeout(drain);
    await opts.cleanup?.().catch(() => {});
    if (exit.lost) return { exitCode: null, signal: null, failure: lostFailure(exit.lost) };
    const status = { exitCode: exit.exitCode, signal: exit.signal };
    return opts.translate ? opts.translate(status) : status;
  })();
  return { output, exited };
}

/** The helper died under the run: nothing says how the agent ended, and its output is cut. What
 *  is left of it was killed; the attempt is treated as one a crash of Forge interrupted. */
function lostFailure(reason: string): Failure {
  return failure(
    'interrupted',
    `${reason}; the attempt's processes were stopped and its output may be incomplete`,
  );
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
