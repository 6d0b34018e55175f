/** Shared setup of the store contract suites: fixtures, and a fresh store per test. */
import { afterEach, beforeEach, expect } from 'vitest';
import type { Failure } from '../../src/domain/failure.ts';
import type { JobSpec, JobStatus } from '../../src/domain/job.ts';
import type { AbandonedAttempt, AttemptResult, Claim, JobStore } from '../../src/ports/store.ts';

/** The store's clock, moved by tests instead of slept through. */
export interface TestClock {
  now: () => number;
  set: (ms: number) => void;
  advance: (ms: number) => void;
}

export function testClock(start = Date.UTC(2026, 0, 1)): TestClock {
  let at = start;
  return {
    now: () => at,
    set: (ms) => (at = ms),
    advance: (ms) => (at += ms),
  };
}

export interface StoreHarness {
  store: JobStore;
  /** Opens another store over the same data. The first may still be open (two servers sharing a
   *  backend) or closed (a restart); `cleanup` closes every store it handed out. */
  reopen?: () => Promise<JobStore>;
  cleanup: () => Promise<void>;
}

/** A harness over a store that can be opened again on the same data (a file, a NATS prefix):
 *  `reopen` opens another, and `cleanup` closes every one it handed out. */
export function reopenableHarness(open: () => JobStore): Promise<StoreHarness> {
  const opened: JobStore[] = [open()];
  return Promise.resolve({
    store: opened[0]!,
    reopen: () => {
      const store = open();
      opened.push(store);
      return Promise.resolve(store);
    },
    cleanup: async () => {
      for (const store of opened) await store.close();
    },
  });
}

export const LEASE_MS = 60_000;
export const OWNER = 'server-a';
export const UNKNOWN_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const CANCELLED: Failure = {
  category: 'cancelled',
  message: 'cancelled by alice via the API',
};
export const AGENT_FAILED: Failure = {
  category: 'agent_error',
  message: 'agent exited with code 1',
};
export const OK: AttemptResult = { exit_code: 0, output: 'done', truncated: false, failure: null };
export const FAILED: AttemptResult = {
  exit_code: 1,
  output: 'boom',
  truncated: false,
  failure: AGENT_FAILED,
};

export function spec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    task: 'make the flaky test deterministic',
    agent: 'claude',
    profile: 'default',
    max_retries: 2,
    budget_usd: 1.5,
    tags: ['repo:forge', 'ci'],
    source: 'api',
    inactivity_timeout_ms: 300_000,
    max_duration_ms: 3_600_000,
    model: 'claude-sonnet-4-5',
    max_turns: 40,
    repo: {
      url: 'https://git.example.com/me/app.git',
      name: 'app',
      forge: 'home',
      base_branch: 'main',
      branch: null,
      open_pr: true,
      draft: false,
    },
    settings: {
      system_prompt: 'Run the tests before you finish.',
      allowed_tools: ['Read', 'Bash(npm test)'],
      disallowed_tools: ['WebFetch'],
      mcp_servers: { docs: { type: 'http', url: 'https://mcp.example.com', headers: {} } },
      recipe: null,
      env: { NODE_ENV: 'test' },
      allowed_domains: ['registry.npmjs.org'],
      resume_interrupted: true,
      continue_previous_work: false,
    },
    origin: null,
    parent_id: null,
    ...overrides,
  };
}

export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}

export interface StoreContext {
  readonly harness: StoreHarness;
  readonly store: JobStore;
  readonly clock: TestClock;
  /** Moves the store's clock on by `ms`, then recovers as `self` (running nothing). */
  recoverAfter: (ms: number, self: string, foreignOwners: boolean) => Promise<AbandonedAttempt[]>;
  /** Creates a job and claims it; only valid while no older job is pending. */
  running: (overrides?: Partial<JobSpec>, owner?: string) => Promise<Claim>;
  statusOf: (id: string) => Promise<JobStatus>;
}

/** Registers hooks that give every test of the calling `describe` a fresh store. */
export function useStore(make: (clock: TestClock) => Promise<StoreHarness>): StoreContext {
  let current: StoreHarness | undefined;
  let clock: TestClock | undefined;
  beforeEach(async () => {
    clock = testClock();
    current = await make(clock);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const ctx: StoreContext = {
    get harness() {
      return must(current, 'a store; use it only inside a test');
    },
    get store() {
      return ctx.harness.store;
    },
    get clock() {
      return must(clock, 'a clock; use it only inside a test');
    },
    recoverAfter: (ms, self, foreignOwners) => {
      ctx.clock.advance(ms);
      return ctx.store.recover({ self, running: [], foreignOwners });
    },
    running: async (overrides = {}, owner = OWNER) => {
      const { job } = await ctx.store.create(spec(overrides));
      const claim = must(await ctx.store.claim(owner, LEASE_MS, 'local'), 'a claim');
      expect(claim.job.id).toBe(job.id);
      return claim;
    },
    statusOf: async (id) => must(await ctx.store.get(id), `job ${id}`).status,
  };
  return ctx;
}
