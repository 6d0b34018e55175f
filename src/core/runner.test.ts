// The runner against the in-memory store and a scripted sandbox: no processes, no sleeps. Time
// moves on the store's clock; the runner's own timers are short and every wait is on an event.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import type { JobStatus } from '../domain/job.ts';
import type { AttemptLogs } from '../ports/logs.ts';
import type { SandboxLabels } from '../ports/sandbox.ts';
import type { JobStore } from '../ports/store.ts';
import { spec, testClock, type TestClock } from '../../test/contracts/store-fixtures.ts';
import {
  createScriptedSandbox,
  scriptedAgent,
  type ScriptedSandbox,
} from '../../test/support/scripted-sandbox.ts';
import { EventBus } from './events.ts';
import { createRedactor } from './redactor.ts';
import type { RepoDeps } from './repo-work.ts';
import { Runner, type RunnerOptions } from './runner.ts';

const LEASE_MS = 60_000;
const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Harness {
  store: JobStore;
  clock: TestClock;
  bus: EventBus;
}

/** `start`: the store clock's start (a re-attached attempt's max duration counts from its start
 *  on the store's clock, so those tests start it at the real time). */
function shared(start?: number): Harness {
  const clock = testClock(start);
  const store = createMemoryStore({ clock: clock.now });
  return { store, clock, bus: new EventBus(logger) };
}

/** What a server restarted on the same machine keeps: its data dir and logs; and a sandbox whose
 *  attempts outlive it. */
interface Machine {
  dataDir?: string;
  logs?: AttemptLogs;
  adoptable?: Set<string>;
  held?: Map<string, SandboxLabels>;
  collected?: () => void;
}

