// Runs one command under @anthropic-ai/sandbox-runtime, as a process of its own (see srt.ts for
// why). Protocol with local-runs.ts:
//   stdin  one JSON LaunchRequest, then EOF (forge-spawn writes it into the pipe before exec);
//   fd 4   `ok` once the sandboxed command is running, or `error <message>`; then closed (fd 3 is
//          the wrapper shell's, when process-group.ts starts runs without forge-spawn);
//   stdout/stderr  the sandboxed command's output (the parent merges them);
//   exit   the command's exit code, or 128+n when it (or the sandbox around it) died of signal n.
// Entry point only: nothing imports this file.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { text } from 'node:stream/consumers';
import { SandboxManager } from '@anthropic-ai/sandbox-runtime';
import type { LaunchRequest } from './srt.ts';

const STATUS_FD = 4;

function report(line: string): void {
  writeSync(STATUS_FD, `${line}\n`);
  closeSync(STATUS_FD);
}

// Set when the parent stops the run; a command not yet started then never starts.
let stoppedBy: NodeJS.Signals | null = null;

async function launch(request: LaunchRequest) {
  await SandboxManager.initialize(request.config);
  const wrapped = await SandboxManager.wrapWithSandbox(request.command);
  if (stoppedBy) return null;
  // Opened here, outside the sandbox: the file need not be readable inside it.
  const stdin = request.stdinFile ? openSync(request.stdinFile, 'r') : 'ignore';
  try {
    const child = spawn(wrapped, {
      shell: true,
      env: request.env,
      stdio: [stdin, 'inherit', 'inherit'],
    });
    await once(child, 'spawn');
    return child;
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
}

async function main(): Promise<void> {
  // The parent stops a run by signalling this whole process group: the sandboxed command gets
  // the signal too, and we stay to clean up after it (srt's own handler closes the proxies).
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.on(signal, () => (stoppedBy ??= signal));
  let child;
  try {
    child = await launch(JSON.parse(await text(process.stdin)) as LaunchRequest);
  } catch (err) {
    report(`error ${err instanceof Error ? err.message : String(err)}`.replaceAll('\n', ' '));
    await SandboxManager.reset();
    process.exit(1);
  }
  if (!child) {
    report('stopped');
    await SandboxManager.reset();
    process.exit(128 + constants.signals[stoppedBy ?? 'SIGTERM']);
  }
  report('ok');
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  // Removes the mount-point files bwrap left in the workspace (.bashrc, .gitconfig, …).
  SandboxManager.cleanupAfterCommand();
  await SandboxManager.reset();
  process.exit(signal ? 128 + constants.signals[signal] : (code ?? 1));
}

await main();
