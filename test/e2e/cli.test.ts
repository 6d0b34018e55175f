/**
 * The `forge` command line, run as a real process against a real `forge serve`: what it prints,
 * and the exit codes scripts rely on (0 ok, 1 job did not succeed, 3 not found, 4 conflict,
 * 5 unreachable, 6 configuration).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  ROOT,
  startForge,
  stopAllForges,
  testConfig,
  type ForgeProcess,
} from '../support/forge-server.ts';

const BIN = join(ROOT, 'bin', 'forge.js');
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ReturnType<typeof spawn>>();

/** Runs `forge ARGS` to completion (killing it after `timeoutMs`), in a scratch directory so no
 *  stray forge.yaml is picked up, with only the environment given. */
function forgeCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `forge ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The agent's own lines, without Forge's notices (e.g. "[forge] warning: running unisolated"). */
const agentLines = (output: string): string[] =>
  output.split('\n').filter((l) => l !== '' && !l.startsWith('[forge] '));

let forge: ForgeProcess;
let scratch: string;
const cli = (...args: string[]): Promise<CliResult> => forgeCli(args, { FORGE_URL: forge.url });

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'forge-cli-'));
  forge = await startForge();
});

afterEach(({ task }) => {
  // A failure here is often the server's; show what it said.
  if (task.result?.state === 'fail')
    console.error(`forge serve output:\n${forge.stderr.slice(-4000)}`);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (forge) await forge.stop('SIGTERM');
  await stopAllForges();
  rmSync(scratch, { recursive: true, force: true });
});

describe('forge submit', () => {
  it('prints the new job id and nothing else', async () => {
    const res = await cli('submit', 'print submitted');
    expect(res.code, res.stderr).toBe(0);
    const id = res.stdout.trim();
    expect(id).toMatch(ULID);
    const job = await forge.job(id);
    expect(job.task).toBe('print submitted');
    expect(job.source).toBe('cli');
  });

  it('--wait follows a succeeding job, prints its output and exits 0', async () => {
    const res = await cli('submit', '--wait', 'print hi');
    expect(res.code, res.stderr).toBe(0);
    const [id, ...rest] = res.stdout.trim().split('\n');
    expect(id).toMatch(ULID);
    expect(rest).toContain('hi');
    expect((await forge.job(id!)).status).toBe('SUCCEEDED');
  });

  it('--wait exits 1 when the job fails, and says why', async () => {
    const res = await cli('submit', '--wait', 'exit 3');
    expect(res.code).toBe(1);
    const id = res.stdout.trim().split('\n')[0]!;
    expect(res.stderr).toContain(`job ${id} FAILED`);
    const job = await forge.job(id);
    expect(job.status).toBe('FAILED');
    expect(job.attempts.at(-1)?.exit_code).toBe(3);
  });

  it('refuses an invalid request with exit 2 and the server message', async () => {
    const res = await cli('submit', '--agent', 'no-such-agent', 'print hi');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no-such-agent/);
  });
});

describe('forge list / show / logs', () => {
  let id: string;

  beforeAll(async () => {
    id = await forge.submit('print first line; print second line', { tags: ['cli-read'] });
    await forge.waitFor(id);
  });

  it('list shows the job in a table', async () => {
    const res = await cli('list', '--tags', 'cli-read');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+AGENT\s+TRIES\s+CREATED\s+TASK$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(`^${id}\\s+SUCCEEDED\\s+script\\s+1\\s+.*print first line; print second line$`),
    );
  });

  it('list --json gives {jobs, total}', async () => {
    const res = await cli('list', '--json', '--tags', 'cli-read');
    expect(res.code, res.stderr).toBe(0);
    const body = JSON.parse(res.stdout) as {
      jobs: Array<{ id: string; status: string }>;
      total: number;
    };
    expect(body.total).toBe(1);
    expect(body.jobs.map((j) => [j.id, j.status])).toEqual([[id, 'SUCCEEDED']]);
  });

  it('show prints the status and the attempts', async () => {
    const res = await cli('show', id);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^job\\s+${id}$`, 'm'));
    expect(res.stdout).toMatch(/^status\s+SUCCEEDED$/m);
    expect(res.stdout).toMatch(/^attempt 1 \[\S+\] \S+ → \S+ exit 0$/m);
  });

  it('show --json parses as the full record', async () => {
    const res = await cli('show', id, '--json');
    expect(res.code, res.stderr).toBe(0);
    const job = JSON.parse(res.stdout) as {
      id: string;
      status: string;
      attempts: Array<{ number: number; exit_code: number }>;
    };
    expect(job).toMatchObject({ id, status: 'SUCCEEDED' });
    expect(job.attempts.map((a) => [a.number, a.exit_code])).toEqual([[1, 0]]);
  });

  it('logs prints the output', async () => {
    const res = await cli('logs', id);
    expect(res.code, res.stderr).toBe(0);
    expect(agentLines(res.stdout)).toEqual(['first line', 'second line']);
    expect(res.stdout.endsWith('second line\n')).toBe(true);
  });

  it('logs -f follows a running job, prints every line and exits when it ends', async () => {
    const running = await forge.submit('lines 5 300');
    await forge.waitFor(running, (j) => j.status === 'RUNNING');
    const res = await cli('logs', '-f', running);
    expect(res.code, res.stderr).toBe(0);
    expect(agentLines(res.stdout).map((l) => l.replace(/ at .*/, ''))).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      'line 4',
    ]);
    expect((await forge.job(running)).status).toBe('SUCCEEDED');
  });

  it('show of an unknown job exits 3 and says so', async () => {
    const res = await cli('show', 'NOPE');
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/NOPE/);
  });
});

