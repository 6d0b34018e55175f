// forge-spawn dying under a running attempt, against the real server: the attempt is closed as
// interrupted (as after a crash of Forge), what it left running is stopped, and the retry runs
// on a new helper.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

let forge: ForgeProcess;
const mark = join(mkdtempSync(join(tmpdir(), 'forge-helper-death-')), 'first-attempt.pid');

// The first attempt records its pid and waits; the second finishes at once.
const AGENT = [
  'if [ "$FORGE_ATTEMPT" = 1 ]; then echo $$ > "$MARK.tmp"; mv "$MARK.tmp" "$MARK"; echo waiting; exec sleep 600; fi',
  'echo second attempt',
].join('\n');

beforeAll(async () => {
  forge = await startForge({
    config: {
      defaults: { agent: 'waits', max_retries: 1, inactivity_timeout: '1m', max_duration: '2m' },
      agents: { waits: { kind: 'command', command: ['/bin/sh', '-c', AGENT] } },
      profiles: { waits: { agent: 'waits', env: { MARK: mark } } },
    },
  });
});
afterAll(stopAllForges);

/** The server's forge-spawn child, found through /proc. */
function helperOf(serverPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'forge-spawn' && ppid === serverPid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Running, not a zombie awaiting its new parent's wait. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

it('killed mid-attempt, the process helper costs one interrupted attempt; the retry succeeds', async () => {
  const id = await forge.submit('x', { profile: 'waits', agent: undefined });
  const running = await forge.waitFor(id, () => existsSync(mark), 20_000);
  expect(running.status).toBe('RUNNING');
  const agentPid = Number(readFileSync(mark, 'utf8'));
  const helper = helperOf(forge.proc.pid!);
  expect(helper, 'the server runs forge-spawn').toBeDefined();
  process.kill(helper!, 'SIGKILL');

  const job = await forge.waitFor(id);
  expect(job.status).toBe('SUCCEEDED');
  expect(job.attempts).toHaveLength(2);
  expect(job.attempts[0]?.failure).toMatchObject({
    category: 'interrupted',
    message: expect.stringContaining("Forge's process helper (forge-spawn) died") as unknown,
  });
  expect(job.attempts[1]?.output).toContain('second attempt');
  expect(alive(agentPid), 'the first attempt was stopped').toBe(false);
  const next = helperOf(forge.proc.pid!);
  expect(next === undefined || next !== helper).toBe(true);
});
