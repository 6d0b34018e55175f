/**
 * Starts Debian's real `nats-server` with JetStream on a free loopback port and a temp store dir,
 * for tests and benchmarks. `restart()` stops and starts it again on the same port and store (a
 * server restart mid-run); `stop()` kills it and removes the store.
 */
import { freePort } from './loopback.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  storeDir: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves once the server logs that it is ready for connections; rejects if it exits first. */
function launch(port: number, storeDir: string): Promise<ChildProcess> {
  const proc = spawn(
    'nats-server',
    ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.includes('Server is ready')) {
        proc.stderr?.off('data', onData);
        proc.stderr?.resume();
        resolve(proc);
      }
    };
    proc.stderr?.on('data', onData);
    proc.once('error', (err) =>
      reject(
        new Error(`nats-server could not start (install Debian's nats-server): ${err.message}`),
      ),
    );
    proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    proc.once('exit', () => done());
    proc.kill('SIGKILL');
  });
}

export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'forge-nats-'));
  let proc = await launch(port, storeDir);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async restart() {
      await kill(proc);
      proc = await launch(port, storeDir);
    },
    async stop() {
      await kill(proc);
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
