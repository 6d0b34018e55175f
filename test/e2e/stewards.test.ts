/**
 * Stewards end to end: the real `forge serve` with a real git HTTP server, the scripted agent as
 * the steward. Every run is an ordinary job tagged `steward:<name>`; these tests read the runs
 * from GET /jobs and the steward from GET /stewards/{name}, and wait on what the server reports.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  SCRIPTED_AGENT,
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';
import { startGitServer, type GitServer } from '../support/git-http-server.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { stewardSchema } from '../../src/http/api-schemas.ts';
import { forgeSignature } from '../../src/stewards/wake-signature.ts';

const execFileAsync = promisify(execFile);
let git: GitServer;
let nats: NatsServer | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'forge-stewards-'));

beforeAll(async () => {
  git = await startGitServer();
  await git.createRepo('app');
});

afterAll(async () => {
  await stopAllForges();
  await nats?.stop();
  await git.close();
});

interface StewardJson {
  name: string;
  status: string;
  paused: boolean;
  pending: { reason: string; at: string } | null;
  runs: number;
  current_job: string | null;
  next_run: string | null;
  spend: { today_usd: number; month_usd: number };
  budget: { per_day: number | null; per_month: number | null; resets_at: string | null };
  notes: { version: number; text: string; by: string; job_id: string | null } | null;
}
interface NotesJson {
  version: number;
  text: string;
  by: string;
  job_id: string | null;
}
type Span = { job: string; start?: number; end?: number };

function config(stewards: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    agents: {
      script: { kind: 'command', command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
      // The scripted agent behind the Claude Code adapter, so its `cost` lines are charged.
      paid: { kind: 'claude-code', command: [process.execPath, SCRIPTED_AGENT] },
    },
    forges: {},
    // A repository from the configuration may be a local path: no forge, no credentials.
    repos: { app: { url: join(git.root, 'app.git'), base_branch: 'main' } },
    stewards,
    ...extra,
  };
}

async function steward(forge: ForgeProcess, name: string): Promise<StewardJson> {
  const res = await forge.api<StewardJson>('GET', `/stewards/${name}`);
  expect(res.status).toBe(200);
  // What the server answers is exactly what the API description says.
  expect(stewardSchema.safeParse(res.body).error).toBeUndefined();
  return res.body;
}

/** Polls the steward until `predicate` holds (the server's own state, not a timer). */
async function waitForSteward(
  forge: ForgeProcess,
  name: string,
  predicate: (s: StewardJson) => boolean,
  timeoutMs = 60_000,
): Promise<StewardJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await steward(forge, name);
    if (predicate(s)) return s;
    if (Date.now() > deadline)
      throw new Error(`steward ${name} never got there; last: ${JSON.stringify(s).slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runsOf(forge: ForgeProcess, name: string): Promise<JobJson[]> {
  const res = await forge.api<{ jobs: JobJson[] }>('GET', `/jobs?tags=steward:${name}&limit=100`);
  return res.body.jobs.reverse();
}

function runNumber(job: JobJson): number {
  return Number(/This is run (\d+),/.exec(String(job.task))?.[1]);
}

function spans(file: string): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const s = JSON.parse(line) as Span;
    const span = out.get(s.job) ?? { start: NaN, end: NaN };
    if (s.start) span.start = s.start;
    if (s.end) span.end = s.end;
    out.set(s.job, span);
  }
  return out;
}

/** No two runs' agents ran at once. A run with no end is either still going (the newest) or the
 *  one a test killed the server under (`killed`), and is left out of the comparison. */
function expectNoOverlap(file: string, killed?: string | null): void {
  const all = [...spans(file).entries()].sort((a, b) => a[1].start - b[1].start);
  const newest = all.at(-1)?.[0];
  for (const [job, span] of all)
    if (Number.isNaN(span.end) && job !== newest) expect(job, `run ${job} has no end`).toBe(killed);
  const ended = all.map(([, span]) => span).filter((span) => !Number.isNaN(span.end));
  for (let i = 1; i < ended.length; i++)
    expect(ended[i]!.start).toBeGreaterThanOrEqual(ended[i - 1]!.end);
  // A run still going began after every other had ended.
  const last = all.at(-1)?.[1];
  if (last && Number.isNaN(last.end))
    for (const span of ended) expect(last.start).toBeGreaterThanOrEqual(span.end);
}

describe('a steward on a one-second schedule', () => {
  let forge: ForgeProcess;
  const record = join(scratch, 'tick.jsonl');

  beforeAll(async () => {
    forge = await startForge({
      config: config({
        ticker: {
          repo: 'app',
          agent: 'script',
          schedule: '* * * * * *',
          // Each run reads the notes the run before it left, then appends its own line.
          prompt: `record ${record}; cat .forge-notes.md; append .forge-notes.md - run $FORGE_JOB_ID; sleep 1200`,
        },
      }),
    });
  });

  it('runs again and again, never two at once, each run reading the notes the last one left', async () => {
    await waitForSteward(forge, 'ticker', (s) => (s.notes?.version ?? 0) >= 3);
    const history = (
      await forge.api<{ history: NotesJson[] }>('GET', '/stewards/ticker/notes?history=100')
    ).body.history.reverse();
    // A run keeps its notes just before it ends: wait for the first three to have ended.
    const runs: JobJson[] = [];
    for (const version of history.slice(0, 3)) runs.push(await forge.waitFor(version.job_id!));
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(runs.map(runNumber)).toEqual([1, 2, 3]);
    expectNoOverlap(record);
    // One job per run number, in order.
    const numbers = (await runsOf(forge, 'ticker')).map(runNumber);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));

    for (const [i, version] of history.slice(0, 3).entries()) {
      const job = runs[i]!;
      // The agent appended to the notes it was given: every earlier run's line, then its own.
      expect(version.text).toBe(
        runs
          .slice(0, i + 1)
          .map((r) => `- run ${r.id}\n`)
          .join(''),
      );
      expect(version).toMatchObject({ by: `job:${job.id}`, job_id: job.id });
      // And it read them first: its log shows the earlier run's line before it wrote its own.
      const log = await (await fetch(`${forge.url}/jobs/${job.id}/log`)).text();
      if (i > 0) expect(log).toContain(`- run ${runs[i - 1]!.id}`);
      expect(log).toMatch(/notes kept as version \d+/);
    }
  }, 90_000);

  it('coalesces the ticks that come during a run into one next run', async () => {
    const s = await steward(forge, 'ticker');
    // A run lasts 1.2 s, so at least one tick passes during each; still, runs follow one another
    // without gaps of queued duplicates: the number of runs never exceeds the jobs filed.
    const runs = await runsOf(forge, 'ticker');
    expect(runs.length).toBe(s.runs);
    expect(
      runs.filter((j) => ['PENDING', 'RUNNING'].includes(j.status)).length,
    ).toBeLessThanOrEqual(1);
  });
});

describe('a steward woken by hand or by a signed call', () => {
  let forge: ForgeProcess;
  const secret = 'wake-secret-0123456789abcdef';

  beforeAll(async () => {
    forge = await startForge({
      config: config({
        waker: {
          repo: 'app',
          agent: 'script',
          triggers: ['webhook'],
          webhook_secret: secret,
          prompt: 'print woken; sleep 300',
        },
      }),
    });
  });

  it('pause holds a wake, resume lets it run, and wakes coalesce', async () => {
    const paused = await forge.api<StewardJson>('POST', '/stewards/waker/pause');
    expect(paused.body).toMatchObject({ status: 'paused', paused: true });
    const woken = await forge.api<StewardJson>('POST', '/stewards/waker/wake');
    expect(woken.status).toBe(202);
    const again = await forge.api<StewardJson>('POST', '/stewards/waker/wake');
    expect(again.body).toMatchObject({ status: 'paused', runs: 0 });
    expect(again.body.pending).toMatchObject({ reason: 'api' });

    const resumed = await forge.api<StewardJson>('POST', '/stewards/waker/resume');
    expect(resumed.body.paused).toBe(false);
    const after = await waitForSteward(forge, 'waker', (s) => s.runs === 1 && s.status === 'idle');
    expect(after.pending).toBeNull();
    // Two wakes while paused gave one run.
    const runs = await runsOf(forge, 'waker');
    expect(runs).toHaveLength(1);
    expect((await forge.job(runs[0]!.id)).status).toBe('SUCCEEDED');
  }, 60_000);

  it('takes a wake signed with the webhook secret and refuses a forged or stale one', async () => {
    const body = Buffer.from('{"why":"ci failed"}');
    const post = (headers: Record<string, string>) =>
      fetch(`${forge.url}/stewards/waker/wake`, { method: 'POST', headers, body });
    const now = Math.floor(Date.now() / 1000);

    const forged = await post({
      'x-forge-timestamp': String(now),
      'x-forge-signature': forgeSignature('not-the-secret-at-all', now, body),
    });
    expect(forged.status).toBe(401);
    const stale = await post({
      'x-forge-timestamp': String(now - 3600),
      'x-forge-signature': forgeSignature(secret, now - 3600, body),
    });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: string }).error).toMatch(/clock/);

    const before = (await steward(forge, 'waker')).runs;
    const signed = await post({
      'x-forge-timestamp': String(now),
      'x-forge-signature': forgeSignature(secret, now, body),
    });
    expect(signed.status).toBe(202);
    await waitForSteward(forge, 'waker', (s) => s.runs === before + 1 && s.status === 'idle');
    const runs = await runsOf(forge, 'waker');
    expect(String(runs.at(-1)!.task)).toContain('a signed wake-up call (webhook)');
  }, 60_000);

  it('is listed, shown, woken and given notes by the CLI', async () => {
    const cli = (...args: string[]) =>
      execFileAsync(
        process.execPath,
        [join(ROOT, 'bin', 'forge.js'), '--url', forge.url, ...args],
        {
          cwd: scratch,
        },
      );
    const table = await cli('stewards');
    expect(table.stdout).toMatch(/^NAME\s+STATUS\s+NEXT RUN/);
    expect(table.stdout).toMatch(/\nwaker\s+idle\s+—/);
    const notesFile = join(scratch, 'notes.md');
    writeFileSync(notesFile, '# waker\n- check the nightly build\n');
    expect((await cli('stewards', 'notes', 'waker', '--set', notesFile)).stdout).toMatch(
      /notes of waker: version \d+/,
    );
    expect((await cli('stewards', 'notes', 'waker')).stdout).toBe(
      '# waker\n- check the nightly build\n\n',
    );
    const shown = await cli('stewards', 'show', 'waker');
    expect(shown.stdout).toContain('waker  idle');
    expect(shown.stdout).toContain('- check the nightly build');
    const runs = (await steward(forge, 'waker')).runs;
    expect((await cli('stewards', 'wake', 'waker')).stdout).toMatch(/^waker (running|idle)/);
    await waitForSteward(forge, 'waker', (s) => s.runs === runs + 1 && s.status === 'idle');
    const missing = await cli('stewards', 'show', 'nobody').catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(missing).toMatchObject({ code: 3 });
    expect((missing as { stderr: string }).stderr).toContain('no steward named "nobody"');
  }, 60_000);

  it('answers an unknown steward with 404 naming the known ones', async () => {
    const res = await forge.api<{ error: string }>('POST', '/stewards/nobody/wake');
    expect(res.status).toBe(404);
    expect(res.body.error).toContain('waker');
  });
});

describe('a steward with a day budget', () => {
  it('stops starting runs when the day is spent; the last run gets only what is left', async () => {
    const forge = await startForge({
      config: config({
        spender: {
          repo: 'app',
          agent: 'paid',
          schedule: '* * * * * *',
          budget: { per_day: 1 },
          prompt: 'cost 0.4',
        },
      }),
    });
    // 0.4 + 0.4 leaves 0.2: the third run gets $0.2, spends 0.4 (cut off), and the day is over.
    const s = await waitForSteward(
      forge,
      'spender',
      (x) => x.status === 'paused_budget' && x.pending !== null,
    );
    const runs = await runsOf(forge, 'spender');
    expect(runs).toHaveLength(3);
    expect(s.runs).toBe(3);
    expect(runs.map((r) => r.budget_usd)).toEqual([1, 0.6, 0.2]);
    expect(s.spend.today_usd).toBeGreaterThanOrEqual(1);
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    expect(s.budget.resets_at).toBe(midnight.toISOString());
    // A scheduled wake is waiting (pending above) and still nothing starts.
    expect((await runsOf(forge, 'spender')).length).toBe(3);
  }, 90_000);
});

describe('stewards across a restart', () => {
  it('a scheduled run is neither lost nor doubled when the server is killed mid-run', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forge-steward-restart-'));
    const record = join(scratch, 'restart.jsonl');
    const cfg = config({
      nightly: {
        repo: 'app',
        agent: 'script',
        schedule: '*/2 * * * * *',
        prompt: `record ${record}; sleep 1500; print nightly`,
      },
    });
    let forge = await startForge({ dataDir, config: cfg });
    const running = await waitForSteward(
      forge,
      'nightly',
      (s) => s.runs >= 2 && s.status === 'running',
    );
    await forge.stop('SIGKILL');
    forge = await startForge({ dataDir, config: cfg });
    // The run cut off by the kill ends (interrupted) and the steward goes on from there.
    await waitForSteward(
      forge,
      'nightly',
      (s) => s.runs >= running.runs + 2 && s.status === 'idle',
    );
    const runs = await runsOf(forge, 'nightly');
    // One job per run number, none skipped or doubled.
    expect(runs.map(runNumber)).toEqual(runs.map((_, i) => i + 1));
    expect(runs.filter((r) => r.id === running.current_job)).toHaveLength(1);
    // The ticks missed while it was down gave one run at most, not one per tick.
    const catchUps = runs.filter((r) => String(r.task).includes('missed while Forge was down'));
    expect(catchUps.length).toBeLessThanOrEqual(1);
    expectNoOverlap(record, running.current_job);
    await forge.stop();
  }, 90_000);
});

describe('stewards on two NATS replicas', () => {
  it('one run per tick, whichever replica starts it', async () => {
    nats = await startNatsServer();
    const record = join(scratch, 'nats.jsonl');
    const cfg = config(
      {
        pulse: {
          repo: 'app',
          agent: 'script',
          schedule: '*/2 * * * * *',
          prompt: `record ${record}; print pulse`,
        },
      },
      { store: { kind: 'nats', url: nats.url, prefix: 'stewards' } },
    );
    const a = await startForge({ config: cfg });
    const b = await startForge({ config: cfg });
    await waitForSteward(a, 'pulse', (s) => s.runs >= 4 && s.status === 'idle');
    const runs = await runsOf(b, 'pulse');
    expect(runs.map(runNumber)).toEqual(runs.map((_, i) => i + 1));
    // Each run is for its own scheduled time: no tick gave two runs.
    const ticks = runs.map((r) => /at (\S+)\.\n/.exec(String(r.task))?.[1]);
    expect(new Set(ticks).size).toBe(runs.length);
    expectNoOverlap(record);
  }, 90_000);
});
