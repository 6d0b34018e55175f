// Runs an attempt as a local process group, optionally isolated by sandbox-runtime (srt.ts).
import { join } from 'node:path';
import { ForgeError } from '../../domain/errors.ts';
import type { DoctorCheck, Sandbox, SandboxLabels } from '../../ports/sandbox.ts';
import {
  attemptCgroupName,
  cgroupPopulated,
  destroyCgroup,
  isAttemptCgroup,
  probeCgroups,
  type CgroupSupport,
} from './attempt-cgroup.ts';
import { anyLabelled, hasLabels, killLabelled, labelEnv, stopGroup } from './labelled-processes.ts';
import { startIsolated, startPlain } from './local-runs.ts';
import { cgroupCheck, helperCheck, noCgroupNotice, trialRun } from './sandbox-doctor.ts';
import { findSpawnHelper, type HelperBinary } from './spawn-helper/helper-binary.ts';
import { SpawnHelper } from './spawn-helper/spawn-helper.ts';
import { requireDirectory, requireProgram, requireStdinFile } from './spec-checks.ts';
import { findSrtTools, missingToolsReason, unisolatedNotice, type SrtTools } from './srt.ts';

export interface LocalSandboxOptions {
  /** `srt`: isolate with sandbox-runtime, or refuse to start without it. `none`: unisolated.
   *  `auto`: srt when bubblewrap, socat and ripgrep are installed, else unisolated with a warning. */
  isolation: 'none' | 'srt' | 'auto';
  /** `auto` (the default): unisolated attempts each get a cgroup v2 group where the host lets this
   *  server create one. `off`: never; what hosts without cgroups do, and how it is tested. */
  cgroups?: 'auto' | 'off';
  /** `auto` (the default): processes are created by forge-spawn where it is built, else by Node.
   *  `node`: always by Node's spawn, through a wrapper shell. */
  spawn?: 'auto' | 'node';
  /** forge-spawn's path, when not the one `npm ci` builds. */
  helperPath?: string;
  /** Called at creation when runs will be unisolated, and when the process helper dies. */
  onWarning?: (msg: string) => void;
}

type Isolation =
  | { kind: 'none'; notice: string }
  | { kind: 'srt'; tools: SrtTools }
  | { kind: 'srt-missing'; reason: string };

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

/** `pid:<n>`, optionally followed by ` cgroup:<directory>`. */
function parseRef(ref: string): { pid: number; cgroup: string | null } {
  const match = /^pid:(\d+)(?: cgroup:(\/.+))?$/.exec(ref);
  return { pid: match ? Number(match[1]) : 0, cgroup: match?.[2] ?? null };
}

/** Local processes. `output` must be read (to its end, or until the reader stops) for `exited` to
 *  resolve; that is what lets `exited` promise the output is complete. Every process of a run
 *  carries FORGE_JOB_ID and FORGE_ATTEMPT besides `spec.env`: that is how `reap` and the sweep
 *  after each run recognise them. An unisolated run also lives in a cgroup of its own where the
 *  host allows (probed once, here), which holds even the processes that shed those labels; under
 *  srt the PID namespace does that. When the agent's main process exits, whatever it left running
 *  is killed: nothing of an attempt runs unobserved. */
export function createLocalSandbox(opts: LocalSandboxOptions): Sandbox {
  const isolation = resolveIsolation(opts.isolation);
  if (isolation.kind === 'none') opts.onWarning?.(isolation.notice);
  const cgroups: CgroupSupport =
    opts.cgroups === 'off' ? { ok: false, reason: 'turned off' } : probeCgroups();
  const binary: HelperBinary =
    opts.spawn === 'node'
      ? { ok: false, reason: "sandbox.spawn is 'node'" }
      : findSpawnHelper(opts.helperPath);
  const helper = binary.ok ? new SpawnHelper(binary.path, opts.onWarning) : null;
  const attemptCgroup = (labels: SandboxLabels) =>
    cgroups.ok ? join(cgroups.parent, attemptCgroupName(labels)) : null;
  const sandbox: Sandbox = {
    kind: 'local',
    label: isolation.kind === 'none' ? 'local' : 'local+srt',
    async start(spec, signal) {
      await requireDirectory(spec.cwd, 'workspace');
      await requireDirectory(spec.tmpDir, 'temporary directory');
      requireProgram(spec);
      await requireStdinFile(spec.stdinFile);
      const env = { ...spec.env, TMPDIR: spec.tmpDir, ...labelEnv(spec.labels) };
      switch (isolation.kind) {
        case 'none': {
          const notices = [isolation.notice];
          if (!cgroups.ok) notices.push(noCgroupNotice(cgroups.reason));
          const req = { spec, env, signal, notices, helper };
          return startPlain(req, cgroups.ok ? cgroups.parent : null);
        }
        case 'srt':
          return startIsolated({ spec, env, signal, notices: [], helper }, isolation.tools);
        case 'srt-missing':
          throw new ForgeError(
            'unavailable',
            `sandbox isolation 'srt' cannot run: ${isolation.reason}; install them, or set isolation to 'auto' or 'none'`,
          );
      }
    },
    async alive(labels) {
      try {
        const dir = attemptCgroup(labels);
        const populated = dir ? await cgroupPopulated(dir) : null;
        return populated ?? (await anyLabelled(labels));
      } catch {
        return false;
      }
    },
    async reap(ref, labels) {
      try {
        const { pid, cgroup } = parseRef(ref);
        // The pid may have been reused since the runner died: only a labelled process is ours.
        if (pid > 1 && (await hasLabels(pid, labels))) await stopGroup(pid, labels);
        // The stored cgroup, or the one this server would have made: either only if its name
        // says it is this attempt's.
        for (const dir of new Set([cgroup, attemptCgroup(labels)])) {
          if (dir && isAttemptCgroup(dir, labels)) await destroyCgroup(dir);
        }
        await killLabelled(labels);
      } catch {
        // reap never throws; what it could not kill is found again by the next sweep
      }
    },
    async doctor() {
      const cgroup = cgroupCheck(cgroups, isolation.kind !== 'none');
      const spawner = helperCheck(binary);
      switch (isolation.kind) {
        case 'none':
          return [
            { name: 'sandbox isolation', ok: false, level: 'warn', detail: isolation.notice },
            cgroup,
            spawner,
          ];
        case 'srt-missing': {
          const detail = `srt cannot run: ${isolation.reason}`;
          return [
            { name: 'sandbox isolation', ok: false, level: 'error', detail },
            cgroup,
            spawner,
          ];
        }
        case 'srt': {
          const { bwrap, socat, rg } = isolation.tools;
          const tools: DoctorCheck = {
            name: 'sandbox tools',
            ok: true,
            level: 'ok',
            detail: `bubblewrap ${bwrap}, socat ${socat}, ripgrep ${rg}`,
          };
          return [tools, cgroup, spawner, await trialRun(sandbox)];
        }
      }
    },
  };
  return sandbox;
}
