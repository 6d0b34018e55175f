// What `forge doctor` reports about the local sandbox: its isolation, its per-attempt cgroups,
// who creates its processes, and, when isolated, one real run through the isolation.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorCheck, Sandbox } from '../../ports/sandbox.ts';
import type { CgroupSupport } from './attempt-cgroup.ts';
import type { HelperBinary } from './spawn-helper/helper-binary.ts';

const SURVIVORS =
  "processes that leave the agent's process group and clear their environment may survive the run";

/** The notice each unisolated run carries when the host gives it no cgroup. */
export function noCgroupNotice(reason: string): string {
  return `warning: no cgroup per attempt (${reason}): ${SURVIVORS}`;
}

/** Whether what an attempt leaves running is sure to die with it. */
export function cgroupCheck(cgroups: CgroupSupport, isolated: boolean): DoctorCheck {
  const name = 'per-attempt cgroups';
  const found = cgroups.ok ? `available under ${cgroups.parent}` : `unavailable: ${cgroups.reason}`;
  if (isolated) {
    const detail = `${found}; not needed under srt, whose PID namespace ends every process of an attempt with it`;
    return { name, ok: true, level: 'ok', detail };
  }
  if (cgroups.ok) {
    const detail = `${found}: nothing an attempt starts outlives it`;
    return { name, ok: true, level: 'ok', detail };
  }
  return { name, ok: false, level: 'warn', detail: `${found}; ${SURVIVORS}` };
}

/** Who creates the agents' processes: forge-spawn, or Node where it is not built. */
export function helperCheck(binary: HelperBinary): DoctorCheck {
  const name = 'process helper';
  if (binary.ok) {
    const detail = `forge-spawn at ${binary.path}: agents get a 1 MiB output pipe, read in batches`;
    return { name, ok: true, level: 'ok', detail };
  }
  const detail = `spawning through Node (slower, and output through a socket pair): ${binary.reason}`;
  return { name, ok: false, level: 'warn', detail };
}

/** Runs `echo` through the real sandbox: finds what the tool checks cannot (no user namespaces,
 *  a broken seccomp helper, …). */
export async function trialRun(sandbox: Sandbox): Promise<DoctorCheck> {
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
        env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        allowedDomains: [],
        denyRead: [],
        labels: { jobId: `doctor-${randomUUID()}`, attempt: 0 },
      },
      AbortSignal.timeout(30_000),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of run.output) chunks.push(chunk);
    const output = Buffer.concat(chunks).toString('utf8');
    const exit = await run.exited;
    const ms = Math.round(performance.now() - started);
    if (exit.exitCode === 0 && output.includes('forge-sandbox-ok')) {
      return { name, ok: true, level: 'ok', detail: `an isolated command ran in ${ms} ms` };
    }
    const detail = `isolated command failed (${JSON.stringify(exit)}): ${output.trim().slice(-500)}`;
    return { name, ok: false, level: 'error', detail };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { name, ok: false, level: 'error', detail };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
