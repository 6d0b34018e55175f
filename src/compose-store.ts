/**
 * Part of the composition root: where jobs, the queue, the outbox and logs live. SQLite and files
 * under the data dir for one server (the default); NATS JetStream for several replicas sharing one
 * queue and one history (each replica keeps its own data dir for workspaces and mirrors).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { createFileLogs } from './adapters/logs/file-logs.ts';
import type { Logger } from 'pino';
import { createNatsLogs, type NatsLogs } from './adapters/logs/nats-logs.ts';
import { createNatsStore, type NatsJobStore } from './adapters/store/nats/nats-store.ts';
import { createSqliteStore } from './adapters/store/sqlite-store.ts';
import type { ForgeConfig } from './config.ts';
import type { Job } from './domain/job.ts';
import type { DoctorCheck } from './ports/doctor-check.ts';
import type { AttemptLogs } from './ports/logs.ts';
import type { OutboxRoute } from './ports/outbox.ts';
import type { JobStore } from './ports/store.ts';

export interface ComposedStore {
  store: JobStore;
  logs: AttemptLogs;
  /** Files agents must never read (the database). */
  private: string[];
  /** Only this server uses the store: at start, every lease another owner holds is dead. */
  exclusive: boolean;
  /** Jobs other replicas changed, for this replica's bus (none for a store only one server uses). */
  onRemoteChange(listener: (job: Job) => void): () => void;
  /** Jobs the shared queue asks this replica to try to claim (none for a store one server uses:
   *  its own submissions wake its runner). */
  onWake(listener: (jobId: string) => void): () => void;
  close(): Promise<void>;
}

/** How often the NATS store's retention clean-up runs (the first run a minute after start). */
const RETENTION_EVERY_MS = 3_600_000;

export function composeStore(
  config: ForgeConfig,
  dataDir: string,
  route: OutboxRoute,
  logger?: Logger,
): ComposedStore {
  if (config.store.kind === 'nats') {
    const { url, token, creds_file: credsFile, prefix } = config.store;
    const connection = { url, prefix, ...(token ? { token } : {}) };
    const store = createNatsStore({
      ...connection,
      ...(credsFile ? { credsFile } : {}),
      route,
      // The runner's own cap holds per replica; this one holds across all of them.
      maxRunning: config.limits.max_concurrent,
    });
    const logs = createNatsLogs(connection);
    const stopRetention = config.store.retention_days
      ? keepFor(config.store.retention_days, store, logs, logger)
      : () => undefined;
    return {
      store,
      logs,
      private: [],
      exclusive: false,
      onRemoteChange: (listener) => store.onRemoteChange(listener),
      onWake: (listener) => store.onWake(listener),
      close: async () => {
        stopRetention();
        await store.close();
        await logs.close();
      },
    };
  }
  const dbPath = join(dataDir, 'forge.db');
  const store = createSqliteStore({ path: dbPath, route });
  return {
    store,
    logs: createFileLogs(dataDir),
    private: [dbPath, `${dbPath}-wal`, `${dbPath}-shm`],
    exclusive: true,
    onRemoteChange: () => () => undefined,
    onWake: () => () => undefined,
    close: () => store.close(),
  };
}

/** Deletes finished jobs older than `days` (and their logs) every hour, on every replica: each
 *  deletion is a compare-and-set, so replicas running it at once delete each job once. */
function keepFor(days: number, store: NatsJobStore, logs: NatsLogs, logger?: Logger): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const ids = await store.purgeFinished(Date.now() - days * 86_400_000);
      for (const id of ids) await logs.removeJob(id);
      if (ids.length > 0) {
        logger?.info({ deleted: ids.length, retention_days: days }, 'deleted finished jobs');
      }
    } catch (err) {
      logger?.warn({ err }, 'retention clean-up failed; it runs again in an hour');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), 60_000);
  const every = setInterval(() => void run(), RETENTION_EVERY_MS);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}

/** `forge doctor`'s check of a NATS store: reachable, JetStream on, and what the server's version
 *  means for Forge (2.9 is enough; 2.10 adds per-subject limits and subject transforms Forge does
 *  not need yet; 2.12 adds atomic batch publish, which would put the outbox in the job's write). */
export async function storeChecks(config: ForgeConfig): Promise<DoctorCheck[]> {
  if (config.store.kind !== 'nats') return [];
  const { url, token, creds_file: credsFile } = config.store;
  try {
    const nc = await connect({
      servers: url,
      timeout: 5000,
      ...(token ? { token } : {}),
      ...(credsFile ? { authenticator: credsAuthenticator(await readFile(credsFile)) } : {}),
    });
    try {
      const version = nc.info?.version ?? 'unknown';
      await (await jetstreamManager(nc)).getAccountInfo();
      const [major = 0, minor = 0] = version.split('.').map(Number);
      const newer =
        major > 2 || minor >= 12
          ? ''
          : '; nats-server 2.12+ would let the outbox be written in the same atomic batch as the job (today it follows right after)';
      return [
        {
          name: 'store',
          ok: true,
          level: 'ok',
          detail: `NATS ${version} at ${url} with JetStream${newer}`,
        },
      ];
    } finally {
      await nc.close();
    }
  } catch (err) {
    return [
      {
        name: 'store',
        ok: false,
        level: 'error',
        detail: `NATS at ${url} is not usable (${(err as Error).message}): start nats-server with JetStream (-js) and check store.url and its token`,
      },
    ];
  }
}
