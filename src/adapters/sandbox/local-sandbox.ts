// Runs an attempt as a local process group, optionally isolated by sandbox-runtime (srt.ts).
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ForgeError } from '../../domain/errors.ts';
import type {
  DoctorCheck,
  Sandbox,
  SandboxExit,
  SandboxRun,
  SandboxSpec,
} from '../../ports/sandbox.ts';
import { hasLabels, killLabelled, labelEnv, stopGroup } from './labelled-processes.ts';
import { startGroup } from './process-group.ts';
import {
  findSrtTools,
  LAUNCHER_PATH,
  missingToolsReason,
  srtCommand,
  srtConfig,
  unisolatedNotice,
  type LaunchRequest,
  type SrtTools,
} from './srt.ts';

export interface LocalSandboxOptions {
  /** `srt`: isolate with sandbox-runtime, or refuse to start without it. `none`: unisolated.
   *  `auto`: srt when bubblewrap, socat and ripgrep are installed, else unisolated with a warning. */
  isolation: 'none' | 'srt' | 'auto';
  /** Called once, at creation, when runs will be unisolated. */
  onWarning?: (msg: string) => void;
}

type Isolation =
  | { kind: 'none'; notice: string }
  | { kind: 'srt'; tools: SrtTools }
  | { kind: 'srt-missing'; reason: string };

const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

function resolveIsolation(isolation: LocalSandboxOptions['isolation']): Isolation {
  if (isolation === 'none') {
    return { kind: 'none', notice: unisolatedNotice("sandbox isolation is set to 'none'") };
  }
  const found = findSrtTools();
  if (found.ok) return { kind: 'srt', tools: found.tools };
  const reason = missingToolsReason(found.missing);
  if (isolation === 'srt') return { kind: 'srt-missing', reason };
  return { kind: 'none', notice: unisolatedNotice(reason) };
}

/** Local processes. `output` must be read (to its end, or until the reader stops) for `exited` to
 *  resolve; that is what lets `exited` promise the output is complete. Every process of a run
 *  carries FORGE_JOB_ID and FORGE_ATTEMPT besides `spec.env`: that is how `reap` and the sweep
 *  after each run recognise them. When the agent's main process exits, whatever it left running
 *  is killed: nothing of an attempt runs unobserved. */
export function createLocalSandbox(opts: LocalSandboxOptions): Sandbox {
  const isolation = resolveIsolation(opts.isolation);
  if (isolation.kind === 'none') opts.onWarning?.(isolation.notice);
  const sandbox: Sandbox = {
    kind: 'local',
    label: isolation.kind === 'none' ? 'local' : 'local+srt',
    async start(spec, signal) {
      await requireDirectory(spec.cwd, 'workspace');
      await requireDirectory(spec.tmpDir, 'temporary directory');
      const env = { ...spec.env, TMPDIR: spec.tmpDir, ...labelEnv(spec.labels) };
      switch (isolation.kind) {
        case 'none':
          return startPlain(spec, env, signal, [isolation.notice]);
        case 'srt':
          return startIsolated(spec, env, isolation.tools, signal);
        case 'srt-missing':
          throw new ForgeError(
            'unavailable',
            `sandbox isolation 'srt' cannot run: ${isolation.reason}; install them, or set isolation to 'auto' or 'none'`,
          );
      }
    },
    async reap(ref, labels) {
      try {
        const match = /^pid:(\d+)$/.exec(ref);
        const pid = match ? Number(match[1]) : 0;
        // The pid may have been reused since the runner died: only a labelled process is ours.
        if (pid > 1 && (await hasLabels(pid, labels))) await stopGroup(pid, labels);
        await killLabelled(labels);
      } catch {
        // reap never throws; what it could not kill is found again by the next sweep
      }
    },
    async doctor() {
      switch (isolation.kind) {
        case 'none':
          return [
            { name: 'sandbox isolation', ok: false, level: 'warn', detail: isolation.notice },
          ];
        case 'srt-missing':
          return [
            {
              name: 'sandbox isolation',
              ok: false,
              level: 'error',
              detail: `srt cannot run: ${isolation.reason}`,
            },
          ];
        case 'srt': {
          const { bwrap, socat, rg } = isolation.tools;
          const tools: DoctorCheck = {
            name: 'sandbox tools',
            ok: true,
            level: 'ok',
            detail: `bubblewrap ${bwrap}, socat ${socat}, ripgrep ${rg}`,
          };
          return [tools, await trialRun(sandbox)];
        }
      }
    },
  };
  return sandbox;
}

