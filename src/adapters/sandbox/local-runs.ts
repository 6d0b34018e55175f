// The two ways local-sandbox.ts starts an attempt: as a plain process group (in a cgroup of its
// own where the host allows), or under sandbox-runtime through srt-launcher.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForgeError } from '../../domain/errors.ts';
import type { SandboxExit, SandboxRun, SandboxSpec } from '../../ports/sandbox.ts';
import { createAttemptCgroup } from './attempt-cgroup.ts';
import { labelEnv } from './labelled-processes.ts';
import { startGroup, whyNotStarted } from './process-group.ts';
import type { SpawnHelper } from './spawn-helper/spawn-helper.ts';
import { LAUNCHER_PATH, srtCommand, srtConfig, type LaunchRequest, type SrtTools } from './srt.ts';

const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface RunRequest {
  spec: SandboxSpec;
  /** `spec.env` with what the sandbox adds (TMPDIR, the labels). */
  env: Record<string, string>;
  signal: AbortSignal;
  notices: string[];
  /** forge-spawn, when it is built and not turned off. */
  helper: SpawnHelper | null;
}

/** The ref names the cgroup too, so that `reap` after a crash can kill what left the group. */
export async function startPlain(
  req: RunRequest,
  cgroupParent: string | null,
): Promise<SandboxRun> {
  const { spec, env, signal, notices, helper } = req;
  const cgroup = cgroupParent ? await createAttemptCgroup(cgroupParent, spec.labels) : null;
  const { pid, output, exited } = await startGroup({
    argv: spec.command,
    cwd: spec.cwd,
    env,
    stdin: spec.stdinFile ? { file: spec.stdinFile } : null,
    cgroup,
    labels: spec.labels,
    signal,
    helper,
  });
  return { ref: cgroup ? `pid:${pid} cgroup:${cgroup}` : `pid:${pid}`, output, exited, notices };
}

/** No cgroup here: bubblewrap's PID namespace ends every process of the attempt with it. */
export async function startIsolated(req: RunRequest, tools: SrtTools): Promise<SandboxRun> {
  const { spec, env, signal, notices, helper } = req;
  const request: LaunchRequest = {
    config: srtConfig(spec, tools),
    command: srtCommand(spec),
    env,
    stdinFile: spec.stdinFile ?? null,
  };
  // srt keeps its sockets and mount points here; HOME too, so that srt's "convenience" writable
  // directories under HOME point at nothing real.
  const privateDir = await mkdtemp(join(tmpdir(), 'forge-srt-'));
  const run = await startGroup({
    argv: [process.execPath, '--disable-warning=ExperimentalWarning', LAUNCHER_PATH],
    cwd: spec.cwd,
    env: { PATH: SYSTEM_PATH, HOME: privateDir, TMPDIR: privateDir, ...labelEnv(spec.labels) },
    stdin: { data: JSON.stringify(request) },
    statusPipe: true, // fd 4: the launcher's status line
    cgroup: null,
    labels: spec.labels,
    signal,
    helper,
    cleanup: () => rm(privateDir, { recursive: true, force: true }),
    translate: launcherExit,
  });
  const { pid, output, exited } = run;
  const status = (await run.report).trim();
  // Aborted while starting: not a sandbox failure; `exited` reports how it ended.
  if (status === 'ok' || signal.aborted) return { ref: `pid:${pid}`, output, exited, notices };
  const reason = await whyNotStarted(run, status, 'the launcher exited without saying why');
  throw new ForgeError(
    'unavailable',
    `sandbox-runtime could not start the agent: ${reason} (run 'forge doctor')`,
  );
}

/** The launcher reports a command killed by signal n as exit 128+n (see srt-launcher.ts). */
function launcherExit(exit: SandboxExit): SandboxExit {
  if (exit.exitCode === null || exit.exitCode <= 128) return exit;
  const number = exit.exitCode - 128;
  const name = Object.entries(constants.signals).find(([, n]) => n === number)?.[0];
  return name ? { exitCode: null, signal: name } : exit;
}
