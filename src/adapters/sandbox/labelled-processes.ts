// Every process of an attempt carries FORGE_JOB_ID and FORGE_ATTEMPT in its environment. Pids are
// reused and agents may leave their process group, so the environment (which a process inherits
// from its parent and cannot lose by changing group or session) is how we recognise what is ours.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Labels {
  jobId: string;
  attempt: number;
}

export function labelEnv(labels: Labels): Record<string, string> {
  return { FORGE_JOB_ID: labels.jobId, FORGE_ATTEMPT: String(labels.attempt) };
}

function labelEntries(labels: Labels): string[] {
  return Object.entries(labelEnv(labels)).map(([key, value]) => `${key}=${value}`);
}

/** False for a process that is gone, unreadable, or someone else's. */
export async function hasLabels(pid: number, labels: Labels): Promise<boolean> {
  let environ: string[];
  try {
    environ = (await readFile(`/proc/${pid}/environ`)).toString('utf8').split('\0');
  } catch {
    return false;
  }
  return labelEntries(labels).every((entry) => environ.includes(entry));
}

/** Sends `signal` without caring whether the target still exists. */
export function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone. EPERM: not ours to signal.
  }
}

/** Labels waiting for the next sweep, and the promise that sweep will settle. */
let batch: { labels: Labels[]; done: Promise<void> } | null = null;
/** How long a sweep waits for other attempts' requests to join it. */
const BATCH_MS = 25;

/**
 * SIGKILLs every process on the host labelled with `labels`, except this one. Reading every
 * process's environment costs milliseconds of CPU, so requests arriving close together (many
 * attempts ending at once) share one sweep of /proc.
 */
export function killLabelled(labels: Labels): Promise<void> {
  if (batch) {
    batch.labels.push(labels);
    return batch.done;
  }
  const current: { labels: Labels[]; done: Promise<void> } = {
    labels: [labels],
    done: Promise.resolve(),
  };
  current.done = sleep(BATCH_MS).then(() => {
    batch = null;
    return sweep(current.labels);
  });
  batch = current;
  return current.done;
}

async function sweep(wanted: Labels[]): Promise<void> {
  for (const pid of await labelledPids(wanted)) trySignal(pid, 'SIGKILL');
}

/** Whether a live (not zombie) process other than this one carries `labels`. */
export async function anyLabelled(labels: Labels): Promise<boolean> {
  const pids = await labelledPids([labels]);
  const states = await Promise.all(pids.map(processState));
  return states.some((state) => state !== null && state !== 'Z');
}

/** Pids of processes, other than this one, labelled with any of `wanted`. */
async function labelledPids(wanted: Labels[]): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const signatures = wanted.map(labelEntries);
  const pids = entries
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid);
  const matches = await Promise.all(
    pids.map(async (pid) => {
      let environ: string[];
      try {
        environ = (await readFile(`/proc/${pid}/environ`)).toString('utf8').split('\0');
      } catch {
        return false; // gone, or not ours to read
      }
      return signatures.some((entries) => entries.every((entry) => environ.includes(entry)));
    }),
  );
  return pids.filter((_, i) => matches[i]);
}

/** The state letter from /proc/<pid>/stat (`R`, `S`, `Z` for a zombie…), or null when gone. */
async function processState(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '')[0] ?? null;
  } catch {
    return null;
  }
}

/** SIGTERM to the group led by `pid`, SIGKILL if its leader is still there after half a second.
 *  The grace lets srt's launcher take its mount points out of the workspace. The group is only
 *  signalled again while its leader is alive and labelled: a group id is a pid, and pids are reused. */
export async function stopGroup(pid: number, labels: Labels): Promise<void> {
  trySignal(-pid, 'SIGTERM');
  for (let waited = 0; waited < 500 && (await hasLabels(pid, labels)); waited += 50)
    await sleep(50);
  if (await hasLabels(pid, labels)) trySignal(-pid, 'SIGKILL');
}
