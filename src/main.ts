/**
 * The composition root: the only place that reads configuration and the environment and picks
 * adapters. Everything else receives what it needs.
 */
import { createClaimLauncher } from './adapters/sandbox/agent-sandbox/claim-launcher.ts';
import { createKubeClients } from './adapters/sandbox/kubernetes/kube-client.ts';
import { poolToken } from './adapters/sandbox/remote/warm-assignments.ts';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolve, join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import { createLocalSandbox } from './adapters/sandbox/local-sandbox.ts';
import { createKubeLauncher } from './adapters/sandbox/kubernetes/kube-launcher.ts';
import { createRemoteSandbox } from './adapters/sandbox/remote/remote-sandbox.ts';
import { loadWorkerSecret } from './adapters/sandbox/remote/attempt-token.ts';
import {
  createRemoteAttempts,
  type RemoteAttempts,
} from './adapters/sandbox/remote/remote-attempts.ts';
import { composeStore, storeChecks } from './compose-store.ts';
import { createGitWorkspace } from './adapters/git/git-workspace.ts';
import { poolChecks, type PoolSpec } from './adapters/git/workspace-pool.ts';
import type { ForgeConfig } from './config.ts';
import { EventBus } from './core/events.ts';
import { createRedactor } from './core/redactor.ts';
import { Runner } from './core/runner.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { composeAgents } from './compose-agents.ts';
import { collectSecrets } from './secrets.ts';
import { ForgeError } from './domain/errors.ts';
import { composeGitHosts } from './compose-git-hosts.ts';
import { composeDoors, composeOutboxRoute, doorChecks, type Doors } from './compose-intake.ts';
import { createJobControl } from './core/job-control.ts';
import { createStewards, stewardJobBudget } from './stewards/stewards.ts';
import { createApp } from './http/app.ts';
import { createMetrics } from './http/metrics.ts';
import type { DoctorCheck } from './ports/doctor-check.ts';
import type { Sandbox } from './ports/sandbox.ts';
import type { JobStore } from './ports/store.ts';

/** Server variables an agent may inherit; everything else (tokens, cloud keys) stays out unless an
 *  agent's config names it. */
const INHERITED_ENV = [
  'PATH',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TERM',
  'USER',
  'LOGNAME',
  'SHELL',
];

export interface Forge {
  config: ForgeConfig;
  store: JobStore;
  bus: EventBus;
  sandbox: Sandbox;
  /** Live attempts of a remote sandbox, which its workers call home to. */
  workerAttempts: RemoteAttempts;
  runner: Runner;
  logger: Logger;
  dataDir: string;
  /** Starts the runner and the HTTP server; resolves with the bound URL. */
  start(): Promise<string>;
  /** Two-phase shutdown: stop taking work, let attempts finish for `shutdown_grace`, then stop them. */
  stop(): Promise<void>;
}

export interface ForgeOptions {
  env: Record<string, string | undefined>;
  configPath?: string;
  logger?: Logger;
}

/** The sandbox the configuration asks for (also used by `forge doctor`, which passes no
 *  `workerAttempts`: it never starts an attempt). */
export function createSandbox(
  config: ForgeConfig,
  onWarning?: (msg: string) => void,
  workerAttempts?: RemoteAttempts,
): Sandbox {
  const sandbox = config.sandbox;
  if (sandbox.kind === 'kubernetes') {
    return createRemoteSandbox({
      launcher: createKubeLauncher({ config: sandbox, ...(onWarning ? { onWarning } : {}) }),
      attempts:
        workerAttempts ??
        createRemoteAttempts(() => {
          throw new ForgeError('internal', 'this sandbox was made for checks only');
        }),
      workerUrl: sandbox.worker_url,
      startTimeoutMs: sandbox.start_timeout,
      // The worker reads these from its pod's environment (sandbox.secrets): never sent to it.
      inheritEnv: Object.keys(sandbox.secrets),
    });
  }
  if (sandbox.kind === 'agent-sandbox') {
    const attempts =
      workerAttempts ??
      createRemoteAttempts(() => {
        throw new ForgeError('internal', 'this sandbox was made for checks only');
      });
    const { config: kubeConfig } = createKubeClients(sandbox);
    return createRemoteSandbox({
      launcher: createClaimLauncher({
        config: kubeConfig,
        namespace: sandbox.namespace,
        warmPool: sandbox.warm_pool,
        ...(sandbox.template ? { template: sandbox.template } : {}),
        offer: (pod, token, address) => attempts.warm.offer(pod, token, address),
        withdraw: (pod) => attempts.warm.withdraw(pod),
        poolToken: () => poolToken(attempts.secret()),
        poolSecret: sandbox.pool_secret,
        ...(onWarning ? { onWarning } : {}),
      }),
      attempts,
      workerUrl: sandbox.worker_url,
      startTimeoutMs: sandbox.start_timeout,
      inheritEnv: sandbox.inherit_env,
    });
  }
  return createLocalSandbox({
    isolation: sandbox.isolation,
    spawn: sandbox.spawn,
    ...(onWarning ? { onWarning } : {}),
  });
}

/** `forge doctor`'s checks of what the configuration picks: the sandbox and every agent. */
export async function runtimeChecks(
  config: ForgeConfig,
  env: Record<string, string | undefined>,
): Promise<DoctorCheck[]> {
  const checks = await createSandbox(config).doctor();
  const agents = composeAgents(config, env);
  if (agents.size === 0) {
    checks.push({
      name: 'agents',
      ok: false,
      level: 'warn',
      detail: 'no agents configured; add one under agents: in forge.yaml (see README)',
    });
  }
  for (const agent of agents.values()) checks.push(...(await agent.doctor()));
  checks.push(...(await storeChecks(config)));
  checks.push(...(await doorChecks(config)));
  checks.push(...(await poolChecks(poolRoot(config), poolSpecs(config))));
  return checks;
}

