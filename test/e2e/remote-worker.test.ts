// Remote attempts end to end, in process: the real runner (memory store, real git workspace and
// mirror against a git smart-HTTP server on loopback, a fake forge for pull requests) with the
// remote sandbox, its worker routes served on loopback, the process launcher standing in for a
// pod, the real `forge worker`, and the scripted agent.
import { poolToken } from '../../src/adapters/sandbox/remote/warm-assignments.ts';
import { startWarmProcessPool, type WarmProcessPool } from '../support/warm-process-pool.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import { createMemoryLogs } from '../../src/adapters/logs/memory-logs.ts';
import { createCommandAgent } from '../../src/adapters/agents/command-agent.ts';
import { createGitWorkspace } from '../../src/adapters/git/git-workspace.ts';
import { createRemoteAttempts } from '../../src/adapters/sandbox/remote/remote-attempts.ts';
import {
  createRemoteSandbox,
  type RemoteSandboxOptions,
} from '../../src/adapters/sandbox/remote/remote-sandbox.ts';
import { createMemoryStore } from '../../src/adapters/store/memory-store.ts';
import { EventBus } from '../../src/core/events.ts';
import { createRedactor } from '../../src/core/redactor.ts';
import { Runner } from '../../src/core/runner.ts';
import type { JobStatus } from '../../src/domain/job.ts';
import { workerRoutes } from '../../src/http/routes/worker.ts';
import type { GitHost, PullRequestRequest } from '../../src/ports/git-host.ts';
import type { AttemptLogs } from '../../src/ports/logs.ts';
import type { Sandbox, SandboxExit } from '../../src/ports/sandbox.ts';
import type { JobStore } from '../../src/ports/store.ts';
import { spec } from '../contracts/store-fixtures.ts';
import { startGitServer, type GitServer } from '../support/git-http-server.ts';
import { createProcessLauncher, type ProcessLauncher } from '../support/process-launcher.ts';
import { SCRIPTED_AGENT } from '../support/forge-server.ts';

const logger = pino({ level: 'silent' });
const PATH = process.env.PATH ?? '/usr/bin:/bin';
/** The model key in Forge's own environment: it must never travel to a worker. */
const SERVER_KEY = 'sk-ant-on-the-server-7f3a9c';
/** The model key the profile's Secret gives the worker. */
const SECRET_KEY = 'sk-ant-from-the-secret-2b8e41';

