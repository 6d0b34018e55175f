// The unisolated local sandbox with a cgroup per attempt: what an agent leaves behind dies with
// the attempt even when it left the process group and cleared its environment.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  escapingSleeper,
  hostAllowsCgroups,
  killWithEnv,
  processesWithEnv,
  readUntil,
} from '../../../test/contracts/host-processes.ts';
import {
  goneWithin,
  makeScratch,
  makeSpec,
  reader,
  type Scratch,
} from '../../../test/contracts/sandbox-scratch.ts';
import { createLocalSandbox } from './local-sandbox.ts';

const here = hostAllowsCgroups();
const suite = here ? describe : describe.skip;
const name = here
  ? 'local sandbox with per-attempt cgroups'
  : 'local sandbox with per-attempt cgroups — SKIPPED: this host has no writable cgroup v2 hierarchy';

// Starts one attempt and prints its ref and output: a runner that the test can kill, as a crash
// of the server would.
const RUNNER = `
const { createLocalSandbox } = await import(process.argv[1]);
const spec = JSON.parse(process.argv[2]);
const run = await createLocalSandbox({ isolation: 'none' }).start(spec, new AbortController().signal);
process.stdout.write('ref=' + run.ref + '\\n');
for await (const chunk of run.output) process.stdout.write(chunk);
`;

suite(name, () => {
  const sandbox = createLocalSandbox({ isolation: 'none' });
  let scratch: Scratch;
  let leftover: ReturnType<typeof escapingSleeper>;

  beforeEach(async () => {
    scratch = await makeScratch();
    leftover = escapingSleeper();
  });
  afterEach(async () => {
    await killWithEnv(leftover.marker);
    for (const labels of scratch.labels) await sandbox.reap('', labels);
    await rm(scratch.root, { recursive: true, force: true });
  });

  it('reports per-attempt cgroups as available in doctor', async () => {
    const check = (await sandbox.doctor()).find((c) => c.name === 'per-attempt cgroups');
    expect(check).toMatchObject({ ok: true, level: 'ok' });
  });

  it('kills what the agent left running when it exits, and removes the cgroup', async () => {
    const waitForGo = 'while [ ! -e go ]; do sleep 0.05; done';
    const spec = makeSpec(scratch, [
      'sh',
      '-c',
      `${leftover.command} sleep 1; echo started; ${waitForGo}`,
    ]);
    const run = await sandbox.start(spec, new AbortController().signal);
    const cgroup = /^pid:\d+ cgroup:(\/.+)$/.exec(run.ref)?.[1] ?? '';
    expect(existsSync(join(cgroup, 'cgroup.procs')), `the ref ${run.ref} names a cgroup`).toBe(
      true,
    );
    const out = reader(run);
    expect(await out.until('started')).toBe(true);
    expect(await processesWithEnv(leftover.marker), 'the left-over runs').toHaveLength(1);
    await writeFile(join(scratch.cwd, 'go'), '');
    await out.rest();
    expect(await run.exited).toEqual({ exitCode: 0, signal: null });
    expect(await processesWithEnv(leftover.marker), 'the left-over after the run').toEqual([]);
    expect(existsSync(cgroup), 'the cgroup after the run').toBe(false);
  });

  it('reap after the runner died kills what the attempt left, the escaped process included', async () => {
    const spec = makeSpec(scratch, [
      'sh',
      '-c',
      `${leftover.command} sleep 1; echo started; sleep 60`,
    ]);
    const module = new URL('./local-sandbox.ts', import.meta.url).href;
    const runner = spawn(
      process.execPath,
      ['--input-type=module', '-e', RUNNER, module, JSON.stringify(spec)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const said = await readUntil(runner.stdout, 'started');
    runner.kill('SIGKILL');
    await once(runner, 'exit');
    const ref = /^ref=(.*)$/m.exec(said)?.[1] ?? '';
    expect(await processesWithEnv(leftover.marker), 'the left-over runs').toHaveLength(1);

    await createLocalSandbox({ isolation: 'none' }).reap(ref, spec.labels);
    expect(await processesWithEnv(leftover.marker), 'the left-over after reap').toEqual([]);
    expect(await goneWithin(sandbox, spec.labels, 1000)).toBe(true);
    expect(existsSync(ref.replace(/^.* cgroup:/, '')), 'the cgroup after reap').toBe(false);
  });
});
