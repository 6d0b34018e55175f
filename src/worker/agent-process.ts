/**
 * The agent in the worker: one process group, standard output and error both appended to the
 * spool file through one descriptor (their interleaving kept, as in a local attempt's merged
 * output), standard input from a file or empty. When the main process exits, whatever it left
 * in its group is killed, as the local sandbox does. Created by forge-spawn where the image has
 * it built, as in the local sandbox, else by Node.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { findSpawnHelper } from '../adapters/sandbox/spawn-helper/helper-binary.ts';
import { SpawnHelper } from '../adapters/sandbox/spawn-helper/spawn-helper.ts';

export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
  /** The process helper died under the agent: how the agent ended is unknown. */
  lost?: string;
}

export interface AgentProcess {
  pid: number;
  exited: Promise<AgentExit>;
  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  stop(graceMs: number): void;
}

export interface AgentCommand {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  spool: string;
  stdinFile: string | null;
}

let helper: SpawnHelper | null | undefined;

function processHelper(): SpawnHelper | null {
  if (helper === undefined) {
    const built = findSpawnHelper();
    helper = built.ok ? new SpawnHelper(built.path) : null;
  }
  return helper;
}

export async function startAgentProcess(
  opts: AgentCommand,
  spawner: SpawnHelper | null = processHelper(),
): Promise<AgentProcess> {
  const started = spawner ? await throughHelper(spawner, opts) : throughNode(opts);
  const { pid } = started;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (pid > 0) process.kill(-pid, signal);
    } catch {
      // the group is gone
    }
  };
  const exited = started.exited.then((exit) => {
    signalGroup('SIGKILL'); // what it left behind
    return exit;
  });
  return {
    pid,
    exited,
    stop(graceMs) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      void exited.then(() => clearTimeout(timer));
    },
  };
}

async function throughHelper(
  spawner: SpawnHelper,
  opts: AgentCommand,
): Promise<{ pid: number; exited: Promise<AgentExit> }> {
  try {
    const p = await spawner.spawn({
      argv: opts.command,
      env: opts.env,
      cwd: opts.cwd,
      cgroup: null,
      stdin: opts.stdinFile ? { kind: 'file', path: opts.stdinFile } : { kind: 'null' },
      outputPath: opts.spool,
    });
    return { pid: p.pid, exited: p.exit };
  } catch (err) {
    // As a shell would: the reason in the output, and 127.
    appendFileSync(opts.spool, `forge: could not start the agent: ${(err as Error).message}\n`);
    return { pid: 0, exited: Promise.resolve({ exitCode: 127, signal: null }) };
  }
}

function throughNode(opts: AgentCommand): { pid: number; exited: Promise<AgentExit> } {
  const out = openSync(opts.spool, 'a');
  const input = opts.stdinFile ? openSync(opts.stdinFile, 'r') : 'ignore';
  const [program, ...args] = opts.command;
  let child;
  try {
    child = spawn(program!, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [input, out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
    if (typeof input === 'number') closeSync(input);
  }
  const exited = new Promise<AgentExit>((resolve) => {
    child.once('error', () => resolve({ exitCode: 127, signal: null }));
    child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
  });
  return { pid: child.pid ?? 0, exited };
}
