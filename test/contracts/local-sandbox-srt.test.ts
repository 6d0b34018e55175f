// The local sandbox under srt (bubblewrap through sandbox-runtime); a file of its own so that it runs
// beside the unisolated suites.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalSandbox } from '../../src/adapters/sandbox/local-sandbox.ts';
import { escapingSleeper, killWithEnv, processesWithEnv } from './host-processes.ts';
import { sandboxContract } from './sandbox.contract.ts';
import { finish, makeScratch, makeSpec, reader, type Scratch } from './sandbox-scratch.ts';

const hasBwrap = spawnSync('sh', ['-c', 'command -v bwrap']).status === 0;
const srtSuite = hasBwrap ? describe : describe.skip;
const srtName = hasBwrap
  ? 'local sandbox, isolation srt'
  : 'local sandbox, isolation srt — SKIPPED: bubblewrap is not installed (apt-get install bubblewrap socat ripgrep)';

if (hasBwrap)
  sandboxContract('local sandbox, isolation srt', () =>
    Promise.resolve(createLocalSandbox({ isolation: 'srt' })),
  );

srtSuite(srtName, () => {
  const sandbox = createLocalSandbox({ isolation: 'srt' });
  let scratch: Scratch;
  let server: Server;
  let port: number;
  let requests: number;

  beforeEach(async () => {
    scratch = await makeScratch();
    requests = 0;
    server = createServer((_req, res) => {
      requests += 1;
      res.end('hello-from-host');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(scratch.root, { recursive: true, force: true });
  });

  async function run(script: string, more: Parameters<typeof makeSpec>[2] = {}) {
    return finish(
      await sandbox.start(
        makeSpec(scratch, ['sh', '-c', script], more),
        new AbortController().signal,
      ),
    );
  }

  it('auto chooses srt here and reports it in the label and doctor', async () => {
    expect(createLocalSandbox({ isolation: 'auto' }).label).toBe('local+srt');
    const checks = await sandbox.doctor();
    expect(checks.map((check) => [check.name, check.level])).toEqual([
      ['sandbox tools', 'ok'],
      ['per-attempt cgroups', 'ok'],
      ['process helper', 'ok'],
      ['sandbox trial run', 'ok'],
    ]);
  });

  it('ends with the sandbox a process that left the group and cleared its environment', async () => {
    const { marker, command } = escapingSleeper();
    const waitForGo = 'while [ ! -e go ]; do sleep 0.05; done';
    const spec = makeSpec(scratch, ['sh', '-c', `${command} sleep 1; echo started; ${waitForGo}`]);
    try {
      const run = await sandbox.start(spec, new AbortController().signal);
      const out = reader(run);
      expect(await out.until('started')).toBe(true);
      expect(await processesWithEnv(marker), 'the left-over runs').toHaveLength(1);
      await writeFile(join(scratch.cwd, 'go'), '');
      await out.rest();
      await run.exited;
      expect(await processesWithEnv(marker), 'the left-over after the run').toEqual([]);
    } finally {
      await killWithEnv(marker);
    }
  });

  it('allows writes in the workspace and temp dir only, and leaves no mount points behind', async () => {
    const outside = join(scratch.root, 'outside');
    await mkdir(outside);
    const { output } = await run(
      `echo a > inside; echo b > "$TMPDIR/temp"; echo c > ${outside}/escaped; echo done`,
    );
    expect(output).toContain('done');
    expect(existsSync(join(outside, 'escaped'))).toBe(false);
    expect(await readdir(scratch.cwd)).toEqual(['inside']);
    expect(await readdir(scratch.tmpDir)).toEqual(['temp']);
  });

  it("allows writes in the extra writable directories (the agent's private home)", async () => {
    const home = join(scratch.root, 'home');
    const other = join(scratch.root, 'other');
    await mkdir(home);
    await mkdir(other);
    const { output } = await run(`echo h > ${home}/config; echo o > ${other}/nope; echo done`, {
      writable: [home],
    });
    expect(output).toContain('done');
    expect(await readdir(home)).toEqual(['config']);
    expect(await readdir(other)).toEqual([]);
  });

  it('leaves no mount points in the workspace after an aborted run', async () => {
    const controller = new AbortController();
    // The agent ignores SIGTERM; the sandbox around it must still come down in order.
    const started = await sandbox.start(
      makeSpec(scratch, ['sh', '-c', 'trap "" TERM; echo started; sleep 60']),
      controller.signal,
    );
    const out = reader(started);
    expect(await out.until('started')).toBe(true);
    controller.abort();
    await out.rest();
    await started.exited;
    expect(await readdir(scratch.cwd)).toEqual([]);
  });

  it('leaves no mount points in the workspace after reaping a left-over run', async () => {
    const spec = makeSpec(scratch, ['sh', '-c', 'echo started; sleep 60']);
    const leftOver = await sandbox.start(spec, new AbortController().signal);
    const out = reader(leftOver);
    expect(await out.until('started')).toBe(true);
    await createLocalSandbox({ isolation: 'srt' }).reap(leftOver.ref, spec.labels);
    await out.rest();
    await leftOver.exited;
    expect(await readdir(scratch.cwd)).toEqual([]);
  });

  it('cannot read a denyRead path', async () => {
    const secrets = join(scratch.root, 'secrets');
    await mkdir(secrets);
    await writeFile(join(secrets, 'token'), 'top-secret');
    await writeFile(join(scratch.root, 'public'), 'readable');
    const { output } = await run(`cat ${secrets}/token; cat ${scratch.root}/public`, {
      denyRead: [secrets],
    });
    expect(output).toContain('readable');
    expect(output).not.toContain('top-secret');
  });

  it('has no network when allowedDomains is empty', async () => {
    const url = `http://127.0.0.1:${port}/`;
    // Directly (loopback is the sandbox's own) and through srt's proxy (which refuses).
    const { output } = await run(
      `curl -sS --max-time 5 ${url}; curl -sS --max-time 5 --noproxy '' ${url}`,
    );
    expect(output).not.toContain('hello-from-host');
    expect(requests).toBe(0);
  });

  it("refuses hosts that are not on the allow list, the host's loopback included", async () => {
    const script = [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`]
      .map((url) => `curl -sS --max-time 5 --noproxy '' ${url}`)
      .join('; ');
    // Note: listing `localhost` itself would open the host's loopback (srt allows that name to
    // resolve there), so profiles must not list it.
    const { output } = await run(script, { allowedDomains: ['example.com'] });
    expect(output).not.toContain('hello-from-host');
    expect(requests).toBe(0);
  });

  it('reaches an allowed host through the proxy', async () => {
    const { output } = await run(`curl -sS --max-time 5 --noproxy '' http://127.0.0.1:${port}/`, {
      allowedDomains: [`127.0.0.1:${port}`],
    });
    expect(output).toContain('hello-from-host');
    expect(requests).toBe(1);
  });
});
