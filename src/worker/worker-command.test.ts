// `forge worker` from the outside: how it refuses to start without a token, and that it says
// where it tried to call when Forge is out of reach.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'forge.js');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forge-worker-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function worker(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise<{ code: number | null; stderr: string }>((r) =>
    proc.once('close', (code) => r({ code, stderr })),
  );
}

describe('forge worker', () => {
  it('refuses to start without an attempt token and says where it must come from', async () => {
    const { code, stderr } = await worker(['--url', 'http://127.0.0.1:9', 'worker', '--dir', dir]);
    expect(code).toBe(4);
    expect(stderr).toContain('FORGE_WORKER_TOKEN');
    expect(stderr).toContain('--token-file');
  });

  it('gives up on a Forge it cannot reach, naming the address it tried', async () => {
    const url = await deadAddress();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'c2VjcmV0LzE.0000');
    const { code, stderr } = await worker([
      '--url',
      url,
      'worker',
      '--dir',
      dir,
      '--token-file',
      tokenFile,
      '--give-up-after',
      '300ms',
    ]);
    expect(code).toBe(3);
    expect(stderr).toContain(`cannot reach Forge at ${url}: ECONNREFUSED`);
    expect(stderr).toContain('for 300ms');
    expect(stderr).not.toContain('c2VjcmV0LzE');
  });
});
