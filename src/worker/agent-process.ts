/**
 * The agent in the worker: one process group, standard output and error both appended to the
 * spool file through one descriptor (their interleaving kept, as in a local attempt's merged
 * output), standard input from a file or empty. When the main process exits, whatever it left
 * in its group is killed, as the local sandbox does.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
}

export interface AgentProcess {
  pid: number;
  exited: Promise<AgentExit>;
  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  stop(graceMs: number): void;
}

export function startAgentProcess(opts: {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  spool: string;
  stdinFile: string | null;
}): AgentProcess {
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
  const pid = child.pid ?? 0;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (pid > 0) process.kill(-pid, signal);
    } catch {
      // the group is gone
    }
  };
  const exited = new Promise<AgentExit>((resolve) => {
    child.once('error', () => resolve({ exitCode: 127, signal: null }));
    child.once('exit', (code, signal) => {
      signalGroup('SIGKILL'); // what it left behind
      resolve({ exitCode: code, signal });
    });
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
