/**
 * Starts the real `forge serve` process for end-to-end tests and talks to it over HTTP.
 * Each server gets its own temp data dir and a config with the scripted agent as `script`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { apiAnswer, apiRequest, type ApiResponse } from './api-answers.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SCRIPTED_AGENT = join(ROOT, 'test', 'support', 'scripted-agent.mjs');
const BIN = join(ROOT, 'bin', 'forge.js');

export type { ApiResponse };

export type JobJson = Record<string, unknown> & {
  id: string;
  status: string;
  attempts: Array<
    Record<string, unknown> & {
      number: number;
      output: string;
      truncated: boolean;
      exit_code?: number;
      failure?: { category: string; message: string };
    }
  >;
  failure?: { category: string; message: string };
};

const running = new Set<ChildProcess>();
const dataDirs = new Set<string>();

/** Kills every server a test file started and removes their data dirs (leak guard; call in
 *  afterAll). */
export async function stopAllForges(): Promise<void> {
  await Promise.all([...running].map((p) => killAndWait(p, 'SIGKILL')));
  running.clear();
  await Promise.all([...dataDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  dataDirs.clear();
}

function killAndWait(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    proc.once('exit', () => done());
    proc.kill(signal);
  });
}

export class ForgeProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  readonly configPath: string;
  stderr = '';

  constructor(url: string, dataDir: string, proc: ChildProcess, configPath: string) {
    this.url = url;
    this.dataDir = dataDir;
    this.proc = proc;
    this.configPath = configPath;
  }

  async api<T = JobJson>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    return apiAnswer<T>(await fetch(`${this.url}${path}`, apiRequest(method, body, headers)));
  }

  async submit(task: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await this.api<{ id: string }>('POST', '/jobs', {
      task,
      agent: 'script',
      ...extra,
    });
    if (res.status !== 202)
      throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  async job(id: string): Promise<JobJson> {
    return (await this.api('GET', `/jobs/${id}`)).body;
  }

  /** Polls until `predicate` holds for the job (default: terminal status). */
  async waitFor(
    id: string,
    predicate: (job: JobJson) => boolean = (j) =>
      ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status),
    timeoutMs = 20_000,
  ): Promise<JobJson> {
    const deadline = Date.now() + timeoutMs;
    let job = await this.job(id);
    while (!predicate(job)) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for job ${id}; last: ${JSON.stringify(job).slice(0, 2000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
      job = await this.job(id);
    }
    return job;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await killAndWait(this.proc, signal);
    running.delete(this.proc);
  }
}

export interface StartOptions {
  /** Merged over the default test config (top-level keys replace). */
  config?: Record<string, unknown>;
  /** Reuse a data dir (restart tests). */
  dataDir?: string;
  env?: Record<string, string>;
}

export function testConfig(
  dataDir: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    data_dir: dataDir,
    limits: { max_concurrent: 3 },
    defaults: { agent: 'script', max_retries: 0, inactivity_timeout: '30s', max_duration: '1m' },
    sandbox: { isolation: 'none' },
    agents: {
      script: { kind: 'command', command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
    },
    runner: { lease: '3s', poll_interval: '200ms', retry_backoff: '100ms', shutdown_grace: '2s' },
    ...extra,
  };
}

export async function startForge(opts: StartOptions = {}): Promise<ForgeProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'forge-e2e-'));
  dataDirs.add(dataDir);
  const configPath = join(dataDir, 'forge.test.yaml');
  writeFileSync(configPath, stringify(testConfig(dataDir, opts.config)));
  const proc = spawn(process.execPath, [BIN, 'serve', '--config', configPath], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      FORGE_LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`forge serve did not start in 15s:\n${stderr}`)),
      15_000,
    );
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /Forge listening on (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    proc.stdout.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`forge serve exited with ${code}:\n${stderr}`));
    });
  });
  const forge = new ForgeProcess(url, dataDir, proc, configPath);
  proc.stderr.on('data', (chunk: Buffer) => (forge.stderr += chunk.toString()));
  return forge;
}

/** Whether a process id is alive (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
