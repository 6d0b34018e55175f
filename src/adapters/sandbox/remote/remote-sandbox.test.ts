// The remote sandbox and the worker routes in process, with a launcher the test plays: what a
// worker is given and refused, and how an attempt ends when the worker misbehaves.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../../logs/memory-logs.ts';
import { createMemoryStore } from '../../store/memory-store.ts';
import { loadConfig } from '../../../config.ts';
import { EventBus } from '../../../core/events.ts';
import { createApp } from '../../../http/app.ts';
import { workerRoutes } from '../../../http/routes/worker.ts';
import type { SandboxLabels, SandboxRun, SandboxSpec } from '../../../ports/sandbox.ts';
import { collectAttemptFiles } from './attempt-files.ts';
import { attemptToken } from './attempt-token.ts';
import type { AttemptSpec } from './protocol.ts';
import { createRemoteAttempts } from './remote-attempts.ts';
import { createRemoteSandbox, type RemoteSandboxOptions } from './remote-sandbox.ts';
import type { LaunchFailure, WorkerAssignment, WorkerLauncher } from './worker-launcher.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const SECRET = Buffer.alloc(32, 9);

function harness(over: Partial<RemoteSandboxOptions> = {}) {
  const attempts = createRemoteAttempts(() => SECRET);
  const app = new Hono().route('/', workerRoutes(attempts));
  const launched: WorkerAssignment[] = [];
  const stopped: string[] = [];
  const held: { ref: string; labels: SandboxLabels }[] = [];
  let fail: (f: LaunchFailure) => void = () => {};
  const launcher: WorkerLauncher = {
    kind: 'test',
    label: 'test',
    launch(assignment) {
      launched.push(assignment);
      return Promise.resolve({
        ref: `test:${launched.length}`,
        failed: new Promise<LaunchFailure>((r) => (fail = r)),
        describe: () => Promise.resolve('pod Pending: 0/3 nodes are available'),
        dispose: () => {},
      });
    },
    // The worker of `test:1` still runs (a re-attach finds it); any other is gone.
    follow: (ref) =>
      Promise.resolve(
        ref === 'test:1'
          ? {
              ref,
              failed: new Promise<LaunchFailure>(() => {}),
              describe: () => Promise.resolve(null),
              dispose: () => {},
            }
          : null,
      ),
    stop: (ref) => (stopped.push(ref), Promise.resolve()),
    held: () => Promise.resolve(held),
    doctor: () => Promise.resolve([]),
  };
  const sandbox = createRemoteSandbox({
    launcher,
    attempts,
    workerUrl: 'http://forge.test:7700',
    startTimeoutMs: 60_000,
    inheritEnv: ['ANTHROPIC_API_KEY'],
    heartbeatMs: 60_000,
    cancelGraceMs: 100,
    ...over,
  });
  const call = (token: string | null, path: string, init: RequestInit = {}) =>
    app.request(`/worker/v1${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
    });
  return { sandbox, attempts, launched, stopped, held, fail: (f: LaunchFailure) => fail(f), call };
}

async function attemptDir(): Promise<SandboxSpec> {
  const root = join(await mkdtemp(join(tmpdir(), 'forge-remote-unit-')), 'attempt-1');
  dirs.push(root);
  await mkdir(join(root, 'workspace'), { recursive: true });
  await mkdir(join(root, 'private', 'home', '.config'), { recursive: true });
  await mkdir(join(root, 'private', 'tmp'), { recursive: true });
  await writeFile(join(root, 'private', 'prompt.txt'), 'do the thing');
  await writeFile(join(root, 'private', 'home', '.config', 'agent.json'), '{"a":1}');
  return {
    command: ['agent', `--config=${root}/private/home/.config/agent.json`],
    cwd: join(root, 'workspace'),
    env: {
      PATH: '/server/bin',
      HOME: join(root, 'private', 'home'),
      ANTHROPIC_API_KEY: 'sk-on-the-server',
    },
    stdinFile: join(root, 'private', 'prompt.txt'),
    tmpDir: join(root, 'private', 'tmp'),
    writable: [join(root, 'private')],
    allowedDomains: [],
    denyRead: [],
    labels: { jobId: '01JOB', attempt: 1 },
  };
}

async function drain(run: SandboxRun): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of run.output) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

describe('remote sandbox', () => {
  it('gives the worker its spec: relative paths, the prompt, the prepared files, and no secret it takes from its own environment', async () => {
    const h = harness();
    const spec = await attemptDir();
    const run = await h.sandbox.start(spec, new AbortController().signal);
    const token = h.launched[0]!.token;
    expect(h.launched[0]).toMatchObject({ url: 'http://forge.test:7700', labels: spec.labels });
    const res = await h.call(token, '/attempt');
    expect(res.status).toBe(200);
    const body = (await res.json()) as AttemptSpec;
    expect(body).toMatchObject({
      cwd: 'workspace',
      tmp_dir: 'private/tmp',
      inherit_env: ['PATH', 'ANTHROPIC_API_KEY'],
      workspace: null,
      env: { HOME: `${body.root}/private/home` },
    });
    expect(body.env).not.toHaveProperty('ANTHROPIC_API_KEY');
    expect(body.env).not.toHaveProperty('PATH');
    expect(Buffer.from(body.stdin_base64!, 'base64').toString()).toBe('do the thing');
    expect(body.files.map((f) => f.path)).toContain('private/home/.config/agent.json');
    expect(run.ref).toBe('test:1');
    h.fail({ category: 'interrupted', message: 'test over' });
    await run.exited;
  });

  it('refuses a request without the token, with a forged one, and for an attempt that is over', async () => {
    const h = harness();
    const run = await h.sandbox.start(await attemptDir(), new AbortController().signal);
    expect((await h.call(null, '/attempt')).status).toBe(401);
    expect(
      (await h.call(attemptToken(Buffer.alloc(32, 1), { jobId: '01JOB', attempt: 1 }), '/attempt'))
        .status,
    ).toBe(401);
    const token = h.launched[0]!.token;
    const other = attemptToken(SECRET, { jobId: '01JOB', attempt: 2 });
    expect((await h.call(other, '/attempt')).status).toBe(410);
    const exit = await h.call(token, '/exit', {
      method: 'POST',
      body: JSON.stringify({ exit_code: 0, signal: null, output_bytes: 0 }),
    });
    expect(exit.status).toBe(200);
    expect(await run.exited).toEqual({ exitCode: 0, signal: null });
    const gone = await h.call(token, '/attempt');
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: string }).error).toContain('the worker should stop');
    expect(h.stopped).toEqual(['test:1']);
  });

  it('re-attaches after a restart: the worker resends from the last whole line the core took in', async () => {
    const before = harness();
    const spec = await attemptDir();
    const run = await before.sandbox.start(spec, new AbortController().signal);
    const token = before.launched[0]!.token;
    const post = (h: ReturnType<typeof harness>, offset: number, text: string) =>
      h.call(token, `/output?offset=${offset}`, { method: 'POST', body: text });
    const reader = run.output[Symbol.asyncIterator]();
    await post(before, 0, 'one\ntw');
    expect(String((await reader.next()).value)).toBe('one\ntw');
    // The core took 'one\ntw' in ('tw' waits in its line splitter) and waits for more.
    const next = reader.next();
    await post(before, 6, 'o\nthr'); // received, never taken in: this server dies now
    expect(String((await next).value)).toBe('o\nthr');

    // A new server on the same data dir, same secret, nothing in memory.
    const after = harness();
    const attempt = { labels: spec.labels, cwd: spec.cwd, tmpDir: spec.tmpDir };
    expect(await after.sandbox.adopt!('test:2', attempt, new AbortController().signal)).toBeNull();
    const again = await after.sandbox.adopt!('test:1', attempt, new AbortController().signal);
    expect(again).not.toBeNull();
    expect(after.launched).toEqual([]); // the same worker, not a new one
    const fetched = (await (await after.call(token, '/attempt')).json()) as AttemptSpec;
    expect(fetched.output_acked).toBe(4); // after 'one\n': 'two' is sent whole again
    // The worker, ahead of it, is sent back to what this server holds.
    const ahead = await post(after, 11, 'ee\n');
    expect(ahead.status).toBe(409);
    expect(await ahead.json()).toMatchObject({ acked: 4 });
    await post(after, 4, 'two\nthree\n');
    await after.call(token, '/exit', {
      method: 'POST',
      body: JSON.stringify({ exit_code: 0, signal: null, output_bytes: 14 }),
    });
    expect(await drain(again!)).toBe('two\nthree\n');
    expect(await again!.exited).toEqual({ exitCode: 0, signal: null });
    expect(after.stopped).toEqual(['test:1']);
  });

  it('removes what the platform holds for attempts that are not live, and leaves live ones', async () => {
    const h = harness();
    h.held.push(
      { ref: 'test:old', labels: { jobId: '01OLD', attempt: 1 } },
      { ref: 'test:live', labels: { jobId: '01LIVE', attempt: 2 } },
    );
    const removed = await h.sandbox.collectOrphans!((l) => Promise.resolve(l.jobId === '01LIVE'));
    expect(removed).toBe(1);
    expect(h.stopped).toEqual(['test:old']);
  });

  it('takes output once and in order, and refuses the exit until all of it arrived', async () => {
    const h = harness();
    const run = await h.sandbox.start(await attemptDir(), new AbortController().signal);
    const token = h.launched[0]!.token;
    const post = (offset: number, text: string) =>
      h.call(token, `/output?offset=${offset}`, { method: 'POST', body: text });
    const output = drain(run);
    expect(await (await post(0, 'hello ')).json()).toEqual({ acked: 6, cancel: false });
    expect(await (await post(3, 'lo world')).json()).toEqual({ acked: 11, cancel: false });
    const gap = await post(20, 'later');
    expect(gap.status).toBe(409);
    expect(await gap.json()).toMatchObject({ acked: 11 });
    const early = await h.call(token, '/exit', {
      method: 'POST',
      body: JSON.stringify({ exit_code: 0, signal: null, output_bytes: 12 }),
    });
    expect(early.status).toBe(409);
    await post(11, '!');
    await h.call(token, '/exit', {
      method: 'POST',
      body: JSON.stringify({ exit_code: 3, signal: null, output_bytes: 12 }),
    });
    expect(await output).toBe('hello world!');
    expect(await run.exited).toEqual({ exitCode: 3, signal: null });
  });

  it('a cancel answers the waiting worker at once and ends the attempt after the grace even if it never reports', async () => {
    const h = harness();
    const stop = new AbortController();
    const run = await h.sandbox.start(await attemptDir(), stop.signal);
    const token = h.launched[0]!.token;
    const control = h.call(token, '/control?wait=30000');
    stop.abort('cancelled');
    expect(await (await control).json()).toEqual({ cancel: true });
    expect(await run.exited).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(h.stopped).toEqual(['test:1']);
  });

  it('a worker that never calls home fails as sandbox with the address and what the platform says', async () => {
    const h = harness({ startTimeoutMs: 50 });
    const run = await h.sandbox.start(await attemptDir(), new AbortController().signal);
    const exit = await run.exited;
    expect(exit.failure?.category).toBe('sandbox');
    expect(exit.failure?.message).toContain('did not call home to http://forge.test:7700');
    expect(exit.failure?.message).toContain('pod Pending: 0/3 nodes are available');
  });

  it('a worker that stops calling home is interrupted', async () => {
    const h = harness({ heartbeatMs: 20 });
    const run = await h.sandbox.start(await attemptDir(), new AbortController().signal);
    await h.call(h.launched[0]!.token, '/attempt');
    const exit = await run.exited;
    expect(exit.failure).toMatchObject({ category: 'interrupted' });
    expect(exit.failure?.message).toContain('stopped calling home');
  });

  it("the launcher's failure becomes the attempt's", async () => {
    const h = harness();
    const run = await h.sandbox.start(await attemptDir(), new AbortController().signal);
    h.fail({ category: 'max_duration', message: 'the Job hit its activeDeadlineSeconds' });
    expect((await run.exited).failure).toEqual({
      category: 'max_duration',
      message: 'the Job hit its activeDeadlineSeconds',
    });
  });
});

describe('what a worker can be sent', () => {
  it('refuses prepared files over the limit, saying where they are', async () => {
    const spec = await attemptDir();
    const root = join(spec.cwd, '..');
    await expect(collectAttemptFiles(root, spec.writable, 10)).rejects.toThrow(
      /over .* MiB, more than a worker is sent/,
    );
  });

  it('refuses a writable directory outside the attempt directory', async () => {
    const h = harness();
    const spec = await attemptDir();
    const refused = h.sandbox.start({ ...spec, writable: ['/etc'] }, new AbortController().signal);
    await expect(refused).rejects.toMatchObject({ code: 'unavailable' });
    await expect(refused).rejects.toThrow('/etc is outside the attempt directory');
    expect(h.launched).toHaveLength(0);
  });
});

describe('worker routes in the app', () => {
  it('take the attempt token where API tokens are required, and answer a wrong method with 405', async () => {
    const h = harness();
    const config = loadConfig(
      {},
      `
server: {host: 127.0.0.1, port: 0, tokens: [{name: ops, token: admin-token-0123456789abcdef, role: admin}]}
agents: {script: {kind: command, command: [/bin/true]}}
`,
    );
    const app = createApp({
      store: createMemoryStore(),
      bus: new EventBus(pino({ level: 'silent' })),
      config,
      logs: createMemoryLogs(),
      logger: pino({ level: 'silent' }),
      workerAttempts: h.attempts,
    });
    const run = await h.sandbox.start(await attemptDir(), new AbortController().signal);
    const auth = { authorization: `Bearer ${h.launched[0]!.token}` };
    expect((await app.request('/worker/v1/attempt', { headers: auth })).status).toBe(200);
    // The attempt token is no API token.
    expect((await app.request('/jobs', { headers: auth })).status).toBe(401);
    const wrong = await app.request('/worker/v1/attempt', { method: 'DELETE', headers: auth });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    h.fail({ category: 'interrupted', message: 'test over' });
    await run.exited;
  });
});
