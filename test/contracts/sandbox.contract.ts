// What every Sandbox adapter must do, whatever it runs on. Processes are found through a marker
// in their environment (/proc), so a test sees the real process tree, inside an isolation layer or not.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxExit, SandboxRun, SandboxSpec } from '../../src/ports/sandbox.ts';

export const TEST_PATH = '/usr/local/bin:/usr/bin:/bin';
const MARK = 'FORGE_CONTRACT_MARK';

export interface Scratch {
  root: string;
  cwd: string;
  tmpDir: string;
  /** Markers of every spec made here; the leak guard looks for processes carrying them. */
  marks: string[];
}

export async function makeScratch(): Promise<Scratch> {
  const root = await mkdtemp(join(tmpdir(), 'forge-sandbox-test-'));
  await mkdir(join(root, 'workspace'));
  await mkdir(join(root, 'tmp'));
  return { root, cwd: join(root, 'workspace'), tmpDir: join(root, 'tmp'), marks: [] };
}

export function makeSpec(
  scratch: Scratch,
  command: string[],
  more: Partial<SandboxSpec> = {},
): SandboxSpec {
  const mark = randomUUID();
  scratch.marks.push(mark);
  return {
    command,
    cwd: scratch.cwd,
    tmpDir: scratch.tmpDir,
    writable: [],
    allowedDomains: [],
    denyRead: [],
    labels: { jobId: `contract-${randomUUID()}`, attempt: 1 },
    ...more,
    env: { PATH: TEST_PATH, [MARK]: mark, ...more.env },
  };
}

/** Live pids whose environment carries `mark`. */
export async function pidsMarked(mark: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = (await readFile(`/proc/${name}/environ`)).toString('utf8').split('\0');
      if (!environ.includes(`${MARK}=${mark}`)) continue;
      if (isAlive(Number(name))) found.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** process.kill(pid, 0), except that a zombie counts as gone: it is dead and only waits for a
 *  parent that may not be ours to collect it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

function describePids(pids: number[]): string[] {
  return pids.map((pid) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
    } catch {
      return `${pid} (gone)`;
    }
  });
}

/** Reads a run to its end. */
export async function finish(run: SandboxRun): Promise<{ output: string; exit: SandboxExit }> {
  const chunks: Buffer[] = [];
  for await (const chunk of run.output) chunks.push(chunk);
  return { output: Buffer.concat(chunks).toString('utf8'), exit: await run.exited };
}

/** Reads a run's output incrementally. */
export function reader(run: SandboxRun) {
  const iterator = run.output[Symbol.asyncIterator]();
  let text = '';
  return {
    text: () => text,
    /** Reads until the output contains `needle`; false if it ended first. */
    async until(needle: string): Promise<boolean> {
      while (!text.includes(needle)) {
        const next = await iterator.next();
        if (next.done) return false;
        text += next.value.toString('utf8');
      }
      return true;
    },
    async rest(): Promise<string> {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        text += next.value.toString('utf8');
      }
      return text;
    },
  };
}

