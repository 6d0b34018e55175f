// A cgroup v2 group per attempt: the one container of an attempt's processes that an agent
// cannot leave by starting a new process group or session, or by clearing its environment. The
// wrapper shell joins it before it execs the agent (process-group.ts), so everything the agent
// starts is born inside it; at the end one write to `cgroup.kill` ends them all.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ForgeError } from '../../domain/errors.ts';
import { isInsideCgroup2, ownCgroupDir } from './cgroup-location.ts';
import { trySignal, type Labels } from './labelled-processes.ts';

/** Whether attempts get a cgroup, and under which group (this server's own) they are made. */
export type CgroupSupport = { ok: true; parent: string } | { ok: false; reason: string };

/** How long killing a cgroup may take before we leave it behind. SIGKILLed processes go within
 *  milliseconds; only one stuck in the kernel (a dead NFS server) takes longer. */
const EMPTY_WAIT_MS = 2000;

/** What the wrapper runs to join the group named by its first argument. */
export const JOIN_CGROUP = '{ echo $$ >"$1/cgroup.procs"; } 2>/dev/null';

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** Finds this process's cgroup and tries, once, to make a group under it and move a process
 *  into it: the only reliable test of permissions, delegation and the no-internal-process rule. */
export function probeCgroups(): CgroupSupport {
  let parent: string | null;
  try {
    parent = ownCgroupDir(
      readFileSync('/proc/self/mountinfo', 'utf8'),
      readFileSync('/proc/self/cgroup', 'utf8'),
    );
  } catch (err) {
    return { ok: false, reason: `cannot read /proc/self (${reasonOf(err)})` };
  }
  if (!parent)
    return { ok: false, reason: 'no cgroup v2 hierarchy holding this server is mounted' };
  const trial = join(parent, `forge-probe-${process.pid}-${randomUUID().slice(0, 8)}`);
  try {
    mkdirSync(trial);
  } catch (err) {
    return { ok: false, reason: `cannot create a cgroup under ${parent} (${reasonOf(err)})` };
  }
  try {
    const moved = spawnSync('/bin/sh', ['-c', JOIN_CGROUP, 'forge-probe', trial], {
      stdio: 'ignore',
    });
    if (moved.status === 0) return { ok: true, parent };
    return { ok: false, reason: `cannot move a process into a cgroup under ${parent}` };
  } finally {
    try {
      rmdirSync(trial);
    } catch {
      // the probe process has been waited for, so the group is empty; nothing else to do
    }
  }
}

/** `forge-<jobId>-<attempt>`; the job id is escaped so that the name is a single path element
 *  and distinct ids give distinct names. */
export function attemptCgroupName(labels: Labels): string {
  return `forge-${encodeURIComponent(labels.jobId)}-${labels.attempt}`;
}

/** Creates the attempt's group under `parent`. A group left by an earlier start of this same
 *  attempt (a crash) is emptied and replaced. Rejects with ForgeError('unavailable'). */
export async function createAttemptCgroup(parent: string, labels: Labels): Promise<string> {
  const dir = join(parent, attemptCgroupName(labels));
  try {
    // Left by a crash in this attempt's previous life: emptied and made anew.
    const made = await mkdir(dir).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
        return false;
      },
    );
    if (!made) {
      await destroyCgroup(dir);
      await mkdir(dir);
    }
  } catch (err) {
    throw new ForgeError(
      'unavailable',
      `could not create the attempt's cgroup ${dir} (${reasonOf(err)}); run 'forge doctor'`,
      { cause: err },
    );
  }
  return dir;
}

/** Whether `dir` can only be the group `labels`' attempt was given: its name and a place inside a
 *  cgroup2 mount. A stored ref is checked with this before anything in it is killed. */
export function isAttemptCgroup(dir: string, labels: Labels): boolean {
  if (basename(dir) !== attemptCgroupName(labels)) return false;
  try {
    return isInsideCgroup2(dir, readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** True while a process is in the group; null when there is no such group. */
export async function cgroupPopulated(dir: string): Promise<boolean | null> {
  try {
    return /^populated 1$/m.test(await readFile(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return null;
  }
}

/** Kills every process in the group, waits until it is empty, and removes it. A group that is
 *  not there is fine. Never throws; a group that will not empty in time is left behind. */
export async function destroyCgroup(dir: string): Promise<void> {
  // cgroup.kill (Linux 5.14+) also catches processes forked while it runs.
  const killed = await writeFile(join(dir, 'cgroup.kill'), '1').then(
    () => true,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : false),
  );
  // No cgroup.kill: the group is gone, or the kernel is older.
  if (killed === null && !(await exists(join(dir, 'cgroup.procs')))) return;
  // Usually empty already (the agent's main process has exited): removed at the first try.
  if (
    await rmdir(dir).then(
      () => true,
      () => false,
    )
  )
    return;
  const deadline = Date.now() + EMPTY_WAIT_MS;
  while ((await cgroupPopulated(dir)) && Date.now() < deadline) {
    if (!killed) await killEach(dir);
    await sleep(10);
  }
  await rmdir(dir).catch(() => {});
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The fallback for kernels without cgroup.kill: repeated until the group is empty, so that a
 *  process forked between reading the list and the signals is caught the next time round. */
async function killEach(dir: string): Promise<void> {
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean).map(Number)) {
    if (pid > 1 && pid !== process.pid) trySignal(pid, 'SIGKILL');
  }
}