/** Beside the attempts' directories (`<data_dir>/jobs`), on the same filesystem: a claim is a rename. */
function poolRoot(config: ForgeConfig): string {
  return join(resolve(config.data_dir), 'workspace-pool');
}

function poolSpecs(config: ForgeConfig): PoolSpec[] {
  return Object.entries(config.repos).map(([repo, r]) => ({
    repo,
    url: r.url,
    baseBranch: r.base_branch ?? null,
    size: r.workspace_pool,
  }));
}

export function createForge(config: ForgeConfig, opts: ForgeOptions): Forge {
  const { secrets, problems } = collectSecrets(config, opts.env);
  if (problems.length > 0) {
    throw new ForgeError('config', `secrets too short to redact:\n  - ${problems.join('\n  - ')}`);
  }
  const logger = opts.logger ?? pino({ level: opts.env.FORGE_LOG_LEVEL ?? 'info' });
  const dataDir = resolve(config.data_dir);
  const releaseLock = lockDataDir(dataDir);
  const backend = composeStore(config, dataDir, composeOutboxRoute(config), logger);
  const { store, logs } = backend;
  const bus = new EventBus(logger);
  // A change another replica made is news here too: a cancel reaches this runner, the live stream
  // and the outbox wake, as for a change made in this process.
  const stopWatching = backend.onRemoteChange((job) =>
    bus.publish({
      type: 'job.status',
      jobId: job.id,
      status: job.status,
      attempt: job.attempt_count,
      failure: job.failure,
    }),
  );
  // Remote workers call home with a token made from this secret; kept in the data dir so a
  // restarted server still recognises the workers it started.
  const workerAttempts = createRemoteAttempts(() =>
    loadWorkerSecret(join(dataDir, 'worker-secret')),
  );
  // A wake-up from the shared queue: a job another replica took in that this one may run.
  const stopWaking = backend.onWake((jobId) => bus.publish({ type: 'job.created', jobId }));
  const sandbox = createSandbox(config, (msg) => logger.warn(msg), workerAttempts);
  const agents = composeAgents(config, opts.env);
  const hosts = composeGitHosts(config);
  const redactor = createRedactor(secrets);
  const owner = `${process.pid}-${randomUUID()}`;
  const publicUrl =
    config.server.public_url ?? `http://${config.server.host}:${config.server.port}`;
  const baseEnv: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const value = opts.env[key];
    if (value !== undefined) baseEnv[key] = value;
  }
  const git = createGitWorkspace({
    mirrorsDir: join(dataDir, 'mirrors'),
    homeDir: join(dataDir, 'git-home'),
    ...(opts.env.PATH ? { pathEnv: opts.env.PATH } : {}),
    ...(poolSpecs(config).some((spec) => spec.size > 0)
      ? {
          pool: {
            root: poolRoot(config),
            specs: poolSpecs(config),
            onWarning: (m) => logger.warn(m),
          },
        }
      : {}),
  });
  const runner = new Runner(
    {
      store,
      bus,
      logs,
      sandbox,
      logger,
      dataDir,
      baseEnv,
      repos: {
        git,
        hostFor: (forge) => (forge ? (hosts.get(forge) ?? null) : null),
        redact: (text) => redactor.redact(text),
        bus,
        logger,
        publicUrl,
        notesOf: async (steward) => (await store.getNotes(steward))?.text ?? null,
      },
      stewardNotes: store,
      resolveAgent: (name) => agents.get(name) ?? null,
      owner,
      denyRead: [...backend.private, ...(opts.configPath ? [resolve(opts.configPath)] : [])],
      retryBackoffMs: config.runner.retry_backoff,
      redactor,
    },
    {
      maxConcurrent: config.limits.max_concurrent,
      leaseMs: config.runner.lease,
      pollIntervalMs: config.runner.poll_interval,
      exclusive: backend.exclusive,
    },
  );
  const control = createJobControl({ store, bus, config });
  const doors: Doors = composeDoors({ config, store, bus, control, logger, owner, publicUrl });
  const stewards = createStewards({
    stewards: config.stewards,
    store,
    control,
    bus,
    logger: logger.child({ component: 'stewards' }),
    redact: (text) => redactor.redact(text),
    jobBudgetUsd: (steward) => stewardJobBudget(config, steward),
  });
  const app = createApp({
    store,
    bus,
    config,
    logs,
    logger,
    hooks: doors.hooks,
    metrics: createMetrics({ store, bus, logger, workspacePools: () => git.pool?.status() ?? [] }),
    healthDetails: () => doors.health(),
    workerAttempts,
    stewards,
  });
  let server: ServerType | null = null;

  return {
    config,
    store,
    bus,
    sandbox,
    workerAttempts,
    runner,
    logger,
    dataDir,
    async start() {
      await git.pool?.start();
      runner.start();
      await doors.start();
      await stewards.start();
      return new Promise((resolveUrl, reject) => {
        server = serve(
          { fetch: app.fetch, hostname: config.server.host, port: config.server.port },
          (info: AddressInfo) => {
            const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
            resolveUrl(`http://${host}:${info.port}`);
          },
        );
        server.once('error', reject);
      });
    },
    async stop() {
      const closing = new Promise<void>((done) => (server ? server.close(() => done()) : done()));
      // SSE clients hold connections open; stop them so close() can finish.
      (server as { closeAllConnections?: () => void } | null)?.closeAllConnections?.();
      await stewards.stop();
      await runner.stop(config.runner.shutdown_grace);
      await git.pool?.stop();
      await doors.stop();
      await closing;
      stopWatching();
      stopWaking();
      await backend.close();
      releaseLock();
    },
  };
}
