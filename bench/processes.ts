/**
 * Every process a benchmark run starts — servers, workers, agents, floors — carries
 * FORGE_BENCH_RUN=<run id> in its environment (Forge passes it to agents through the agent's
 * `env`). At the end of a run, `killMarked` finds whatever is left by that label and kills it: a
 * leak guard that holds even for agents of a server that was killed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

export const RUN_ID = `${process.pid}-${randomBytes(4).toString('hex')}`;
export const MARKER = { FORGE_BENCH_RUN: RUN_ID };

/** PATH and the run marker: the whole environment of the processes benchmarks start. */
export function benchEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...MARKER, ...extra };
}

/** SIGKILLs every process labelled with this run; returns how many there were. */
export async function killMarked(): Promise<number> {
  const entry = `FORGE_BENCH_RUN=${RUN_ID}`;
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  let killed = 0;
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`).catch(() => null);
    if (!environ?.toString('utf8').split('\0').includes(entry)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

/** Resident set size of a process in KiB (VmRSS), or null when it is gone. */
export async function rssKb(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const match = status === null ? null : /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) : null;
}

/** CPU time (user + system) a process has used so far, in ms; its reaped children not counted. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces); utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;
