// What every Sandbox adapter must do, whatever it runs on. The suite sees processes only through
// the port (`alive`), so a sandbox on another machine or in a pod can run it unchanged.
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/ports/sandbox.ts';
import {
  finish,
  goneWithin,
  makeScratch,
  makeSpec,
  reader,
  TEST_PATH,
  type Scratch,
} from './sandbox-scratch.ts';

export function sandboxContract(name: string, make: () => Promise<Sandbox>): void {
  describe(`${name} (sandbox contract)`, () => {
    let sandbox: Sandbox;
    let scratch: Scratch;
    const serverOnly = `server-only-${randomUUID()}`;
    const start = (command: string[], more?: Parameters<typeof makeSpec>[2]) =>
      sandbox.start(makeSpec(scratch, command, more), new AbortController().signal);

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
      const leaked = [];
      for (const labels of scratch.labels) {
        if (await goneWithin(sandbox, labels, 1000)) continue;
        leaked.push(labels);
        await sandbox.reap('', labels);
      }
      await rm(scratch.root, { recursive: true, force: true });
      expect(leaked, 'attempts left running by the test').toEqual([]);
    });

    it('runs argv from env.PATH in cwd with exactly the given environment', async () => {
      const script = 'pwd -P; printf "[%s]\\n" "$@"; env';
      const { output, exit } = await finish(
        await start(['sh', '-c', script, 'sh', 'two words', "it's"], {
          env: { FORGE_CONTRACT_CUSTOM: 'custom value' },
        }),
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

    it("finds the program on env.PATH, which need not be the server's", async () => {
      const bin = join(scratch.root, 'bin');
      await mkdir(bin);
      await writeFile(join(bin, 'forge-contract-agent'), '#!/bin/sh\necho agent ran\n');
      await chmod(join(bin, 'forge-contract-agent'), 0o755);
      const { output } = await finish(
        await start(['forge-contract-agent'], { env: { PATH: `${bin}:${TEST_PATH}` } }),
      );
      expect(output).toBe('agent ran\n');
    });

    it('rejects start with not_found when the program is not on env.PATH', async () => {
      await expect(start(['forge-no-such-agent'])).rejects.toMatchObject({
        code: 'not_found',
        message: expect.stringContaining('"forge-no-such-agent"') as unknown,
      });
      await writeFile(join(scratch.cwd, 'not-executable'), 'echo hi\n');
      await expect(start(['./not-executable'])).rejects.toMatchObject({ code: 'not_found' });
    });

    it('reports an agent that exits 127 itself as its exit, not as a missing program', async () => {
      const { exit } = await finish(await start(['sh', '-c', 'exit 127']));
      expect(exit).toEqual({ exitCode: 127, signal: null });
    });

    it('merges stdout and stderr in the order they were written', async () => {
      const script = 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done';
      const { output } = await finish(await start(['sh', '-c', script]));
      expect(output).toBe([1, 2, 3, 4, 5].map((i) => `out${i}\nerr${i}\n`).join(''));
    });

    it('gives the process stdinFile as its standard input, byte for byte', async () => {
      const text = 'Grüße aus Köln — 東京 ✓ 🚀\n'.repeat(10_000); // about 300 KB
      const file = join(scratch.root, 'prompt.txt');
      await writeFile(file, text);
      const { output, exit } = await finish(await start(['cat'], { stdinFile: file }));
      expect(exit).toEqual({ exitCode: 0, signal: null });
      expect(output.length).toBe(text.length);
      expect(output === text, 'output is the stdin file verbatim').toBe(true);
    });

    it('gives the process empty standard input without stdinFile', async () => {
      const { output } = await finish(await start(['sh', '-c', 'cat; echo end']));
      expect(output).toBe('end\n');
    });

    it('rejects start with unavailable when stdinFile cannot be read', async () => {
      const stdinFile = join(scratch.root, 'missing-prompt.txt');
      await expect(start(['cat'], { stdinFile })).rejects.toMatchObject({ code: 'unavailable' });
    });

    it('reports the exit code', async () => {
      const { exit } = await finish(await start(['sh', '-c', 'exit 3']));
      expect(exit).toEqual({ exitCode: 3, signal: null });
    });

    it('reports death by a signal', async () => {
      const { exit } = await finish(await start(['sh', '-c', 'kill -TERM $$']));
      expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
    });

    it('alive is true while an attempt runs and false once it has exited', async () => {
      const spec = makeSpec(scratch, ['sh', '-c', 'echo up; sleep 60']);
      const controller = new AbortController();
      const run = await sandbox.start(spec, controller.signal);
      const out = reader(run);
      expect(await out.until('up')).toBe(true);
      expect(await sandbox.alive(spec.labels)).toBe(true);
      expect(await sandbox.alive({ ...spec.labels, attempt: 2 })).toBe(false);
      controller.abort();
      await out.rest();
      await run.exited;
      expect(await goneWithin(sandbox, spec.labels, 10_000)).toBe(true);
    });

    it('abort kills the whole tree, even processes that ignore SIGTERM, and keeps the output written before', async () => {
      // Both processes ignore SIGTERM: only the escalation to SIGKILL stops them. How fast that
      // happens is a benchmark's business; here the run must end and leave nothing behind.
      const spec = makeSpec(scratch, ['sh', '-c', 'trap "" TERM; sleep 60 & echo started; wait']);
      const controller = new AbortController();
      const run = await sandbox.start(spec, controller.signal);
      const out = reader(run);
      expect(await out.until('started')).toBe(true);
      controller.abort();
      expect(await out.rest()).toContain('started');
      expect((await run.exited).exitCode).not.toBe(0);
      expect(await goneWithin(sandbox, spec.labels, 10_000), 'processes left after abort').toBe(
        true,
      );
    });

    it('ends output and exited after the agent exits, though a process it left holds the output open', async () => {
      // The left-over leaves the process group and clears its environment, so neither a group
      // signal nor an environment label finds it, and it keeps the output pipe open. Should the
      // sandbox not kill it, it ends by itself once the test removes the scratch directory.
      const linger = `while [ -d ${scratch.root} ]; do sleep 0.1; done`;
      const script = `setsid sh -c 'exec env -i /bin/sh -c "${linger}"' & sleep 1; echo started`;
      const { output, exit } = await finish(await start(['sh', '-c', script]));
      expect(output).toBe('started\n');
      expect(exit).toEqual({ exitCode: 0, signal: null });
    });

    it('resolves exited only once large output has been read completely', async () => {
      const size = 5 * 1024 * 1024;
      const run = await start(['head', '-c', String(size), '/dev/zero']);
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
      expect(await goneWithin(later, mine.labels, 10_000)).toBe(true);
      await leftOverOut.rest();
      expect((await leftOver.exited).exitCode).not.toBe(0);

      // The survivor's ref with the left-over's labels: a reused pid must not be killed.
      await later.reap(survivor.ref, mine.labels);
      await writeFile(join(scratch.cwd, 'go'), '');
      expect(await survivorOut.until('alive')).toBe(true);
      expect(await later.alive(other.labels)).toBe(true);
      controller.abort();
      await survivorOut.rest();
      await survivor.exited;
    });

    it('rejects start with unavailable when the workspace does not exist', async () => {
      const cwd = join(scratch.root, 'missing');
      await expect(start(['true'], { cwd })).rejects.toMatchObject({ code: 'unavailable' });
    });
  });
}
