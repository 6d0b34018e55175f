/**
 * A private redis-server for the BullMQ comparison: a random loopback port, no persistence,
 * stopped when the scope closes.
 */
import { freePort } from '../test/support/loopback.ts';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { benchEnv } from './processes.ts';
import type { Scope } from './scope.ts';

const INSTALL = "install Debian's redis-server package (apt-get install redis-server)";

export async function startRedis(
  scope: Scope,
): Promise<{ host: string; port: number; pid: number }> {
  const program = findOnPath('redis-server');
  if (!program)
    throw new Error(`redis-server not found on PATH: the BullMQ comparison needs it; ${INSTALL}`);
  const port = await freePort();
  const proc = spawn(
    program,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      '/tmp',
    ],
    {
      env: benchEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  scope.defer(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL'); // nothing to save: it runs without persistence
    await exited;
  });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start in 10 s:\n${said}`)),
      10_000,
    );
    proc.stdout.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${said}`));
    });
  });
  return { host: '127.0.0.1', port, pid: proc.pid! };
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}
