/**
 * Stewards: long-lived agents, each run an ordinary job (`source: steward:<name>`, tag
 * `steward:<name>`). This decides when a steward runs; the job machinery does the rest.
 *
 * One step of a steward, on every replica alike, each change a compare-and-set on its state:
 *   1. a scheduled time that has come becomes a wake (`pending`, `last_tick` moved past it);
 *   2. while its run is queued or running, nothing starts: wakes coalesce into one next run;
 *   3. a wake starts a run when the steward is not paused and its budget has money left: the job
 *      is filed with the idempotency key of run N (so every replica trying gets the same job),
 *      then recorded as the current run.
 * Steps run when a scheduled time comes, when a steward's run ends, on a wake, and every
 * `reconcileMs` as a safety net; they are serialized per steward within a process.
 */
import type { Logger } from 'pino';
import type { ForgeConfig, StewardConfig } from '../config.ts';
import type { EventBus } from '../core/events.ts';
import type { JobControl } from '../core/job-control.ts';
import { ForgeError } from '../domain/errors.ts';
import { isTerminal, type Job } from '../domain/job.ts';
import type {
  StewardNotes,
  StewardState,
  StewardStore,
  WakeReason,
} from '../ports/steward-store.ts';
import type { JobRecords } from '../ports/store.ts';
import { dueTick, nextTick, periodOf, periodResets } from './steward-clock.ts';
import { stewardTask } from './steward-task.ts';

/** Below this a run is not worth starting (the agent could not do a turn). */
export const MIN_RUN_BUDGET_USD = 0.01;

export interface StewardsDeps {
  stewards: Readonly<Record<string, StewardConfig>>;
  store: StewardStore & Pick<JobRecords, 'get' | 'list'>;
  control: Pick<JobControl, 'submit'>;
  bus: EventBus;
  logger: Logger;
  /** Removes secrets from notes a person writes (the agent's are redacted when kept). */
  redact: (text: string) => string;
  /** The budget a run's job would get when nothing lowers it (its profile's, or the default). */
  jobBudgetUsd: (steward: StewardConfig) => number;
  reconcileMs?: number;
  now?: () => Date;
}

export interface StewardSpend {
  today_usd: number;
  month_usd: number;
}

/** What GET /stewards/{name} shows. */
export interface StewardView {
  name: string;
  repo: string;
  profile: string | null;
  agent: string | null;
  prompt: string;
  schedule: string | null;
  timezone: string;
  triggers: string[];
  /** `running`, `idle`, `paused` (by a person) or `paused_budget` (until the period resets). */
  status: 'running' | 'idle' | 'paused' | 'paused_budget';
  paused: boolean;
  pending: StewardState['pending'];
  next_run: string | null;
  budget: { per_day: number | null; per_month: number | null; resets_at: string | null };
  spend: StewardSpend;
  current_job: string | null;
  runs: number;
  last_runs: Array<Pick<Job, 'id' | 'status' | 'created_at' | 'updated_at' | 'cost_usd'>>;
  notes: StewardNotes | null;
  /** Why this server's last attempt to step the steward failed (e.g. its run could not be
   *  filed), until a step succeeds; null when the last one did. */
  last_error: { at: string; message: string } | null;
}

export interface Stewards {
  names(): string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  view(name: string): Promise<StewardView>;
  list(): Promise<StewardView[]>;
  pause(name: string): Promise<StewardView>;
  resume(name: string): Promise<StewardView>;
  /** Takes one step for the steward now (what a timer or the reconciler would do). */
  reconcile(name: string): Promise<StewardState>;
  /** Asks for a run (coalesced with any other wake). */
  wake(name: string, reason: WakeReason, by: string | null): Promise<StewardView>;
  notesHistory(name: string, limit: number): Promise<StewardNotes[]>;
  /** A person's edit of the notes. With `base`, only on top of that version (else a conflict:
   *  someone, often the steward's own run, wrote a newer one meanwhile). */
  editNotes(name: string, text: string, by: string, base?: number): Promise<StewardNotes>;
}

const LAST_RUNS = 10;
/** How long the sums of ended runs are trusted before the runs are read again. */
const SPEND_CACHE_MS = 60_000;

interface SpendMemo {
  month: string;
  /** The newest run of the remembered ones: it and every older run this month had ended. */
  watermark: string;
  monthUsd: number;
  days: Map<string, number>;
  at: number;
}