function startRunner(
  h: Harness,
  owner: string,
  opts: Partial<RunnerOptions> = {},
  machine: Machine = {},
): { runner: Runner; sandbox: ScriptedSandbox } {
  const dataDir = machine.dataDir ?? mkdtempSync(join(tmpdir(), 'forge-runner-'));
  const sandbox = createScriptedSandbox({
    ...(machine.adoptable ? { adoptable: machine.adoptable } : {}),
    ...(machine.held ? { held: machine.held } : {}),
    ...(machine.collected ? { collected: machine.collected } : {}),
  });
  const agent = scriptedAgent();
  const runner = new Runner(
    {
      store: h.store,
      bus: h.bus,
      logs: machine.logs ?? createMemoryLogs(),
      sandbox,
      repos: { logger, bus: h.bus } as unknown as RepoDeps,
      resolveAgent: () => agent,
      logger,
      owner,
      dataDir,
      baseEnv: {},
      denyRead: [],
      retryBackoffMs: 0,
      redactor: createRedactor([]),
    },
    { maxConcurrent: 2, leaseMs: LEASE_MS, pollIntervalMs: 10, exclusive: false, ...opts },
  );
  runner.start();
  cleanups.push(async () => {
    for (const run of sandbox.runs) run.release();
    await runner.stop(0);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { runner, sandbox };
}

/** Resolves once the job reaches `status` (published on the bus, or already there). */
async function reaches(h: Harness, id: string, status: JobStatus): Promise<void> {
  const seen = new Promise<void>((resolve) => {
    const off = h.bus.subscribe((e) => {
      if (e.type === 'job.status' && e.jobId === id && e.status === status) {
        off();
        resolve();
      }
    });
  });
  if ((await h.store.get(id))?.status === status) return;
  await seen;
}

async function submit(h: Harness, overrides: Parameters<typeof spec>[0] = {}): Promise<string> {
  const { job } = await h.store.create(spec({ repo: null, max_retries: 1, ...overrides }));
  h.bus.publish({ type: 'job.created', jobId: job.id });
  return job.id;
}

describe('runner', () => {
  it('runs a job to SUCCEEDED and keeps its output', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a');
    const id = await submit(h);
    const run = await sandbox.run(0);
    run.print('hello from the agent');
    run.exit(0);
    await reaches(h, id, 'SUCCEEDED');
    const record = await h.store.get(id);
    expect(record?.attempts).toMatchObject([{ number: 1, exit_code: 0 }]);
    expect(record?.attempts[0]?.output).toContain('hello from the agent');
  });

  it('a cancel during a run stops the agent and the job stays CANCELLED', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a');
    const id = await submit(h);
    const run = await sandbox.run(0);
    run.print('working');
    await h.store.cancel(id, { category: 'cancelled', message: 'cancelled by a test' });
    h.bus.publish({
      type: 'job.status',
      jobId: id,
      status: 'CANCELLED',
      attempt: 1,
      failure: null,
    });
    await run.aborted;
    expect(run.abortReason()).toBe('cancelled');
    await run.ended;
    await expect.poll(async () => (await h.store.get(id))?.attempts[0]?.finished_at).not.toBeNull();
    const record = await h.store.get(id);
    expect(record).toMatchObject({
      status: 'CANCELLED',
      attempts: [{ failure: { category: 'cancelled' } }],
    });
    expect(record?.attempts[0]?.output).toContain('working');
  });

  it('an agent that exits non-zero is retried with the previous attempt in its prompt', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a');
    const id = await submit(h, { max_retries: 1 });
    const first = await sandbox.run(0);
    first.print('oops: the test suite is red');
    first.exit(3);
    const second = await sandbox.run(1);
    expect(second.spec.labels).toEqual({ jobId: id, attempt: 2 });
    second.exit(0);
    await reaches(h, id, 'SUCCEEDED');
    expect((await h.store.get(id))?.attempts.map((a) => a.exit_code)).toEqual([3, 0]);
  });

  it('an agent that goes quiet is stopped for inactivity and retried', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a');
    const id = await submit(h, { max_retries: 1, inactivity_timeout_ms: 50 });
    const first = await sandbox.run(0);
    first.print('hello, then silence');
    await first.aborted;
    expect(first.abortReason()).toBe('inactivity');
    const second = await sandbox.run(1);
    await second.aborted;
    await reaches(h, id, 'FAILED');
    const record = await h.store.get(id);
    expect(record?.failure?.category).toBe('inactivity');
    expect(record?.attempts.map((a) => a.failure?.category)).toEqual(['inactivity', 'inactivity']);
    expect(record?.attempts[0]?.output).toContain('hello, then silence');
  });

  it('an agent that runs past max_duration is stopped and not retried', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a');
    const id = await submit(h, { max_retries: 2, max_duration_ms: 50 });
    const run = await sandbox.run(0);
    await run.aborted;
    expect(run.abortReason()).toBe('max_duration');
    await reaches(h, id, 'FAILED');
    const record = await h.store.get(id);
    expect(record?.failure).toMatchObject({ category: 'max_duration' });
    expect(record?.failure?.message).toContain('50ms');
    expect(record?.attempts).toHaveLength(1);
  });

  it('an agent over its budget is stopped and the job fails without a retry', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a');
    const id = await submit(h, { max_retries: 2, budget_usd: 1 });
    const run = await sandbox.run(0);
    run.print('COST 0.4');
    run.print('COST 1.2');
    await run.aborted;
    expect(run.abortReason()).toBe('budget');
    await reaches(h, id, 'FAILED');
    expect(await h.store.get(id)).toMatchObject({
      failure: { category: 'budget_exceeded' },
      cost_usd: 1.2,
      attempts: [{ cost_usd: 1.2 }],
    });
  });

  it('a lost lease stops the attempt as interrupted and never moves the job', async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a', { leaseMs: 300 });
    const id = await submit(h);
    const run = await sandbox.run(0);
    // Another server recovers the job (its lease expired on the store's clock).
    h.clock.advance(10_000);
    await h.store.recover({ self: 'b', running: [], foreignOwners: false });
    await run.aborted;
    expect(run.abortReason()).toBe('lease_lost');
    // The job, requeued by the recovery, is claimed afresh; the old attempt's late close moved
    // nothing.
    await sandbox.run(1);
    const record = await h.store.get(id);
    expect(record).toMatchObject({
      status: 'RUNNING',
      attempt_count: 2,
      attempts: [{ failure: { category: 'interrupted' } }, { finished_at: null }],
    });
  });

  it('re-attaches to an attempt that outlived its server and finishes it, its output whole', async () => {
    const h = shared(Date.now());
    const machine: Machine = {
      dataDir: mkdtempSync(join(tmpdir(), 'forge-runner-')),
      logs: createMemoryLogs(),
      adoptable: new Set(),
    };
    const a = startRunner(h, 'a', {}, machine);
    const id = await submit(h);
    const before = await a.sandbox.run(0);
    const printed = new Promise<void>((resolve) =>
      h.bus.subscribe((e) => {
        if (e.type === 'attempt.output' && e.text.split('\n').includes('before the restart'))
          resolve();
      }),
    );
    before.print('before the restart');
    await printed;
    // Server a is gone (its lease runs out on the store's clock); its attempt still runs, and
    // server b starts on the same machine.
    machine.adoptable!.add(`scripted:${id}/1`);
    h.clock.advance(2 * LEASE_MS);
    const b = startRunner(h, 'b', {}, machine);
    const after = await b.sandbox.run(0);
    expect(after.spec.labels).toEqual({ jobId: id, attempt: 1 });
    after.print('after the restart');
    after.exit(0);
    await reaches(h, id, 'SUCCEEDED');
    const record = await h.store.get(id);
    expect(record).toMatchObject({ attempt_count: 1, attempts: [{ number: 1, exit_code: 0 }] });
    const log = await machine.logs!.read({ job_id: id, attempt: 1 }, 0, 1 << 20);
    expect(log?.bytes.toString()).toMatch(
      /before the restart\n(.*\n)?.*re-attached.*\n(.*\n)?after the restart/,
    );
    expect(record?.attempts[0]?.output).toContain('before the restart');
    expect(record?.attempts[0]?.output).toContain('after the restart');
  });

  it('an attempt whose sandbox no longer has it is closed as interrupted and retried', async () => {
    const h = shared(Date.now());
    const machine: Machine = {
      dataDir: mkdtempSync(join(tmpdir(), 'forge-runner-')),
      logs: createMemoryLogs(),
      adoptable: new Set(), // the pod is gone
    };
    // Server a, still stuck on its attempt, takes no other job.
    const a = startRunner(h, 'a', { maxConcurrent: 1 }, machine);
    const id = await submit(h, { max_retries: 1 });
    await a.sandbox.run(0);
    await h.store.setSandboxRef({ job_id: id, attempt: 1 }, `scripted:${id}/1`);
    h.clock.advance(2 * LEASE_MS);
    const b = startRunner(h, 'b', {}, machine);
    const retried = await b.sandbox.run(0);
    expect(retried.spec.labels).toEqual({ jobId: id, attempt: 2 });
    const record = await h.store.get(id);
    expect(record?.attempts[0]?.failure).toMatchObject({
      category: 'interrupted',
      message: expect.stringContaining('could not re-attach') as unknown,
    });
  });

  it('removes what the sandbox holds for attempts that are no longer open, and only that', async () => {
    const h = shared();
    const a = startRunner(h, 'a');
    const done = await submit(h);
    const first = await a.sandbox.run(0);
    first.exit(0);
    await reaches(h, done, 'SUCCEEDED');
    const live = await submit(h);
    await a.sandbox.run(1);
    const held = new Map<string, SandboxLabels>([
      [`${done}/1`, { jobId: done, attempt: 1 }],
      [`${live}/1`, { jobId: live, attempt: 1 }],
      ['01UNKNOWNJOB0000000000000/1', { jobId: '01UNKNOWNJOB0000000000000', attempt: 1 }],
    ]);
    let round: () => void = () => {};
    const collected = new Promise<void>((resolve) => (round = resolve));
    startRunner(h, 'b', {}, { held, collected: () => round() });
    await collected;
    expect([...held.keys()]).toEqual([`${live}/1`]);
  });

  it('a stalled event loop or a clock jump never makes the runner recover its own running job', async () => {
    const h = shared();
    // Renewals that never land (the loop stalled), and a way to see each recovery pass.
    let passes = 0;
    let onPass: () => void = () => {};
    const store: JobStore = {
      ...h.store,
      renew: () => Promise.resolve(true),
      recover: async (opts) => {
        const out = await h.store.recover(opts);
        passes++;
        onPass();
        return out;
      },
    };
    const { sandbox } = startRunner({ ...h, store }, 'a', { leaseMs: 100 });
    const id = await submit(h);
    const run = await sandbox.run(0);
    h.clock.advance(10 * LEASE_MS); // ten leases without a renewal
    const seen = passes;
    await new Promise<void>((resolve) => (onPass = () => passes >= seen + 2 && resolve()));
    expect(await h.store.get(id)).toMatchObject({ status: 'RUNNING', attempt_count: 1 });
    expect(sandbox.runs).toHaveLength(1);
    run.exit(0);
    await reaches(h, id, 'SUCCEEDED');
    expect((await h.store.get(id))?.attempts).toHaveLength(1);
  });

  it("a slow clean-up of an attempt never removes its successor's entry, so cancel still reaches it", async () => {
    const h = shared();
    const { sandbox } = startRunner(h, 'a', { leaseMs: 300 });
    const id = await submit(h, { max_retries: 2 });
    const first = await sandbox.run(0);
    first.holdExit(); // its process tree is slow to die
    h.clock.advance(10_000);
    await h.store.recover({ self: 'b', running: [], foreignOwners: false });
    await first.aborted;
    // The job is PENDING again; this same runner claims attempt 2 while attempt 1 still closes.
    const second = await sandbox.run(1);
    expect(second.spec.labels.attempt).toBe(2);
    first.release();
    await first.ended;
    await expect.poll(async () => (await h.store.get(id))?.attempts[0]?.finished_at).not.toBeNull();
    await h.store.cancel(id, { category: 'cancelled', message: 'cancelled by a test' });
    h.bus.publish({
      type: 'job.status',
      jobId: id,
      status: 'CANCELLED',
      attempt: 2,
      failure: null,
    });
    await second.aborted;
    expect(second.abortReason()).toBe('cancelled');
  });

  it('shutdown stops running attempts and hands their jobs back to the queue', async () => {
    const h = shared();
    const { runner, sandbox } = startRunner(h, 'a');
    const id = await submit(h);
    await sandbox.run(0);
    await runner.stop(0);
    expect(sandbox.runs[0]?.abortReason()).toBe('shutdown');
    expect(await h.store.get(id)).toMatchObject({
      status: 'PENDING',
      attempts: [{ failure: { category: 'interrupted' } }],
    });
  });

  it('two runners on one store run each job exactly once', async () => {
    const h = shared();
    const a = startRunner(h, 'a');
    const b = startRunner(h, 'b');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(h, { task: `job ${i}` }));
    // Finish every run as soon as it starts, whichever runner took it.
    const done = Promise.all(ids.map((id) => reaches(h, id, 'SUCCEEDED')));
    const exitAll = async (s: ScriptedSandbox) => {
      for (let n = 0; ; n++) {
        const run = await Promise.race([s.run(n), done.then(() => null)]);
        if (!run) return;
        run.exit(0);
      }
    };
    await Promise.all([exitAll(a.sandbox), exitAll(b.sandbox), done]);
    const started = [...a.sandbox.runs, ...b.sandbox.runs].map((r) => r.spec.labels.jobId);
    expect(started.sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await h.store.get(id))?.attempts).toHaveLength(1);
  });
});