export function sandboxContract(name: string, make: () => Promise<Sandbox>): void {
  describe(`${name} (sandbox contract)`, () => {
    let sandbox: Sandbox;
    let scratch: Scratch;
    const serverOnly = `server-only-${randomUUID()}`;

    beforeAll(() => {
      process.env.FORGE_CONTRACT_SERVER_ONLY = serverOnly;
    });
    afterAll(() => {
      delete process.env.FORGE_CONTRACT_SERVER_ONLY;
    });
    beforeEach(async () => {
      sandbox = await make();
      scratch = await makeScratch();
    });
    afterEach(async () => {
      const leaked = (await Promise.all(scratch.marks.map(pidsMarked))).flat();
      for (const pid of leaked) process.kill(pid, 'SIGKILL');
      await rm(scratch.root, { recursive: true, force: true });
      expect(leaked, 'processes left running by the test').toEqual([]);
    });

    it('runs argv from env.PATH in cwd with exactly the given environment', async () => {
      const script = 'pwd -P; printf "[%s]\\n" "$@"; env';
      const spec = makeSpec(scratch, ['sh', '-c', script, 'sh', 'two words', "it's"], {
        env: { FORGE_CONTRACT_CUSTOM: 'custom value' },
      });
      const { output, exit } = await finish(
        await sandbox.start(spec, new AbortController().signal),
      );
      const lines = output.split('\n');
      expect(exit).toEqual({ exitCode: 0, signal: null });
      expect(lines[0]).toBe(await realpath(scratch.cwd));
      expect(lines.slice(1, 3)).toEqual(['[two words]', "[it's]"]);
      expect(lines).toContain('FORGE_CONTRACT_CUSTOM=custom value');
      expect(lines).toContain(`TMPDIR=${scratch.tmpDir}`);
      expect(output).not.toContain(serverOnly);
      expect(output).not.toContain(`HOME=${process.env.HOME}`);
    });

    it('merges stdout and stderr in the order they were written', async () => {
      const script = 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done';
      const { output } = await finish(
        await sandbox.start(makeSpec(scratch, ['sh', '-c', script]), new AbortController().signal),
      );
      expect(output).toBe([1, 2, 3, 4, 5].map((i) => `out${i}\nerr${i}\n`).join(''));
    });

    it('reports the exit code', async () => {
      const { exit } = await finish(
        await sandbox.start(
          makeSpec(scratch, ['sh', '-c', 'exit 3']),
          new AbortController().signal,
        ),
      );
      expect(exit).toEqual({ exitCode: 3, signal: null });
    });

    it('reports death by a signal', async () => {
      const spec = makeSpec(scratch, ['sh', '-c', 'kill -TERM $$']);
      const { exit } = await finish(await sandbox.start(spec, new AbortController().signal));
      expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
    });

    it('abort kills the whole tree within a second and keeps the output written before', async () => {
      // Both processes ignore SIGTERM: only the escalation to SIGKILL stops them.
      const spec = makeSpec(scratch, ['sh', '-c', 'trap "" TERM; sleep 60 & echo started; wait']);
      const controller = new AbortController();
      const run = await sandbox.start(spec, controller.signal);
      const out = reader(run);
      expect(await out.until('started')).toBe(true);
      const tree = await pidsMarked(spec.env[MARK]!);
      expect(tree.length).toBeGreaterThanOrEqual(2);
      controller.abort();
      const deadline = Date.now() + 1000;
      let alive = tree;
      while (alive.length > 0 && Date.now() < deadline) {
        await sleep(25);
        alive = tree.filter(isAlive);
      }
      expect(describePids(alive), 'processes still alive a second after abort').toEqual([]);
      expect(await out.rest()).toContain('started');
      expect((await run.exited).exitCode).not.toBe(0);
    });

    it('resolves exited only once large output has been read completely', async () => {
      const size = 5 * 1024 * 1024;
      const spec = makeSpec(scratch, ['head', '-c', String(size), '/dev/zero']);
      const run = await sandbox.start(spec, new AbortController().signal);
      let received = 0;
      const reading = (async () => {
        for await (const chunk of run.output) received += chunk.length;
      })();
      const exit = await run.exited;
      expect(received).toBe(size);
      expect(exit).toEqual({ exitCode: 0, signal: null });
      await reading;
    });

    it('reap kills a left-over run with its labels and spares a process with other labels', async () => {
      const jobId = `contract-${randomUUID()}`;
      const mine = makeSpec(scratch, ['sh', '-c', 'echo up; sleep 60'], {
        labels: { jobId, attempt: 1 },
      });
      const waitForGo = 'while [ ! -e go ]; do sleep 0.05; done; echo alive; sleep 60';
      const other = makeSpec(scratch, ['sh', '-c', `echo waiting; ${waitForGo}`], {
        labels: { jobId, attempt: 2 },
      });
      const controller = new AbortController();
      const leftOver = await sandbox.start(mine, new AbortController().signal);
      const survivor = await sandbox.start(other, controller.signal);
      const leftOverOut = reader(leftOver);
      const survivorOut = reader(survivor);
      expect(await leftOverOut.until('up')).toBe(true);
      expect(await survivorOut.until('waiting')).toBe(true);

      // A fresh adapter, as after a restart: it only has the stored ref and labels.
      const later = await make();
      await later.reap(leftOver.ref, mine.labels);
      await leftOverOut.rest();
      expect((await leftOver.exited).exitCode).not.toBe(0);

      // The survivor's pid with the left-over's labels: a reused pid must not be killed.
      await later.reap(survivor.ref, mine.labels);
      await writeFile(join(scratch.cwd, 'go'), '');
      expect(await survivorOut.until('alive')).toBe(true);
      controller.abort();
      await survivorOut.rest();
      await survivor.exited;
    });

    it('rejects start with unavailable when the workspace does not exist', async () => {
      const spec = makeSpec(scratch, ['true'], { cwd: join(scratch.root, 'missing') });
      await expect(sandbox.start(spec, new AbortController().signal)).rejects.toMatchObject({
        code: 'unavailable',
      });
    });
  });
}
