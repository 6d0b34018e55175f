/**
 * The real `forge serve` for a benchmark: started through the e2e tests' helper with a temp data
 * dir, product defaults except what a benchmark needs (agents, concurrency, isolation none), and
 * stopped (then its data dir removed) when the benchmark's scope closes.
 */
import { rm } from 'node:fs/promises';
import { startForge, type ForgeProcess } from '../test/support/forge-server.ts';
import { MARKER } from './processes.ts';
import type { Scope } from './scope.ts';

export type { ForgeProcess } from '../test/support/forge-server.ts';

export interface BenchForgeOptions {
  /** Agent name → argv (kind `command`). */
  agents: Record<string, string[]>;
  maxConcurrent: number;
  /** Extra environment for every agent. */
  agentEnv?: Record<string, string>;
  /** Reuse a prepared data dir (a seeded store); removed at the end all the same. */
  dataDir?: string;
  /** The `store:` config (default SQLite in the data dir). */
  store?: Record<string, unknown>;
  /** The `server:` and `sandbox:` config (default: the test server's, the local sandbox). */
  server?: Record<string, unknown>;
  sandbox?: Record<string, unknown>;
}

export async function startBenchForge(
  scope: Scope,
  opts: BenchForgeOptions,
): Promise<ForgeProcess> {
  const agents = Object.fromEntries(
    Object.entries(opts.agents).map(([name, command]) => [
      name,
      { kind: 'command', command, env: { ...MARKER, ...opts.agentEnv } },
    ]),
  );
  const forge = await startForge({
    config: {
      limits: { max_concurrent: opts.maxConcurrent },
      defaults: {
        agent: Object.keys(opts.agents)[0],
        max_retries: 0,
        inactivity_timeout: '5m',
        max_duration: '10m',
      },
      agents,
      // Product defaults (lease 15s, poll 1s, backoff 1s) except a short grace to stop quickly.
      runner: { shutdown_grace: '1s' },
      ...(opts.store ? { store: opts.store } : {}),
      ...(opts.server ? { server: opts.server } : {}),
      ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
    },
    // The product's default log level: what a user runs pays for its logging too.
    env: { FORGE_LOG_LEVEL: 'info', ...MARKER },
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
  });
  scope.defer(() => stopForge(forge));
  return forge;
}

async function stopForge(forge: ForgeProcess): Promise<void> {
  const kill = setTimeout(() => forge.proc.kill('SIGKILL'), 10_000);
  try {
    await forge.stop('SIGTERM');
  } finally {
    clearTimeout(kill);
  }
  await rm(forge.dataDir, { recursive: true, force: true });
}

/** How many jobs have one of `statuses` (comma-separated), from `GET /jobs`'s total. */
export async function countJobs(forge: ForgeProcess, statuses: string): Promise<number> {
  const res = await forge.api<{ total: number }>('GET', `/jobs?status=${statuses}&limit=1`);
  if (res.status !== 200)
    throw new Error(
      `GET /jobs?status=${statuses} answered ${res.status}: ${JSON.stringify(res.body)}`,
    );
  return res.body.total;
}

export const TERMINAL = 'SUCCEEDED,FAILED,CANCELLED';