export function createStewards(deps: StewardsDeps): Stewards {
  const { store, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const chains = new Map<string, Promise<unknown>>();
  const spendCache = new Map<string, SpendMemo>();
  /** Each steward's current run as its last step here saw it (a run another replica started is
   *  learnt at the next step, at most `reconcileMs` later). */
  const currentRuns = new Map<string, string>();
  /** Why the last step of a steward failed, until one succeeds (this replica's own). */
  const problems = new Map<string, { at: string; message: string }>();
  const timers = new Map<string, NodeJS.Timeout>();
  let reconcile: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopped = true;

  const configOf = (name: string): StewardConfig => {
    const config = deps.stewards[name];
    if (!config)
      throw new ForgeError(
        'not_found',
        `no steward named "${name}"; list them with GET /stewards (they are configured under stewards: in forge.yaml)`,
      );
    return config;
  };

  /** Runs `fn` after every earlier step of this steward in this process. */
  function serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = chains.get(name) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    chains.set(name, tail);
    return next;
  }

  /** The stored state, created on first sight (the schedule counts from then). */
  async function stateOf(name: string): Promise<StewardState> {
    for (;;) {
      const found = await store.getSteward(name);
      if (found) return found;
      const created = await store.putSteward(
        { name, paused: false, pending: null, last_tick: null, runs: 0, current_job: null },
        null,
      );
      if (created) return created;
    }
  }

  /** Applies `change` to the state by compare-and-set, retrying on a concurrent change. */
  async function update(
    name: string,
    change: (s: StewardState) => Partial<StewardState> | null,
  ): Promise<StewardState> {
    for (;;) {
      const current = await stateOf(name);
      const patch = change(current);
      if (!patch) return current;
      const next = await store.putSteward({ ...current, ...patch }, current.revision);
      if (next) return next;
    }
  }

  /**
   * The cost of the steward's runs this day and month. Runs are listed newest first; the sums of
   * older runs that had all ended are remembered for a minute (an ended run's cost no longer
   * changes, but a retry could reopen one), so a steward on a fast schedule is not re-read in full
   * on every step and every dashboard refresh.
   */
  async function spendOf(name: string, config: StewardConfig): Promise<StewardSpend> {
    const period = periodOf(now(), config.timezone);
    const fresh = spendCache.get(name);
    const known =
      fresh && fresh.month === period.month && now().getTime() - fresh.at < SPEND_CACHE_MS
        ? fresh
        : undefined;
    const spend: StewardSpend = { today_usd: 0, month_usd: 0 };
    // The runs newer than the remembered ones, newest first, and where the ended tail begins.
    const seen: Array<{ id: string; day: string; cost: number; ended: boolean }> = [];
    let reachedKnown = false;
    scan: for (let offset = 0; ; offset += 100) {
      const page = await store.list({ tags: [`steward:${name}`], limit: 100, offset });
      for (const job of page.jobs) {
        if (known && job.id <= known.watermark) {
          reachedKnown = true;
          break scan;
        }
        const of = periodOf(new Date(job.created_at), config.timezone);
        if (of.month !== period.month) break scan;
        seen.push({ id: job.id, day: of.day, cost: job.cost_usd, ended: isTerminal(job.status) });
      }
      if (page.jobs.length < 100) break;
    }
    const days = new Map(reachedKnown ? known!.days : []);
    let month = reachedKnown ? known!.monthUsd : 0;
    // Fold the ended tail (every run older than the newest one still open) into what is kept.
    let tail = seen.length;
    while (tail > 0 && seen[tail - 1]!.ended) tail--;
    for (const run of seen.slice(tail)) {
      month += run.cost;
      days.set(run.day, (days.get(run.day) ?? 0) + run.cost);
    }
    const watermark = tail < seen.length ? seen[tail]!.id : known?.watermark;
    if (watermark !== undefined && (tail < seen.length || reachedKnown))
      spendCache.set(name, {
        month: period.month,
        watermark,
        monthUsd: month,
        days,
        at: now().getTime(),
      });
    spend.month_usd = month;
    spend.today_usd = days.get(period.day) ?? 0;
    for (const run of seen.slice(0, tail)) {
      spend.month_usd += run.cost;
      if (run.day === period.day) spend.today_usd += run.cost;
    }
    return round(spend);
  }

  /** What the next run may spend, or null when there is no steward budget. */
  function remaining(config: StewardConfig, spend: StewardSpend): number | null {
    const left = [
      config.budget.per_day === undefined ? null : config.budget.per_day - spend.today_usd,
      config.budget.per_month === undefined ? null : config.budget.per_month - spend.month_usd,
    ].filter((v): v is number => v !== null);
    return left.length === 0 ? null : Math.min(...left);
  }

  /** One step (see the file's comment). Returns the state after it. */
  async function step(name: string): Promise<StewardState> {
    const config = configOf(name);
    let state = await stateOf(name);

    // 1. A scheduled time that has come is a wake.
    if (config.schedule) {
      const after = new Date(state.last_tick ?? state.created_at);
      const tick = dueTick(config.schedule, config.timezone, after, now());
      if (tick) {
        const missed = tick.getTime() < startedAt.getTime();
        state = await update(name, (s) =>
          s.last_tick && new Date(s.last_tick).getTime() >= tick.getTime()
            ? null
            : {
                last_tick: tick.toISOString(),
                pending:
                  s.pending ??
                  (missed && !config.catch_up
                    ? null
                    : {
                        reason: missed ? 'catch_up' : 'schedule',
                        at: tick.toISOString(),
                        by: null,
                      }),
              },
        );
      }
    }

    // 2. A run in progress: wakes wait for it.
    if (state.current_job) {
      const job = await store.get(state.current_job);
      if (job && !isTerminal(job.status)) return state;
    }
    // 3. Start a run.
    if (!state.pending || state.paused) return state;
    const spend = await spendOf(name, config);
    const left = remaining(config, spend);
    if (left !== null && left < MIN_RUN_BUDGET_USD) return state;
    const run = state.runs + 1;
    const budget =
      left === null
        ? undefined
        : // Cents of cents, without the float error of subtraction (1 - 0.8 = 0.1999…).
          Math.floor(Math.min(left, deps.jobBudgetUsd(config)) * 10_000 + 1e-6) / 10_000;
    const job = await deps.control.submit(
      {
        task: stewardTask({
          name,
          run,
          reason: state.pending.reason,
          at: state.pending.at,
          prompt: config.prompt,
          notes: config.notes ? { maxBytes: config.notes_max_bytes } : null,
        }),
        source: `steward:${name}`,
        repo: config.repo,
        ...(config.profile ? { profile: config.profile } : {}),
        ...(config.agent ? { agent: config.agent } : {}),
        ...(budget !== undefined ? { budget_usd: budget } : {}),
        tags: [`steward:${name}`],
      },
      {
        key: `steward:${name}:${state.created_at}:${run}`,
        notes: config.notes ? { steward: name, max_bytes: config.notes_max_bytes } : null,
      },
    );
    const before = state.revision;
    state = await update(name, (s) =>
      s.runs >= run ? null : { runs: run, current_job: job.id, pending: null },
    );
    if (state.revision !== before && state.current_job === job.id)
      logger.info({ steward: name, jobId: job.id, run }, 'steward run started');
    return state;
  }

  function stepSoon(name: string): Promise<StewardState> {
    return serial(name, () => step(name)).then(
      (state) => {
        problems.delete(name);
        if (state.current_job) currentRuns.set(name, state.current_job);
        return state;
      },
      (err: unknown) => {
        // A run that cannot be filed (a profile's cap, a missing agent) is tried again at every
        // step; the steward's view says why, so it is not only in the log.
        const message = deps.redact(err instanceof Error ? err.message : String(err));
        problems.set(name, { at: now().toISOString(), message });
        logger.warn({ err, steward: name }, 'steward step failed; it is tried again shortly');
        throw err;
      },
    );
  }

  /** Sets the timer for the steward's next scheduled time. */
  function arm(name: string): void {
    clearTimeout(timers.get(name));
    const config = deps.stewards[name];
    if (stopped || !config?.schedule) return;
    const next = nextTick(config.schedule, config.timezone, now());
    if (!next) return;
    // A timer may fire a little early; the step then finds nothing due, and re-arms.
    const delay = Math.min(Math.max(0, next.getTime() - now().getTime()) + 5, 2 ** 31 - 1);
    timers.set(
      name,
      setTimeout(() => {
        void stepSoon(name)
          .catch(() => undefined)
          .finally(() => arm(name));
      }, delay),
    );
  }

  async function view(name: string): Promise<StewardView> {
    const config = configOf(name);
    const state = await stateOf(name);
    const [spend, notes, recent] = await Promise.all([
      spendOf(name, config),
      store.getNotes(name),
      store.list({ tags: [`steward:${name}`], limit: LAST_RUNS, offset: 0 }),
    ]);
    const current = recent.jobs.find((j) => j.id === state.current_job);
    const running = current !== undefined && !isTerminal(current.status);
    const left = remaining(config, spend);
    const broke = left !== null && left < MIN_RUN_BUDGET_USD;
    const resets = periodResets(config.timezone, now());
    return {
      name,
      repo: config.repo,
      profile: config.profile ?? null,
      agent: config.agent ?? null,
      prompt: config.prompt,
      schedule: config.schedule ?? null,
      timezone: config.timezone,
      triggers: [...config.triggers],
      status: running ? 'running' : state.paused ? 'paused' : broke ? 'paused_budget' : 'idle',
      paused: state.paused,
      pending: state.pending,
      next_run: config.schedule
        ? (nextTick(config.schedule, config.timezone, now())?.toISOString() ?? null)
        : null,
      budget: {
        per_day: config.budget.per_day ?? null,
        per_month: config.budget.per_month ?? null,
        resets_at: broke
          ? (config.budget.per_day !== undefined &&
            spend.today_usd >= config.budget.per_day - MIN_RUN_BUDGET_USD &&
            !(
              config.budget.per_month !== undefined &&
              spend.month_usd >= config.budget.per_month - MIN_RUN_BUDGET_USD
            )
              ? resets.day
              : resets.month
            ).toISOString()
          : null,
      },
      spend,
      current_job: state.current_job,
      runs: state.runs,
      last_runs: recent.jobs.map((j) => ({
        id: j.id,
        status: j.status,
        created_at: j.created_at,
        updated_at: j.updated_at,
        cost_usd: j.cost_usd,
      })),
      notes,
      last_error: problems.get(name) ?? null,
    };
  }

  return {
    names: () => Object.keys(deps.stewards),

    async start() {
      stopped = false;
      // A steward's run that ends lets the next wake start. Every job's end passes here, so
      // this looks only at the runs the last steps saw, never at the store.
      unsubscribe = deps.bus.subscribe((event) => {
        if (event.type !== 'job.status' || !isTerminal(event.status)) return;
        for (const [name, jobId] of currentRuns)
          if (jobId === event.jobId) void stepSoon(name).catch(() => undefined);
      });
      for (const name of Object.keys(deps.stewards)) {
        await stepSoon(name).catch(() => undefined);
        arm(name);
      }
      reconcile = setInterval(() => {
        for (const name of Object.keys(deps.stewards)) void stepSoon(name).catch(() => undefined);
      }, deps.reconcileMs ?? 15_000);
    },

    async stop() {
      stopped = true;
      unsubscribe?.();
      clearInterval(reconcile);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.all([...chains.values()]);
    },

    view,
    reconcile: (name) => {
      configOf(name);
      return stepSoon(name);
    },
    async list() {
      return Promise.all(Object.keys(deps.stewards).map((name) => view(name)));
    },

    async pause(name) {
      configOf(name);
      await serial(name, () => update(name, (s) => (s.paused ? null : { paused: true })));
      return view(name);
    },

    async resume(name) {
      configOf(name);
      await serial(name, () => update(name, (s) => (s.paused ? { paused: false } : null)));
      await stepSoon(name);
      return view(name);
    },

    async wake(name, reason, by) {
      configOf(name);
      await serial(name, () =>
        update(name, (s) =>
          s.pending ? null : { pending: { reason, at: now().toISOString(), by } },
        ),
      );
      await stepSoon(name);
      return view(name);
    },

    async notesHistory(name, limit) {
      configOf(name);
      return store.notesHistory(name, limit);
    },

    async editNotes(name, text, by, base) {
      const config = configOf(name);
      const capped = deps.redact(capNotes(text, config.notes_max_bytes));
      for (;;) {
        const latest = await store.getNotes(name);
        if (base !== undefined && (latest?.version ?? 0) !== base)
          throw new ForgeError(
            'conflict',
            `the notes of "${name}" are at version ${latest?.version ?? 0}, not ${base}: read them again and edit the newer version (or leave out version to replace it)`,
          );
        const saved = await store.saveNotes(
          name,
          { text: capped, by, job_id: null },
          latest?.version ?? 0,
        );
        if (saved) return saved;
      }
    },
  };
}

/** Notes within `maxBytes` of UTF-8; refuses more rather than cutting a person's text. */
function capNotes(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes)
    throw new ForgeError(
      'invalid_request',
      `notes: ${bytes} bytes is more than the steward's notes_max_bytes (${maxBytes}); shorten them`,
    );
  return text;
}

function round(spend: StewardSpend): StewardSpend {
  return {
    today_usd: Math.round(spend.today_usd * 10_000) / 10_000,
    month_usd: Math.round(spend.month_usd * 10_000) / 10_000,
  };
}

/** The budget a steward's run would get by the submit rules: its profile's (the steward's, else
 *  the repository's), else the default, within the profile's cap or the limit. */
export function stewardJobBudget(
  config: Pick<ForgeConfig, 'profiles' | 'repos' | 'defaults' | 'limits'>,
  steward: StewardConfig,
): number {
  const profileName = steward.profile ?? config.repos[steward.repo]?.profile;
  const profile = profileName ? config.profiles[profileName] : undefined;
  const cap = profile?.budget_usd ?? config.limits.max_budget_usd;
  return Math.min(profile?.budget_usd ?? config.defaults.budget_usd, cap);
}