let git: GitServer;
beforeAll(async () => {
  git = await startGitServer();
  await git.createRepo('me/app', { files: { 'README.md': '# app\n' } });
});
afterAll(async () => {
  await git.close();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface World {
  store: JobStore;
  bus: EventBus;
  logs: AttemptLogs;
  launcher: ProcessLauncher;
  pool: WarmProcessPool | null;
  url: string;
  prs: PullRequestRequest[];
  /** While set, every worker request is answered 503 (half of them after Forge took them);
   *  `refused` counts them. */
  outage: { on: boolean; refused: number; onRefused: (() => void) | null };
  /** When each attempt's `exited` resolved. */
  exits: { at: number; exit: SandboxExit }[];
  submit(task: string, overrides?: Parameters<typeof spec>[0]): Promise<string>;
}

async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

async function world(
  over: Partial<RemoteSandboxOptions> = {},
  agentCommand: string[] = [process.execPath, SCRIPTED_AGENT],
  /** Run attempts on this many warm pods started beforehand (warm-process-pool.ts). */
  warm = 0,
): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'forge-remote-'));
  const store = createMemoryStore();
  const bus = new EventBus(logger);
  const logs = createMemoryLogs();
  const attempts = createRemoteAttempts(() => Buffer.alloc(32, 7));
  const routes = new Hono().route('/', workerRoutes(attempts));
  const outage: World['outage'] = { on: false, refused: 0, onRefused: null };
  const server: ServerType = serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async (req) => {
      if (!outage.on) return routes.fetch(req);
      outage.refused++;
      outage.onRefused?.();
      // Every other request is taken and only its answer lost: the worker resends what Forge
      // already holds.
      if (outage.refused % 2 === 0) await (await routes.fetch(req)).arrayBuffer();
      return new Response('{"error":"down for a moment"}', { status: 503 });
    },
  });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const launcher = createProcessLauncher({
    baseDir: join(dir, 'workers'),
    secretEnv: { ANTHROPIC_API_KEY: SECRET_KEY },
  });
  const pool = warm
    ? startWarmProcessPool({
        size: warm,
        url,
        poolToken: poolToken(attempts.secret()),
        baseDir: join(dir, 'warm'),
        offer: (pod, token) => attempts.warm.offer(pod, token),
      })
    : null;
  const remote = createRemoteSandbox({
    launcher: pool ?? launcher,
    attempts,
    workerUrl: url,
    startTimeoutMs: 10_000,
    inheritEnv: ['ANTHROPIC_API_KEY'],
    heartbeatMs: 1_000,
    ...over,
  });
  const exits: World['exits'] = [];
  const sandbox: Sandbox = {
    ...remote,
    async start(s, signal) {
      const run = await remote.start(s, signal);
      void run.exited.then((exit) => exits.push({ at: Date.now(), exit }));
      return run;
    },
  };
  const prs: PullRequestRequest[] = [];
  const host: GitHost = {
    kind: 'forgejo',
    openPullRequest(req) {
      prs.push(req);
      return Promise.resolve({ number: prs.length, url: `http://pr/${prs.length}`, created: true });
    },
    repoFor: () => ({ owner: 'me', name: 'app' }),
    gitCredentials: () => git.credentials,
  };
  const agent = createCommandAgent({
    name: 'script',
    command: agentCommand,
    env: {},
    pathEnv: PATH,
  });
  const runner = new Runner(
    {
      store,
      bus,
      logs,
      sandbox,
      repos: {
        git: createGitWorkspace({
          mirrorsDir: join(dir, 'mirrors'),
          homeDir: join(dir, 'git-home'),
          pathEnv: PATH,
        }),
        hostFor: () => host,
        bus,
        logger,
        publicUrl: 'http://forge.test',
        retryDelayMs: 1,
        redact: (t) => t,
        notesOf: async (steward) => (await store.getNotes(steward))?.text ?? null,
      },
      stewardNotes: store,
      resolveAgent: () => agent,
      logger,
      owner: 'test',
      dataDir: join(dir, 'data'),
      baseEnv: { PATH, ANTHROPIC_API_KEY: SERVER_KEY },
      denyRead: [],
      retryBackoffMs: 0,
      redactor: createRedactor([]),
    },
    { maxConcurrent: 2, leaseMs: 60_000, pollIntervalMs: 20, exclusive: false },
  );
  runner.start();
  // What the workers said is what a person would read in the pods' logs.
  onTestFailed(() => {
    for (const wk of launcher.workers) console.error(wk.stderr.join('\n'));
  });
  cleanups.push(async () => {
    await runner.stop(0);
    await launcher.stopAll();
    await pool?.stopAll();
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    store,
    bus,
    logs,
    launcher,
    pool,
    url,
    prs,
    outage,
    exits,
    async submit(task, overrides = {}) {
      const { job } = await store.create(
        spec({
          task,
          agent: 'script',
          profile: null,
          max_retries: 0,
          budget_usd: null,
          settings: { ...spec().settings, env: {}, mcp_servers: {} },
          repo: { ...spec().repo!, url: git.url('me/app') },
          ...overrides,
        }),
      );
      bus.publish({ type: 'job.created', jobId: job.id });
      return job.id;
    },
  };
}

/** Resolves once the job reaches `status`. */
async function reaches(w: World, id: string, status: JobStatus): Promise<void> {
  const seen = new Promise<void>((resolve) => {
    const off = w.bus.subscribe((e) => {
      if (e.type === 'job.status' && e.jobId === id && e.status === status) {
        off();
        resolve();
      }
    });
  });
  if ((await w.store.get(id))?.status === status) return;
  await seen;
}

