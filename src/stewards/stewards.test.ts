import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createJobControl } from '../core/job-control.ts';
import { ForgeError } from '../domain/errors.ts';
import type { JobStore } from '../ports/store.ts';
import { createStewards, stewardJobBudget, type Stewards } from './stewards.ts';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

function world(steward: Record<string, unknown>) {
  const config = loadConfig(
    {},
    JSON.stringify({
      agents: { script: { kind: 'command', command: ['true'] } },
      defaults: { agent: 'script' },
      repos: { app: { url: '/srv/app.git' } },
      stewards: { ci: { repo: 'app', prompt: 'watch CI', ...steward } },
    }),
  );
  let now = T0;
  const store = createMemoryStore({ clock: () => now });
  const bus = new EventBus(logger);
  const control = createJobControl({ store, bus, config });
  /** One Forge replica: its own scheduler over the shared store. */
  const replica = (): Stewards =>
    createStewards({
      stewards: config.stewards,
      store,
      control,
      bus,
      logger,
      redact: (text) => text.replaceAll('s3cret-value', '[REDACTED]'),
      jobBudgetUsd: (s) => stewardJobBudget(config, s),
      now: () => new Date(now),
    });
  return {
    config,
    store,
    replica,
    at: (ms: number) => (now = T0 + ms),
    runs: async () => (await store.list({ tags: ['steward:ci'], limit: 100, offset: 0 })).jobs,
  };
}

/** Runs the oldest queued run to success at `cost`. */
async function succeed(store: JobStore, cost: number): Promise<void> {
  const claim = (await store.claim('test', 60_000, 'local'))!;
  await store.finish(
    { job_id: claim.job.id, attempt: claim.attempt },
    'test',
    {
      exit_code: 0,
      output: '',
      truncated: false,
      failure: null,
      cost_usd: cost,
      turns: 1,
      session_id: null,
      summary: null,
      diff_stat: null,
      job_result: null,
    },
    { status: 'SUCCEEDED' },
  );
}

async function end(store: JobStore, id: string): Promise<void> {
  await store.cancel(id, { category: 'cancelled', message: 'test' });
}