async function requireDirectory(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory()) {
    throw new ForgeError(
      'unavailable',
      `${what} ${path} does not exist or is not a directory; it must be created before the agent starts`,
    );
  }
}

async function startPlain(
  spec: SandboxSpec,
  env: Record<string, string>,
  signal: AbortSignal,
  notices: string[],
): Promise<SandboxRun> {
  const { pid, output, exited } = await startGroup({
    argv: spec.command,
    cwd: spec.cwd,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
    labels: spec.labels,
    signal,
  });
  return { ref: `pid:${pid}`, output, exited, notices };
}

async function startIsolated(
  spec: SandboxSpec,
  env: Record<string, string>,
  tools: SrtTools,
  signal: AbortSignal,
): Promise<SandboxRun> {
  const request: LaunchRequest = { config: srtConfig(spec, tools), command: srtCommand(spec), env };
  // srt keeps its sockets and mount points here; HOME too, so that srt's "convenience" writable
  // directories under HOME point at nothing real.
  const privateDir = await mkdtemp(join(tmpdir(), 'forge-srt-'));
  const cleanup = () => rm(privateDir, { recursive: true, force: true });
  let run;
  try {
    run = await startGroup({
      argv: [process.execPath, '--disable-warning=ExperimentalWarning', LAUNCHER_PATH],
      cwd: spec.cwd,
      env: { PATH: SYSTEM_PATH, HOME: privateDir, TMPDIR: privateDir, ...labelEnv(spec.labels) },
      stdio: ['pipe', 'pipe', 'ignore', 'pipe'], // fd 3: the launcher's status line
      labels: spec.labels,
      signal,
      cleanup,
      translate: launcherExit,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const { child, pid, output, exited } = run;
  child.stdin?.on('error', () => {}); // a launcher that died early is reported through fd 3
  child.stdin?.end(JSON.stringify(request));
  const status = (await text(child.stdio[3] as Readable)).trim();
  // Aborted while starting: not a sandbox failure; `exited` reports how it ended.
  if (status === 'ok' || signal.aborted) return { ref: `pid:${pid}`, output, exited, notices: [] };
  const said = (await readText(output)).trim().slice(-2000);
  await exited;
  const reason = status.replace(/^error /, '') || said || 'the launcher exited without saying why';
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

async function readText(output: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of output) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `echo` through the real sandbox: finds what the tool checks cannot (no user namespaces,
 *  a broken seccomp helper, …). */
async function trialRun(sandbox: Sandbox): Promise<DoctorCheck> {
  const name = 'sandbox trial run';
  const root = await mkdtemp(join(tmpdir(), 'forge-sandbox-trial-'));
  const started = performance.now();
  try {
    const cwd = join(root, 'workspace');
    const tmpDir = join(root, 'tmp');
    await mkdir(cwd);
    await mkdir(tmpDir);
    const run = await sandbox.start(
      {
        command: ['/bin/sh', '-c', 'echo forge-sandbox-ok'],
        cwd,
        tmpDir,
        writable: [],
        env: { PATH: SYSTEM_PATH },
        allowedDomains: [],
        denyRead: [],
        labels: { jobId: `doctor-${randomUUID()}`, attempt: 0 },
      },
      AbortSignal.timeout(30_000),
    );
    const output = await readText(run.output);
    const exit = await run.exited;
    const ms = Math.round(performance.now() - started);
    if (exit.exitCode === 0 && output.includes('forge-sandbox-ok')) {
      return { name, ok: true, level: 'ok', detail: `an isolated command ran in ${ms} ms` };
    }
    const detail = `isolated command failed (${JSON.stringify(exit)}): ${output.trim().slice(-500)}`;
    return { name, ok: false, level: 'error', detail };
  } catch (err) {
    return {
      name,
      ok: false,
      level: 'error',
      detail: err instanceof Error ? err.message : String(err),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
