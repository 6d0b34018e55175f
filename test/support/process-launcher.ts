/**
 * A WorkerLauncher that runs the real `bin/forge.js worker` as a local child process: the
 * stand-in for a pod. It hands the token over the way a pod gets it from a Secret (the
 * environment, never argv), adds the variables a profile's Secret would (`secretEnv`), keeps the
 * worker's last stderr line for `describe()` (as a pod's log), reports a worker that died as the
 * platform would, and stops a worker (and any agent it left) on `stop`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { killLabelled } from '../../src/adapters/sandbox/labelled-processes.ts';
import type {
  LaunchedWorker,
  LaunchFailure,
  WorkerAssignment,
  WorkerLauncher,
} from '../../src/adapters/sandbox/remote/worker-launcher.ts';
import type { SandboxLabels } from '../../src/ports/sandbox.ts';

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'forge.js');

export interface ProcessLauncherOptions {
  /** Where each worker gets its directory (`<jobId>-<attempt>`). */
  baseDir: string;
  /** What a profile's Secret would put in the worker's environment. */
  secretEnv?: Record<string, string>;
  /** The URL the worker dials instead of the one Forge gave (a proxy, a dead address). */
  dial?: (url: string) => string;
  /** How long a worker keeps trying an unreachable Forge. */
  giveUpAfter?: string;
}

export interface ProcessWorker {
  assignment: WorkerAssignment;
  proc: ChildProcess;
  dir: string;
  stderr: string[];
  exited: Promise<void>;
}

export interface ProcessLauncher extends WorkerLauncher {
  workers: ProcessWorker[];
  /** Resolves with the n-th (0-based) worker once launched. */
  worker(n: number): Promise<ProcessWorker>;
  /** Kills every worker still running (leak guard). */
  stopAll(): Promise<void>;
}

export function createProcessLauncher(opts: ProcessLauncherOptions): ProcessLauncher {
  const workers: ProcessWorker[] = [];
  const waiters = new Map<number, (w: ProcessWorker) => void>();
  const byRef = new Map<string, ProcessWorker>();
  const stopOne = async (w: ProcessWorker, labels: SandboxLabels) => {
    if (w.proc.exitCode === null && w.proc.signalCode === null) {
      w.proc.kill('SIGTERM');
      const timer = setTimeout(() => w.proc.kill('SIGKILL'), 1500);
      await w.exited;
      clearTimeout(timer);
    }
    await killLabelled(labels);
  };
  return {
    kind: 'process',
    label: 'process',
    workers,
    worker: (n) =>
      workers[n] ? Promise.resolve(workers[n]) : new Promise((r) => waiters.set(n, r)),
    launch(assignment): Promise<LaunchedWorker> {
      const { jobId, attempt } = assignment.labels;
      const dir = join(opts.baseDir, `${jobId}-${attempt}`);
      mkdirSync(dir, { recursive: true });
      const url = opts.dial ? opts.dial(assignment.url) : assignment.url;
      const { proc, stderr, exited } = spawnWorker(
        ['--url', url, 'worker', '--dir', dir, '--give-up-after', opts.giveUpAfter ?? '20s'],
        { HOME: dir, FORGE_WORKER_TOKEN: assignment.token, ...opts.secretEnv },
      );
      const failed = new Promise<LaunchFailure>((r) =>
        proc.once('exit', (code, signal) => {
          if (code === 0) return;
          r({
            category: 'interrupted',
            message: `the worker process exited with ${code ?? signal}: ${stderr.at(-1) ?? ''}`,
          });
        }),
      );
      const w: ProcessWorker = { assignment, proc, dir, stderr, exited };
      const ref = `proc:${proc.pid}`;
      byRef.set(ref, w);
      workers.push(w);
      waiters.get(workers.length - 1)?.(w);
      return Promise.resolve({
        ref,
        failed,
        describe: () => Promise.resolve(stderr.at(-1) ?? null),
        dispose: () => {},
      });
    },
    follow: () => Promise.resolve(null),
    async stop(ref, labels) {
      const w = byRef.get(ref);
      if (w) await stopOne(w, labels);
    },
    held: () =>
      Promise.resolve(
        workers
          .filter((w) => w.proc.exitCode === null && w.proc.signalCode === null)
          .map((w) => ({ ref: `proc:${w.proc.pid}`, labels: w.assignment.labels })),
      ),
    doctor: () => Promise.resolve([]),
    async stopAll() {
      await Promise.all(workers.map((w) => stopOne(w, w.assignment.labels)));
    },
  };
}

/** Starts the real `forge worker` with `args` and only `env` (and PATH), collecting its stderr
 *  lines (a pod's log). */
export function spawnWorker(
  args: string[],
  env: Record<string, string>,
): { proc: ChildProcess; stderr: string[]; exited: Promise<void> } {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  let partial = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, stderr, exited };
}