describe('stewards', () => {
  it('two replicas stepping at once file one run per scheduled time, and ticks during a run coalesce', async () => {
    const w = world({ schedule: '* * * * * *' });
    const [a, b] = [w.replica(), w.replica()];
    await a.reconcile('ci'); // first sight: the schedule counts from now
    w.at(1_500);
    await Promise.all([a.reconcile('ci'), b.reconcile('ci'), a.reconcile('ci')]);
    expect(await w.runs()).toHaveLength(1);
    // Three more ticks while it runs: still one run, one wake waiting.
    w.at(4_500);
    await Promise.all([a.reconcile('ci'), b.reconcile('ci')]);
    const running = await w.runs();
    expect(running).toHaveLength(1);
    expect((await b.view('ci')).pending).toMatchObject({ reason: 'schedule' });
    await end(w.store, running[0]!.id);
    await Promise.all([a.reconcile('ci'), b.reconcile('ci')]);
    const after = await w.runs();
    expect(after).toHaveLength(2);
    expect(after[0]!.task).toContain(
      'This is run 2, started by its schedule at 2026-06-01T12:00:04.000Z',
    );
    expect((await a.view('ci')).pending).toBeNull();
  });

  it('holds wakes while paused and runs one when resumed', async () => {
    const w = world({});
    const s = w.replica();
    await s.pause('ci');
    await s.wake('ci', 'api', 'api:ana');
    await s.wake('ci', 'webhook', 'webhook');
    expect(await w.runs()).toHaveLength(0);
    expect(await s.view('ci')).toMatchObject({ status: 'paused', pending: { reason: 'api' } });
    await s.resume('ci');
    const runs = await w.runs();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ source: 'steward:ci', tags: ['steward:ci'] });
    expect(runs[0]!.settings.notes).toEqual({ steward: 'ci', max_bytes: 16 * 1024 });
  });

  it('skips schedules missed while down when catch_up is off, and runs them once when on', async () => {
    for (const catchUp of [false, true]) {
      const w = world({ schedule: '* * * * * *', catch_up: catchUp });
      await w.replica().reconcile('ci');
      w.at(10_500); // down for ten ticks; a new server starts now
      const restarted = w.replica();
      await restarted.reconcile('ci');
      const runs = await w.runs();
      expect(runs).toHaveLength(catchUp ? 1 : 0);
      if (catchUp) {
        expect(runs[0]!.task).toContain('a schedule missed while Forge was down');
        await end(w.store, runs[0]!.id);
      }
      w.at(11_200);
      await restarted.reconcile('ci');
      expect(await w.runs()).toHaveLength(catchUp ? 2 : 1);
    }
  });

  it('gives a run only what is left of the day, and stops at the budget until the day resets', async () => {
    const w = world({ budget: { per_day: 1, per_month: 10 } });
    const s = w.replica();
    await s.wake('ci', 'api', null);
    const [first] = await w.runs();
    expect(first!.budget_usd).toBe(1);
    await succeed(w.store, 1);
    await s.wake('ci', 'api', null);
    expect(await w.runs()).toHaveLength(1);
    const view = await s.view('ci');
    expect(view).toMatchObject({
      status: 'paused_budget',
      spend: { today_usd: 1, month_usd: 1 },
      budget: { resets_at: '2026-06-02T00:00:00.000Z' },
      pending: { reason: 'api' },
    });
    w.at(13 * 3_600_000); // the next day
    await s.reconcile('ci');
    expect(await w.runs()).toHaveLength(2);
  });

  it("keeps a person's notes redacted and refuses notes over the cap", async () => {
    const w = world({ notes_max_bytes: 256 });
    const s = w.replica();
    const saved = await s.editNotes('ci', '# plan\nkey s3cret-value\n', 'api:ana');
    expect(saved).toMatchObject({
      version: 1,
      text: '# plan\nkey [REDACTED]\n',
      by: 'api:ana',
      job_id: null,
    });
    await expect(s.editNotes('ci', 'x'.repeat(257), 'api:ana')).rejects.toThrow(ForgeError);
    // An edit of version 0 made while version 1 was written is refused, not silently replaced.
    await expect(s.editNotes('ci', 'mine', 'api:bo', 0)).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(await s.editNotes('ci', 'mine', 'api:bo', 1)).toMatchObject({ version: 2 });
    await expect(s.editNotes('ci', 'again', 'api:bo', 1)).rejects.toMatchObject({
      code: 'conflict',
    });
    expect((await s.view('ci')).notes).toMatchObject({ version: 2, text: 'mine' });
    expect((await s.notesHistory('ci', 5)).at(-1)).toEqual(saved);
  });

  it('answers an unknown steward with not_found', async () => {
    const s = world({}).replica();
    await expect(s.view('nobody')).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.wake('nobody', 'api', null)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('adds up spend from the runs since the last read, reading older ended runs once a minute', async () => {
    const w = world({ budget: { per_day: 100 } });
    let listed = 0;
    const list = w.store.list.bind(w.store);
    w.store.list = (filter) => {
      listed += 1;
      return list(filter);
    };
    const s = w.replica();
    const run = async (cost: number) => {
      await s.wake('ci', 'api', null);
      await succeed(w.store, cost);
    };
    for (let i = 0; i < 150; i++) await run(0.01);
    expect((await s.view('ci')).spend).toEqual({ today_usd: 1.5, month_usd: 1.5 });
    await run(0.5);
    listed = 0;
    expect((await s.view('ci')).spend).toEqual({ today_usd: 2, month_usd: 2 });
    // The newest page only (spend, last runs): not the 151 runs again.
    expect(listed).toBe(2);
    w.at(61_000);
    listed = 0;
    expect((await s.view('ci')).spend).toEqual({ today_usd: 2, month_usd: 2 });
    expect(listed).toBe(3); // a minute on: every run read again (two pages), and the last runs
  });

  it('shows why its run could not be filed, until one is', async () => {
    const w = world({});
    let refuse = true;
    const control = createJobControl({
      store: w.store,
      bus: new EventBus(logger),
      config: w.config,
    });
    const s = createStewards({
      stewards: w.config.stewards,
      store: w.store,
      control: {
        submit: (body, context) =>
          refuse
            ? Promise.reject(new ForgeError('invalid_request', 'profile "x" caps budget_usd at 1'))
            : control.submit(body, context),
      },
      bus: new EventBus(logger),
      logger,
      redact: (text) => text,
      jobBudgetUsd: () => 1,
      now: () => new Date(T0),
    });
    await expect(s.wake('ci', 'api', null)).rejects.toThrow('caps budget_usd');
    expect((await s.view('ci')).last_error).toEqual({
      at: new Date(T0).toISOString(),
      message: 'profile "x" caps budget_usd at 1',
    });
    refuse = false;
    await s.reconcile('ci');
    expect(await w.runs()).toHaveLength(1);
    expect((await s.view('ci')).last_error).toBeNull();
  });
});
