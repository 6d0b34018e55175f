import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSpawnHelper } from './helper-binary.ts';
import { SpawnHelper, type HelperProcess } from './spawn-helper.ts';

const built = findSpawnHelper();
if (!built.ok) throw new Error(built.reason);
const deaths: string[] = [];
const helper = new SpawnHelper(built.path, (reason) => deaths.push(reason));
afterAll(() => helper.close());

const ENV = { PATH: '/usr/local/bin:/usr/bin:/bin' };

async function collect(stdout: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdout) chunks.push(chunk as Buffer);
  return chunks;
}

function start(argv: string[], more: Partial<Parameters<SpawnHelper['spawn']>[0]> = {}) {
  return helper.spawn({
    argv,
    env: ENV,
    cwd: root,
    cgroup: null,
    stdin: { kind: 'null' },
    ...more,
  });
}

async function run(argv: string[], more: Partial<Parameters<SpawnHelper['spawn']>[0]> = {}) {
  const p = await start(argv, more);
  const output = Buffer.concat(await collect(p.stdout)).toString('utf8');
  return { p, output, exit: await p.exit };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'forge-spawn-helper-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Resolves when the process sleeps in a write to its full output pipe. */
async function blockedOnWrite(pid: number): Promise<void> {
  for (;;) {
    const wchan = await readFile(`/proc/${pid}/wchan`, 'utf8').catch(() => '');
    if (wchan.includes('pipe_write')) return; // pipe_write, or anon_pipe_write on newer kernels
    await new Promise((r) => setImmediate(r));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('forge-spawn', () => {
  it('runs the command in its working directory, with its environment, stderr merged into stdout in order', async () => {
    const { p, output, exit } = await run(
      ['sh', '-c', 'pwd; echo "$GREETING"; echo to-stderr >&2; echo last; exit 3'],
      { env: { ...ENV, GREETING: 'hello' } },
    );
    expect(output).toBe(`${root}\nhello\nto-stderr\nlast\n`);
    expect(exit).toEqual({ exitCode: 3, signal: null });
    expect(p.pid).toBeGreaterThan(1);
  });

  it('gives each process a session and process group of its own', async () => {
    const { p, output } = await run(['sh', '-c', 'ps -o pid=,pgid=,sid= -p $$']);
    const [pid, pgid, sid] = output.trim().split(/\s+/).map(Number);
    expect([pid, pgid, sid]).toEqual([p.pid, p.pid, p.pid]);
  });

  it('reports a death by signal by its name', async () => {
    const { exit } = await run(['sh', '-c', 'kill -TERM $$']);
    expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('feeds standard input from a file or from bytes, and nothing otherwise', async () => {
    const file = join(root, 'input');
    await writeFile(file, 'from a file');
    expect((await run(['cat'], { stdin: { kind: 'file', path: file } })).output).toBe(
      'from a file',
    );
    const data = Buffer.alloc(300_000, 'x');
    expect((await run(['wc', '-c'], { stdin: { kind: 'data', data } })).output.trim()).toBe(
      '300000',
    );
    expect((await run(['wc', '-c'])).output.trim()).toBe('0');
  });

  it('relays the status descriptor apart from the output', async () => {
    const { p, output } = await run(['sh', '-c', 'echo out; echo ok >&4; exec 4>&-; echo more'], {
      statusFd: 4,
    });
    expect(output).toBe('out\nmore\n');
    expect(await p.status).toBe('ok\n');
  });

  it('appends to an output file instead of the pipe when asked', async () => {
    const file = join(root, 'spool');
    await writeFile(file, 'before\n');
    const { output, exit } = await run(['sh', '-c', 'echo out; echo err >&2'], {
      outputPath: file,
    });
    expect(output).toBe('');
    expect(exit.exitCode).toBe(0);
    expect(await readFile(file, 'utf8')).toBe('before\nout\nerr\n');
  });

  it('says in the output, as a shell would, when the program cannot be executed', async () => {
    const script = join(root, 'not-executable');
    await writeFile(script, '#!/bin/sh\necho ran\n');
    const denied = await run([script]);
    expect(denied.exit.exitCode).toBe(126);
    expect(denied.output).toContain(`forge: could not run ${script}: Permission denied`);
    const missing = await run(['no-such-program-anywhere']);
    expect(missing.exit.exitCode).toBe(127);
    expect(missing.output).toContain('No such file or directory');
  });

  it('refuses what it cannot set up, with the reason', async () => {
    const p = start(['true'], { cwd: join(root, 'missing') });
    await expect(p).rejects.toThrow(
      `could not enter the working directory ${join(root, 'missing')}`,
    );
    expect(() => start(['echo', 'a\0b'])).toThrow(/NUL byte/);
  });

  it('hands a fast writer its output in large chunks, every byte of it', async () => {
    const size = 8 << 20;
    const p = await start(['head', '-c', String(size), '/dev/zero']);
    const chunks = await collect(p.stdout);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(size);
    // Node's socket pair would give at least one chunk per 64 KiB read (128 of them).
    expect(chunks.length).toBeLessThan(size / 65536);
  });

  it('stops reading a run whose reader is behind: the writer waits on a full pipe, nothing is lost', async () => {
    const size = 64 << 20;
    const p = await start(['head', '-c', String(size), '/dev/zero']);
    await blockedOnWrite(p.pid);
    // What Forge holds is bounded: its high-water mark plus one batch from the helper.
    expect(p.stdout.readableLength).toBeLessThanOrEqual((4 << 20) + (1 << 20));
    const chunks = await collect(p.stdout);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(size);
    expect((await p.exit).exitCode).toBe(0);
  });

  it('when killed, ends the runs it owned as lost, and the next spawn starts a new helper', async () => {
    const p: HelperProcess = await start(['sh', '-c', 'echo started; exec sleep 60']);
    const first = helper.pid!;
    process.kill(first, 'SIGKILL');
    const exit = await p.exit;
    expect(exit.lost).toMatch(/forge-spawn\) died: it was killed by SIGKILL/);
    expect(deaths.at(-1)).toBe(exit.lost);
    await collect(p.stdout); // the output ends too
    process.kill(-p.pid, 'SIGKILL'); // the sandbox does this; here, the test
    const again = await run(['echo', 'again']);
    expect(again.output).toBe('again\n');
    expect(helper.pid).not.toBe(first);
    expect(alive(first)).toBe(false);
  });
});
