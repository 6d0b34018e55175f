// How tests of the local sandbox check the host's real processes, beneath what the port tells.
// Only tests of local adapters use this; the contract suite asks the sandbox (`alive`).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** A command that starts a process which leaves the agent's process group and session and
 *  clears its environment (so no FORGE_* label finds it), keeps the output open, and sleeps
 *  two minutes. Only `marker` (`NAME=value`) in its environment tells it apart. */
export function escapingSleeper(): { marker: string; command: string } {
  const marker = `FORGE_TEST_LEFTOVER=${randomUUID()}`;
  return { marker, command: `setsid sh -c 'exec env -i ${marker} sleep 120' &` };
}

/** Pids of running (not zombie) processes whose environment holds `entry`. */
export async function processesWithEnv(entry: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = (await readFile(`/proc/${name}/environ`)).toString('utf8').split('\0');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (environ.includes(entry) && stat.replace(/^.*\) /s, '')[0] !== 'Z') found.push(+name);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Test cleanup: SIGKILLs whatever still carries `entry`. */
export async function killWithEnv(entry: string): Promise<void> {
  for (const pid of await processesWithEnv(entry)) process.kill(pid, 'SIGKILL');
}

/** Whether this host looks like it lets this user create and join cgroup v2 groups: a cgroup2
 *  mount whose root accepts processes. Deliberately cruder than the adapter's probe, so that an
 *  adapter that wrongly gives up here fails its tests instead of skipping them. */
export function hostAllowsCgroups(): boolean {
  const script =
    'm=$(awk \'$(NF-2) == "cgroup2" { print $5; exit }\' /proc/self/mountinfo); [ -n "$m" ] && [ -w "$m/cgroup.procs" ]';
  return spawnSync('/bin/sh', ['-c', script]).status === 0;
}

/** Reads `stream` until its text so far contains `needle`; returns that text. */
export async function readUntil(stream: Readable, needle: string): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes(needle)) return text;
  }
  throw new Error(`stream ended before ${JSON.stringify(needle)}; it said: ${text}`);
}