/** Resolves with the first output line of the job that `match` accepts. */
function line(w: World, id: string, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const off = w.bus.subscribe((e) => {
      const found =
        e.type === 'attempt.output' && e.jobId === id ? e.text.split('\n').find(match) : undefined;
      if (found !== undefined) {
        off();
        resolve(found);
      }
    });
  });
}

async function fullLog(w: World, id: string): Promise<string> {
  const range = await w.logs.read({ job_id: id, attempt: 1 }, 0, 16 * 1024 * 1024);
  return range?.bytes.toString('utf8') ?? '';
}

describe('remote worker', () => {
  it('runs the attempt in a worker: output arrives live, the work is pushed by Forge, and no forge token reaches the worker', async () => {
    const w = await world();
    const id = await w.submit(
      'print started; pid; env ANTHROPIC_API_KEY; env FORGE_WORKER_TOKEN; write NOTES.md written in the worker; sleep 1500; print done',
    );
    const pidLine = await line(w, id, (l) => l.startsWith('pid '));
    // The agent's whole environment, read while it runs.
    const environ = (await readFile(`/proc/${pidLine.slice(4)}/environ`, 'utf8')).split('\0');
    expect(environ).toContain(`ANTHROPIC_API_KEY=${SECRET_KEY}`);
    expect(environ.filter((e) => e.startsWith('FORGE_WORKER_TOKEN='))).toEqual([]);
    expect(environ.join('\n')).not.toContain(git.token);
    expect(environ.join('\n')).not.toContain(SERVER_KEY);
    expect((await w.store.get(id))?.status).toBe('RUNNING');
    // What a worker is given: the spec holds neither the server's model key nor the git token.
    const worker = await w.launcher.worker(0);
    const res = await fetch(`${w.url}/worker/v1/attempt`, {
      headers: { authorization: `Bearer ${worker.assignment.token}` },
    });
    const specText = await res.text();
    expect(res.status).toBe(200);
    expect(specText).toContain('"inherit_env"');
    expect(specText).not.toContain(SERVER_KEY);
    expect(specText).not.toContain(git.token);
    await reaches(w, id, 'SUCCEEDED');
    const log = await fullLog(w, id);
    expect(log).toContain(`ANTHROPIC_API_KEY=${SECRET_KEY}`);
    expect(log).toContain('FORGE_WORKER_TOKEN=(unset)');
    expect(log).not.toContain(git.token);
    const branch = `forge/${id.toLowerCase()}`;
    expect(await git.git('me/app', ['show', `refs/heads/${branch}:NOTES.md`])).toBe(
      'written in the worker',
    );
    expect(w.prs).toHaveLength(1);
    expect((await w.store.get(id))?.attempts[0]).toMatchObject({ exit_code: 0 });
  });

  it('a warm worker started before the job takes its attempt when Forge offers it, and runs it', async () => {
    const w = await world({}, undefined, 1);
    const pod = w.pool!.pods[0]!;
    // The warm pod is up and asking before any job exists.
    await vi.waitFor(
      () => expect(pod.stderr.some((l) => l.includes('waiting for an attempt'))).toBe(true),
      { timeout: 10_000 },
    );
    const id = await w.submit('print from a warm pod; write WARM.md warm');
    await reaches(w, id, 'SUCCEEDED');
    expect(pod.labels).toEqual({ jobId: id, attempt: 1 });
    expect(await fullLog(w, id)).toContain('from a warm pod');
    const branch = `forge/${id.toLowerCase()}`;
    expect(await git.git('me/app', ['show', `refs/heads/${branch}:WARM.md`])).toBe('warm');
  });

  it('a cancel ends the attempt within a second, keeps its output and pushes the work as WIP', async () => {
    const w = await world();
    const id = await w.submit('write WIP.md half done; print working; sleep 60000');
    await line(w, id, (l) => l === 'working');
    const cancelledAt = Date.now();
    await w.store.cancel(id, { category: 'cancelled', message: 'cancelled by a test' });
    w.bus.publish({
      type: 'job.status',
      jobId: id,
      status: 'CANCELLED',
      attempt: 1,
      failure: null,
    });
    // Closing (the push of the WIP) may take a while on a loaded machine; the worker's exit is
    // what must come within a second.
    await expect
      .poll(async () => (await w.store.get(id))?.attempts[0]?.finished_at, { timeout: 15_000 })
      .toBeTruthy();
    expect(w.exits[0]!.at - cancelledAt).toBeLessThan(1000);
    const record = await w.store.get(id);
    expect(record).toMatchObject({
      status: 'CANCELLED',
      attempts: [{ failure: { category: 'cancelled' } }],
    });
    expect(record?.attempts[0]?.output).toContain('working');
    const branch = `forge/${id.toLowerCase()}`;
    expect(await git.git('me/app', ['show', `refs/heads/${branch}:WIP.md`])).toBe('half done');
    expect(w.prs).toHaveLength(0);
  });

  it('a worker that never calls home fails the attempt as sandbox, naming the address it was given', async () => {
    const dead = await deadAddress();
    const w = await world({ workerUrl: dead, startTimeoutMs: 2_000 });
    const id = await w.submit('print never runs');
    await reaches(w, id, 'FAILED');
    const failure = (await w.store.get(id))?.failure;
    expect(failure?.category).toBe('sandbox');
    expect(failure?.message).toContain(`did not call home to ${dead}`);
    // What the worker itself printed: the address it tried and why it failed.
    expect(failure?.message).toContain(`cannot reach Forge at ${dead}: ECONNREFUSED`);
  });

  it('output sent while Forge refuses the worker or its answers are lost is resent: none is lost or doubled', async () => {
    const w = await world();
    const id = await w.submit('lines 150 10; print the end');
    await line(w, id, (l) => l.startsWith('line 20 '));
    const refusedSome = new Promise<void>((resolve) => {
      w.outage.onRefused = () => {
        if (w.outage.refused >= 8) resolve();
      };
    });
    w.outage.on = true;
    await refusedSome;
    w.outage.on = false;
    await reaches(w, id, 'SUCCEEDED');
    const lines = (await fullLog(w, id)).split('\n').filter((l) => l.startsWith('line '));
    expect(lines.map((l) => l.split(' ')[1])).toEqual(
      Array.from({ length: 150 }, (_, i) => String(i)),
    );
    expect(await fullLog(w, id)).toContain('the end');
  });

  it("a steward's notes go to the worker with the workspace and come back, never committed", async () => {
    const w = await world();
    await w.store.saveNotes('ci', { text: '- from an earlier run\n', by: 'api', job_id: null }, 0);
    const id = await w.submit(
      'cat .forge-notes.md; append .forge-notes.md - from the pod; write POD.md work',
      {
        settings: {
          ...spec().settings,
          env: {},
          mcp_servers: {},
          notes: { steward: 'ci', max_bytes: 4096 },
        },
      },
    );
    await reaches(w, id, 'SUCCEEDED');
    // The agent in the worker read the notes it was given…
    expect(await fullLog(w, id)).toContain('- from an earlier run');
    // …and what it left came back and was kept, by this job.
    expect(await w.store.getNotes('ci')).toMatchObject({
      version: 2,
      text: '- from an earlier run\n- from the pod\n',
      job_id: id,
    });
    const branch = `forge/${id.toLowerCase()}`;
    expect(await git.git('me/app', ['show', `refs/heads/${branch}:POD.md`])).toBe('work');
    const files = await git.git('me/app', ['ls-tree', '-r', '--name-only', branch]);
    expect(files.split('\n')).not.toContain('.forge-notes.md');
  });

  it("an agent missing from the worker's image fails as agent_not_found, naming the worker's PATH", async () => {
    const w = await world({}, ['forge-no-such-agent']);
    const id = await w.submit('print never runs');
    await reaches(w, id, 'FAILED');
    const failure = (await w.store.get(id))?.failure;
    expect(failure?.category).toBe('agent_not_found');
    expect(failure?.message).toContain(`"forge-no-such-agent" was not found on the worker's PATH`);
  });
});