describe('forge cancel', () => {
  it('cancels a job and prints CANCELLED; cancelling again exits 4 with a message', async () => {
    const id = await forge.submit('sleep 30000');
    await forge.waitFor(id, (j) => j.status === 'RUNNING');
    const res = await cli('cancel', id);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe(`${id} CANCELLED`);
    expect((await forge.job(id)).status).toBe('CANCELLED');

    const again = await cli('cancel', id);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/^forge: .+/);
    expect(again.stderr).toMatch(/CANCELLED|terminal|already/i);
  });
});

describe('when the server cannot be reached', () => {
  it('exits 5 with a message naming the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const res = await forgeCli(['list'], { FORGE_URL: url });
    expect(res.code).toBe(5);
    expect(res.stderr).toContain(url);
  });

  it('honours --url over FORGE_URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const res = await forgeCli(['--url', url, 'show', 'X'], { FORGE_URL: forge.url });
    expect(res.code).toBe(5);
    expect(res.stderr).toContain(url);
  });
});

describe('forge doctor', () => {
  it('exits 0 with the test config and lists the script agent as ok', async () => {
    const res = await forgeCli(['doctor', '--config', forge.configPath], {});
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ok\s+agent script: /m);
    expect(res.stdout).toMatch(/^ok\s+config: /m);
    expect(res.stdout).not.toMatch(/^FAIL/m);
  });

  it('exits 6 naming an agent whose command is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-doctor-'));
    const base = testConfig(dir);
    const config = testConfig(dir, {
      agents: {
        ...(base.agents as object),
        ghost: { kind: 'command', command: ['forge-no-such-agent-binary', '{prompt}'] },
      },
    });
    const path = join(dir, 'forge.yaml');
    writeFileSync(path, stringify(config));
    const res = await forgeCli(['doctor', '--config', path], {});
    expect(res.code).toBe(6);
    expect(res.stdout).toMatch(/^FAIL\s+agent ghost: .*forge-no-such-agent-binary/m);
    expect(res.stdout).toMatch(/^ok\s+agent script: /m);
  });

  it('exits 6 and reports the problems of an invalid config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-doctor-'));
    const path = join(dir, 'forge.yaml');
    writeFileSync(path, stringify({ limits: { max_concurrent: 0 }, server: { port: 'abc' } }));
    const res = await forgeCli(['doctor', '--config', path], {});
    expect(res.code).toBe(6);
    expect(res.stdout).toMatch(/limits\.max_concurrent/);
    expect(res.stdout).toMatch(/server\.port/);
  });
});
