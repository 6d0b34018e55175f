// The real Codex CLI (node_modules/.bin/codex) run by the real `forge serve`, its model replaced
// by the scripted Responses API in test/support/fake-openai.ts. Codex retries 401 and 5xx answers
// itself (five times, with backoff), so these jobs take seconds: timeouts are generous.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type FakeReply } from '../support/fake-openai.ts';
import {
  ROOT,
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';

const CODEX = join(ROOT, 'node_modules', '.bin', 'codex');
const PRICE = { input_per_mtok: 2, output_per_mtok: 10, cached_input_per_mtok: 0.5 };
const JOB_TIMEOUT_MS = 90_000;

let fakes: FakeOpenAI[] = [];
afterEach(async () => {
  await stopAllForges();
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});
afterAll(stopAllForges);

/** A forge whose `codex` agent talks to a fresh scripted model. */
async function forgeWithCodex(
  script: FakeReply[],
  command: string[] = [CODEX],
): Promise<{ forge: ForgeProcess; fake: FakeOpenAI }> {
  const fake = await startFakeOpenAI(script);
  fakes.push(fake);
  const forge = await startForge({
    config: {
      defaults: { agent: 'codex', max_retries: 0, inactivity_timeout: '60s', max_duration: '2m' },
      agents: {
        codex: {
          kind: 'codex',
          command,
          model: 'gpt-test',
          provider: { base_url: `${fake.url}/v1`, env_key: 'FAKE_OPENAI_KEY' },
          prices: { 'gpt-test': PRICE },
        },
      },
    },
    env: { FAKE_OPENAI_KEY: 'test-key-not-secret' },
  });
  return { forge, fake };
}

async function runJob(
  forge: ForgeProcess,
  task: string,
  extra: Record<string, unknown> = {},
): Promise<JobJson> {
  const id = await forge.submit(task, { agent: 'codex', ...extra });
  return forge.waitFor(id, undefined, JOB_TIMEOUT_MS);
}

describe('codex through forge serve', () => {
  it('runs a shell command that writes a file; the log reads as text; cost and turns match the usage', async () => {
    const { forge, fake } = await forgeWithCodex([
      {
        items: [
          { type: 'message', text: 'Writing the file now.' },
          { type: 'shell', command: 'echo made by codex > made.txt && echo wrote it' },
        ],
        usage: { input_tokens: 1000, cached_input_tokens: 200, output_tokens: 100 },
      },
      {
        items: [{ type: 'message', text: 'Wrote made.txt.' }],
        usage: { input_tokens: 2000, output_tokens: 50 },
      },
    ]);
    const job = await runJob(forge, 'write made.txt');
    expect(job.status, JSON.stringify(job.failure)).toBe('SUCCEEDED');
    const attempt = job.attempts[0]!;
    expect(
      readFileSync(
        join(forge.dataDir, 'jobs', job.id, 'attempt-1', 'workspace', 'made.txt'),
        'utf8',
      ),
    ).toBe('made by codex\n');

    const log = (await forge.api<string>('GET', `/jobs/${job.id}/log`)).body;
    expect(log).toContain('\n$ echo made by codex > made.txt && echo wrote it\n');
    expect(log).toContain('\n  wrote it\n');
    expect(log).toContain('Writing the file now.\n');
    expect(log).not.toContain('"type":"item.');

    // Codex sums the turn's two responses: 3,000 input (200 cached) and 150 output tokens.
    const expected =
      ((3000 - 200) * PRICE.input_per_mtok +
        200 * PRICE.cached_input_per_mtok +
        150 * PRICE.output_per_mtok) /
      1e6;
    expect(attempt.cost_usd as number).toBeCloseTo(expected, 12);
    expect(job.cost_usd as number).toBeCloseTo(expected, 12);
    expect(attempt.turns).toBe(1);
    expect(attempt.summary).toBe('Wrote made.txt.');
    expect(attempt.session_id).toMatch(/^[0-9a-f-]{36}$/);

    const calls = fake.requests.filter((r) => r.path === '/v1/responses');
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers.authorization).toBe('Bearer test-key-not-secret');
  }, 120_000);

  it('hands a 100,000-character non-ASCII task to codex whole, beyond what one argument can hold', async () => {
    const { forge, fake } = await forgeWithCodex([
      { items: [{ type: 'message', text: 'Read it all.' }] },
    ]);
    const task = 'é漢'.repeat(50_000);
    const job = await runJob(forge, task);
    expect(job.status, JSON.stringify(job.failure)).toBe('SUCCEEDED');
    expect(job.attempts[0]!.summary).toBe('Read it all.');
    const first = fake.requests.find((r) => r.path === '/v1/responses');
    expect(JSON.stringify(first?.body).includes(task), 'the whole task reached the model').toBe(
      true,
    );
  }, 120_000);

  it('stops a job whose usage passes its budget: FAILED budget_exceeded, not retried', async () => {
    const { forge } = await forgeWithCodex([
      {
        items: [{ type: 'message', text: 'That was expensive.' }],
        usage: { input_tokens: 1_000_000, output_tokens: 100_000 },
      },
    ]);
    const job = await runJob(forge, 'spend a lot', { budget_usd: 0.5, max_retries: 2 });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('budget_exceeded');
    expect(job.attempts).toHaveLength(1);
    // $2 of input and $1 of output.
    expect(job.attempts[0]!.cost_usd as number).toBeCloseTo(3, 9);
  }, 120_000);

  it('fails with auth naming the variable to set when the model API answers 401', async () => {
    const { forge } = await forgeWithCodex([{ status: 401 }]);
    const job = await runJob(forge, 'anything', { max_retries: 2 });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('auth');
    expect(job.failure?.message).toContain('FAKE_OPENAI_KEY');
    expect(job.attempts).toHaveLength(1);
  }, 120_000);

  it('retries an attempt that failed because the model API was overloaded', async () => {
    const { forge } = await forgeWithCodex([{ status: 503 }]);
    const job = await runJob(forge, 'anything', { max_retries: 1 });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('agent_error');
    expect(job.failure?.message).toMatch(/rate-limited or unavailable/);
    expect(job.attempts).toHaveLength(2);
  }, 120_000);

  describe('follow-ups', () => {
    /** Only the parent's conversation holds this command: not its task, nor its summary. */
    const MARK = 'echo parent mark 5e1a';
    // A fresh conversation gets the first two replies; one that holds them gets the third.
    const SCRIPT: FakeReply[] = [
      { items: [{ type: 'shell', command: MARK }] },
      { items: [{ type: 'message', text: 'parent done' }] },
      { items: [{ type: 'message', text: 'follow-up resumed' }] },
    ];

    async function followUp(forge: ForgeProcess, parentId: string): Promise<JobJson> {
      const res = await forge.api<{ id: string }>('POST', `/jobs/${parentId}/follow-up`, {
        message: 'now say what you did',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return forge.waitFor(res.body.id, undefined, JOB_TIMEOUT_MS);
    }

    const turns = (fake: FakeOpenAI) =>
      fake.requests.filter((r) => r.path === '/v1/responses').map((r) => JSON.stringify(r.body));

    it("resume the parent's session: the model gets the parent's conversation", async () => {
      const { forge, fake } = await forgeWithCodex(SCRIPT);
      const parent = await runJob(forge, 'leave a mark');
      expect(parent.status, JSON.stringify(parent.failure)).toBe('SUCCEEDED');
      const seen = turns(fake).length;

      const child = await followUp(forge, parent.id);
      expect(child.status, JSON.stringify(child.failure)).toBe('SUCCEEDED');
      expect(child.attempts[0]!.summary).toBe('follow-up resumed');
      const first = turns(fake)[seen]!;
      expect(first).toContain(MARK);
      expect(first).toContain('now say what you did');
      const log = (await forge.api<string>('GET', `/jobs/${child.id}/log`)).body;
      expect(log).toContain(`[forge] resuming the agent session of job ${parent.id}\n`);
    }, 180_000);

    it("start afresh, saying so, when the parent's session is gone", async () => {
      const { forge, fake } = await forgeWithCodex(SCRIPT);
      const parent = await runJob(forge, 'leave a mark');
      expect(parent.status, JSON.stringify(parent.failure)).toBe('SUCCEEDED');
      const sessions = join(
        forge.dataDir,
        'jobs',
        parent.id,
        'attempt-1',
        'private',
        'codex-home',
        'sessions',
      );
      expect(existsSync(sessions)).toBe(true);
      rmSync(sessions, { recursive: true });
      const seen = turns(fake).length;

      const child = await followUp(forge, parent.id);
      expect(child.status, JSON.stringify(child.failure)).toBe('SUCCEEDED');
      expect(child.attempts[0]!.summary).toBe('parent done');
      expect(turns(fake)[seen]).not.toContain(MARK);
      const log = (await forge.api<string>('GET', `/jobs/${child.id}/log`)).body;
      expect(log).toContain(
        `[forge] starting a fresh agent session: the session transcript of job ${parent.id} is not on this server`,
      );
    }, 180_000);
  });

  it('fails with agent_not_found naming @openai/codex when the binary is missing, without retrying', async () => {
    const missing = join(ROOT, 'node_modules', '.bin', 'codex-is-not-here');
    expect(existsSync(missing)).toBe(false);
    const { forge, fake } = await forgeWithCodex(
      [{ items: [{ type: 'message', text: 'unreachable' }] }],
      [missing],
    );
    const job = await runJob(forge, 'anything', { max_retries: 2 });
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('agent_not_found');
    expect(job.failure?.message).toContain('@openai/codex');
    expect(job.attempts).toHaveLength(1);
    expect(fake.requests).toHaveLength(0);
  }, 60_000);
});
