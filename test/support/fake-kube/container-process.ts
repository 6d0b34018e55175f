/**
 * One container as a local process: its command line (command/args or the image's entrypoint,
 * with $(VAR) expanded and mount paths rewritten), its working directory, and the process itself,
 * started in its own process group so a signal reaches everything it spawned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { rewritePaths } from './container-config.ts';
import type { ImageSpec } from './images.ts';
import type { LogBuffer } from './log-buffer.ts';
import type { Container } from './pod-types.ts';

export interface ProcessEnd {
  exitCode: number;
  /** null when the process ran: the kubelet names the reason from the exit code. */
  startError: string | null;
  signal: NodeJS.Signals | null;
}

export function commandLine(
  spec: Container,
  image: ImageSpec,
  env: Record<string, string>,
  mounts: Array<[string, string]>,
): string[] {
  const expand = (s: string): string =>
    rewritePaths(
      s.replace(/\$\(([-._a-zA-Z0-9]+)\)/g, (m, n: string) => env[n] ?? m),
      mounts,
    );
  return [
    ...(spec.command ?? image.entrypoint ?? []),
    ...(spec.args ?? (spec.command ? [] : (image.cmd ?? []))),
  ].map(expand);
}

/** The container's working directory: under its mount when it is one, else in the pod's rootfs dir. */
export async function workdir(
  root: string,
  spec: Container,
  mounts: Array<[string, string]>,
): Promise<string> {
  const wanted = spec.workingDir ? rewritePaths(spec.workingDir, mounts) : '/';
  const cwd = wanted.startsWith(root) ? wanted : join(root, 'rootfs', wanted);
  await mkdir(cwd, { recursive: true });
  return cwd;
}

/** Runs `argv` to its end, stdout and stderr into `log`; `onSpawn` gets the live process. */
export function runProcess(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
  log: LogBuffer | undefined,
  onSpawn: (child: ChildProcess) => void,
): Promise<ProcessEnd> {
  return new Promise((resolve) => {
    if (argv.length === 0) {
      const startError =
        'failed to create containerd task: no command specified: set command in the container or entrypoint in the fake image';
      return resolve({ exitCode: 128, startError, signal: null });
    }
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => log?.append(d.toString()));
    child.stderr.on('data', (d: Buffer) => log?.append(d.toString()));
    child.on('error', (err) =>
      resolve({
        exitCode: 128,
        startError: `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${argv[0]}": ${err.message}: unknown`,
        signal: null,
      }),
    );
    child.on('spawn', () => onSpawn(child));
    child.on('close', (code, signal) =>
      resolve({
        exitCode: code ?? 128 + (signal ? constants.signals[signal] : 9),
        startError: null,
        signal,
      }),
    );
  });
}

/** Signals the process group; a group already gone is fine. */
export function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // already gone
  }
}
