/**
 * The real Claude Code CLI (the pinned devDependency) run by the real `forge serve`, its model API
 * replaced by scripted servers on loopback (test/support/fake-anthropic.ts). One Forge serves all
 * tests; each scenario has its own agent pointing at its own scripted server.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startFakeAnthropic,
  type FakeAnthropic,
  type FakeAnthropicScript,
  type ScriptedReply,
  type ScriptedUsage,
} from '../support/fake-anthropic.ts';
import {
  ROOT,
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';

const CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
const MODEL = 'claude-sonnet-4-5';
/** What Claude Code 2.1.330 charges for MODEL; configured as `prices` so the running estimate and
 *  the CLI's total agree. */
const PRICE = { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 };
const SECRET = 'server-only-secret-7d1f0c';
const RUN_TIMEOUT = 90_000;

const tool = (
  name: string,
  input: Record<string, unknown>,
  usage?: ScriptedUsage,
): ScriptedReply => ({ content: [{ type: 'tool_use', name, input }], usage });
const text = (t: string, usage?: ScriptedUsage): ScriptedReply => ({
  content: [{ type: 'text', text: t }],
  usage,
});

const WORK: ScriptedReply[] = [
  {
    content: [
      { type: 'text', text: 'Writing the greeting.' },
      {
        type: 'tool_use',
        name: 'Write',
        input: { file_path: 'greeting.txt', content: 'hello from claude\n' },
      },
    ],
    usage: { input_tokens: 1200, output_tokens: 80, cache_read_input_tokens: 3000 },
  },
  tool(
    'Bash',
    { command: 'cat greeting.txt && echo checked', description: 'check' },
    { input_tokens: 1500, output_tokens: 40 },
  ),
  text('Wrote greeting.txt and checked it.', { input_tokens: 1600, output_tokens: 120 }),
];
/** Only the parent's conversation holds this command: not its task, nor its summary. */
const PARENT_MARK = 'echo parent mark 5e1a';
const FOLLOWED: ScriptedReply[] = [
  tool('Bash', { command: PARENT_MARK }),
  text('parent done'),
  text('follow-up resumed'),
];
const BIG: ScriptedUsage = { input_tokens: 100_000, output_tokens: 10_000 };

const SCRIPTS: Record<string, FakeAnthropicScript> = {
  work: { replies: WORK },
  // Turn two stalls after announcing its input: only Forge's running estimate can stop it there.
  budget: {
    replies: [
      tool('Bash', { command: 'echo one' }, BIG),
      { ...tool('Bash', { command: 'echo two' }, BIG), delay_ms: 30_000 },
      text('done'),
    ],
  },
  // Without Forge's estimate in the way (tiny configured prices), the CLI's own cap must stop it.
  capped: {
    replies: [
      tool('Bash', { command: 'echo one' }, BIG),
      tool('Bash', { command: 'echo two' }, BIG),
      text('done'),
    ],
  },
  // Turn two stalls: the inactivity watchdog kills the attempt, and the retry resumes the session.
  // Resuming, the CLI closes the cut-off turn with a synthetic assistant "No response requested.",
  // so the retry's first request holds two assistant turns.
  stalled: {
    replies: [
      tool('Bash', { command: 'echo before the stall' }),
      { ...text('never sent'), delay_ms: 60_000 },
      text('resumed'),
    ],
  },
  // Run under the `restricted` profile: an MCP tool it allows, then a Bash command it does not
  // (one that needs permission: read-only commands like `echo` are never refused).
  profiled: {
    replies: [
      tool('mcp__probe__ping', {}),
      tool('Bash', { command: 'touch denied.txt' }),
      text('profile respected'),
    ],
  },
  turns: { replies: [1, 2, 3, 4, 5].map((n) => tool('Bash', { command: `echo turn ${n}` })) },
  unauthorized: {
    replies: WORK,
    error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' },
  },
  // CLAUDE_CODE_MAX_RETRIES=1: the first attempt's request and its one retry fail, then it works.
  overloaded: {
    replies: [text('recovered')],
    error: { status: 529, type: 'overloaded_error', message: 'Overloaded', times: 2 },
  },
  // Events longer than the runner's 64 KiB line limit reach the parser in pieces.
  large: {
    replies: [
      tool('Write', { file_path: 'big.txt', content: 'x'.repeat(150_000) }),
      text('wrote big.txt'),
    ],
  },
  environment: { replies: [tool('Bash', { command: 'env | sort' }), text('listed')] },
  // A parent's two turns, then the reply a follow-up gets when its conversation holds them
  // (resumed); a follow-up started fresh gets the parent's turns again instead.
  followed: { replies: FOLLOWED },
  orphaned: { replies: FOLLOWED },
  huge: { replies: [text('read it all')] },
};

/** 100,000 characters of two- and three-byte UTF-8: 250,000 bytes, past the 128 KiB a single
 *  command-line argument may hold, and exactly the longest task the API takes. */
const HUGE_TASK = 'é漢'.repeat(50_000);

/** A minimal MCP server on stdio with one tool, `ping`, answering "pong". */
const MCP_SERVER = `
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const result =
    m.method === 'initialize' ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'probe', version: '1.0.0' } }
    : m.method === 'tools/list' ? { tools: [{ name: 'ping', description: 'Answers pong', inputSchema: { type: 'object', properties: {} } }] }
    : m.method === 'tools/call' ? { content: [{ type: 'text', text: 'pong' }] }
    : {};
  send({ jsonrpc: '2.0', id: m.id, result });
});`;

let forge: ForgeProcess;
const fakes: Record<string, FakeAnthropic> = {};

function agent(fake: FakeAnthropic): Record<string, unknown> {
  return {
    kind: 'claude-code',
    command: [CLAUDE],
    model: MODEL,
    prices: { [MODEL]: PRICE },
    env: {
      ANTHROPIC_BASE_URL: fake.url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CODE_MAX_RETRIES: '1',
    },
  };
}

beforeAll(async () => {
  for (const [name, script] of Object.entries(SCRIPTS))
    fakes[name] = await startFakeAnthropic(script);
  const agents: Record<string, unknown> = Object.fromEntries(
    Object.entries(fakes).map(([name, fake]) => [name, agent(fake)]),
  );
  agents.capped = {
    ...(agents.capped as object),
    prices: { [MODEL]: { input_per_mtok: 0.001, output_per_mtok: 0.001 } },
  };
  agents.missing = { kind: 'claude-code', command: ['/nonexistent/bin/claude'] };
  forge = await startForge({
    config: {
      agents,
      profiles: {
        restricted: {
          agent: 'profiled',
          system_prompt: 'FORGE-PROFILE-NOTE: keep changes small.',
          allowed_tools: ['Write', 'mcp__probe__ping'],
          disallowed_tools: ['WebFetch'],
          mcp_servers: { probe: { command: process.execPath, args: ['-e', MCP_SERVER] } },
        },
      },
      defaults: {
        agent: 'work',
        max_retries: 0,
        inactivity_timeout: '60s',
        max_duration: '2m',
        budget_usd: 5,
      },
    },
    env: { SECRET_TOKEN: SECRET },
  });
});
afterAll(async () => {
  await stopAllForges();
  await Promise.all(Object.values(fakes).map((f) => f.close()));
});

async function run(
  agentName: string,
  task: string,
  extra: Record<string, unknown> = {},
): Promise<JobJson> {
  const id = await forge.submit(task, { agent: agentName, ...extra });
  return forge.waitFor(id, undefined, RUN_TIMEOUT - 10_000);
}

/** Files a follow-up of `parentId` and waits for it to end. */
async function followUp(parentId: string, message: string): Promise<JobJson> {
  const res = await forge.api<{ id: string; parent_id: string }>(
    'POST',
    `/jobs/${parentId}/follow-up`,
    { message },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.parent_id).toBe(parentId);
  return forge.waitFor(res.body.id, undefined, RUN_TIMEOUT - 10_000);
}

/** The main-conversation requests' message lists, from the `from`th on. */
function conversations(fake: FakeAnthropic, from = 0): string[] {
  return fake.requests
    .filter((r) => r.main)
    .slice(from)
    .map((r) => JSON.stringify((r.body as { messages: unknown }).messages));
}

/** Reads the job's SSE stream to its end (it ends when the job is terminal): the output lines. */
async function streamedLines(id: string): Promise<string[]> {
  const body = await (await fetch(`${forge.url}/jobs/${id}/events`)).text();
  return body
    .split('\n\n')
    .filter((e) => e.includes('event: output'))
    .map((e) => (JSON.parse(/^data: (.*)$/m.exec(e)![1]!) as { line: string }).line);
}

function costOf(usage: ScriptedUsage): number {
  return (
    (usage.input_tokens * PRICE.input_per_mtok +
      usage.output_tokens * PRICE.output_per_mtok +
      (usage.cache_read_input_tokens ?? 0) * PRICE.cached_input_per_mtok) /
    1e6
  );
}

describe('claude-code agent through forge serve', () => {
  it(
    'writes a file and runs a command with its tools; the stream shows them as readable lines and cost/turns match the usage',
    async () => {
      const id = await forge.submit('write a greeting and check it', { agent: 'work' });
      const [lines, job] = await Promise.all([
        streamedLines(id),
        forge.waitFor(id, undefined, 80_000),
      ]);
      expect(job.status).toBe('SUCCEEDED');
      const workspace = join(forge.dataDir, 'jobs', id, 'attempt-1', 'workspace');
      expect(readFileSync(join(workspace, 'greeting.txt'), 'utf8')).toBe('hello from claude\n');

      expect(lines).toContain('Writing the greeting.');
      expect(lines).toContain('→ Write greeting.txt');
      expect(lines).toContain('→ Bash: cat greeting.txt && echo checked');
      expect(lines.filter((l) => l === '← ok')).toHaveLength(2);
      expect(lines).toContain('Wrote greeting.txt and checked it.');
      expect(lines.some((l) => l.startsWith('{'))).toBe(false);
      const log = (await forge.api<string>('GET', `/jobs/${id}/log`)).body;
      expect(log).toContain('→ Write greeting.txt\n');

      const expected = WORK.reduce((sum, r) => sum + costOf(r.usage!), 0);
      const [attempt] = job.attempts;
      expect(attempt!.turns).toBe(3);
      expect(attempt!.cost_usd).toBeCloseTo(expected, 10);
      expect(job.cost_usd).toBeCloseTo(expected, 10);
      expect(attempt!.summary).toBe('Wrote greeting.txt and checked it.');
      expect(attempt!.session_id).toMatch(/^[0-9a-f-]{36}$/);
      // The model and spending cap reached the CLI.
      const turns = fakes.work!.requests.filter((r) => r.main);
      expect(turns).toHaveLength(3);
      expect((turns[0]!.body as { model: string }).model).toBe(MODEL);
    },
    RUN_TIMEOUT,
  );

  it(
    'fails a job whose usage passes its budget as budget_exceeded, without a retry, with the cost recorded',
    async () => {
      const job = await run('budget', 'spend a lot', { budget_usd: 0.5, max_retries: 2 });
      expect(job.status).toBe('FAILED');
      expect(job.failure?.category).toBe('budget_exceeded');
      expect(job.attempts).toHaveLength(1);
      // Turn one costs $0.45; the start of turn two adds $0.30 of input (and the one output token
      // message_start announces), which takes the estimate over the budget: Forge stops the agent
      // mid-turn, before the CLI's own cap (which only checks between turns) would.
      expect(job.failure?.message).toContain('budget of $0.5');
      expect(job.attempts[0]!.cost_usd).toBeCloseTo(0.45 + 0.3 + 15 / 1e6, 10);
      expect(job.cost_usd).toBeCloseTo(0.45 + 0.3 + 15 / 1e6, 10);
      expect(job.attempts[0]!.output).not.toContain('✗ Claude Code stopped');
    },
    RUN_TIMEOUT,
  );

  it(
    'passes the remaining budget to the CLI, whose own cap ends the run as budget_exceeded',
    async () => {
      const job = await run('capped', 'spend a lot', { budget_usd: 0.5, max_retries: 2 });
      expect(job.status).toBe('FAILED');
      expect(job.failure?.category).toBe('budget_exceeded');
      expect(job.attempts).toHaveLength(1);
      expect(job.attempts[0]!.output).toContain(
        '✗ Claude Code stopped (budget_exceeded) after 2 turns · $0.9000',
      );
      // The CLI checks between turns: it overshoots to $0.90 on a $0.50 cap.
      expect(job.cost_usd).toBeCloseTo(0.9, 10);
    },
    RUN_TIMEOUT,
  );

  it(
    'resumes the interrupted session on the retry after an inactivity kill',
    async () => {
      // Long enough that a retry's CLI start on a busy machine is not taken for a stall too.
      const job = await run('stalled', 'work slowly', { inactivity_timeout: '8s', max_retries: 1 });
      expect(job.status).toBe('SUCCEEDED');
      expect(job.attempts.map((a) => a.failure?.category ?? null)).toEqual(['inactivity', null]);
      const sessionId = job.attempts[0]!.session_id as string;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(job.attempts[1]!.summary).toBe('resumed');
      // The retry's conversation carries turn one of the first attempt.
      const last = fakes.stalled!.requests.filter((r) => r.main).at(-1)!;
      expect(JSON.stringify(last.body)).toContain('echo before the stall');
      const log = (await forge.api<string>('GET', `/jobs/${job.id}/log`)).body;
      expect(log).toContain('[forge] resuming the agent session of attempt 1\n');
    },
    RUN_TIMEOUT,
  );

  it(
    "resumes the parent's session in a follow-up: the model gets the parent's conversation",
    async () => {
      const parent = await run('followed', 'leave a mark');
      expect(parent.status).toBe('SUCCEEDED');
      expect(parent.attempts[0]!.session_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(conversations(fakes.followed!).join()).toContain(PARENT_MARK);
      const seen = fakes.followed!.requests.filter((r) => r.main).length;

      const child = await followUp(parent.id, 'now say what you did');
      expect(child.status, JSON.stringify(child.failure)).toBe('SUCCEEDED');
      expect(child.attempts[0]!.summary).toBe('follow-up resumed');
      const [first] = conversations(fakes.followed!, seen);
      expect(first).toContain(PARENT_MARK);
      expect(first).toContain('now say what you did');
      const log = (await forge.api<string>('GET', `/jobs/${child.id}/log`)).body;
      expect(log).toContain(`[forge] resuming the agent session of job ${parent.id}\n`);
    },
    RUN_TIMEOUT * 2,
  );

  it(
    "starts a follow-up afresh, saying so, when the parent's transcript is gone",
    async () => {
      const parent = await run('orphaned', 'leave a mark');
      expect(parent.status).toBe('SUCCEEDED');
      const home = join(forge.dataDir, 'jobs', parent.id, 'attempt-1', 'private', 'home');
      expect(existsSync(join(home, '.claude', 'projects'))).toBe(true);
      rmSync(join(home, '.claude', 'projects'), { recursive: true });
      const seen = fakes.orphaned!.requests.filter((r) => r.main).length;

      const child = await followUp(parent.id, 'now say what you did');
      expect(child.status, JSON.stringify(child.failure)).toBe('SUCCEEDED');
      // A fresh conversation gets the script from its start: the parent's turns again.
      expect(child.attempts[0]!.summary).toBe('parent done');
      const [first] = conversations(fakes.orphaned!, seen);
      expect(first).not.toContain(PARENT_MARK);
      expect(first).toContain('now say what you did');
      const log = (await forge.api<string>('GET', `/jobs/${child.id}/log`)).body;
      expect(log).toContain(
        `[forge] starting a fresh agent session: the session transcript of job ${parent.id} is not on this server`,
      );
      expect(log).not.toContain('No conversation found');
    },
    RUN_TIMEOUT * 2,
  );

  it(
    'runs with the profile: its system prompt, MCP servers and tool lists reach the CLI',
    async () => {
      const id = await forge.submit('use the probe', { agent: 'profiled', profile: 'restricted' });
      const [lines, job] = await Promise.all([
        streamedLines(id),
        forge.waitFor(id, undefined, 80_000),
      ]);
      expect(job.status).toBe('SUCCEEDED');
      expect(lines[1]).toMatch(/ · mcp: probe connected$/);
      expect(lines).toContain('→ mcp__probe__ping');
      expect(lines).toContain('→ Bash: touch denied.txt');
      expect(
        lines.some((l) => l.startsWith('← error: Permission to use Bash has been denied')),
      ).toBe(true);
      expect(
        existsSync(join(forge.dataDir, 'jobs', id, 'attempt-1', 'workspace', 'denied.txt')),
      ).toBe(false);
      const [first, , last] = fakes
        .profiled!.requests.filter((r) => r.main)
        .map((r) => r.body as { system: unknown; tools: Array<{ name: string }> });
      expect(JSON.stringify(first!.system)).toContain('FORGE-PROFILE-NOTE: keep changes small.');
      expect(first!.tools.map((t) => t.name)).not.toContain('WebFetch');
      expect(JSON.stringify(last)).toContain('pong');
    },
    RUN_TIMEOUT,
  );

  it(
    'fails a job that runs out of turns as max_turns, without a retry',
    async () => {
      const job = await run('turns', 'loop forever', { max_turns: 2, max_retries: 2 });
      expect(job.status).toBe('FAILED');
      expect(job.failure?.category).toBe('max_turns');
      expect(job.failure?.message).toContain('max_turns');
      expect(job.attempts).toHaveLength(1);
    },
    RUN_TIMEOUT,
  );

  it(
    'fails a job whose credentials the model API rejects as auth, naming the credential to set',
    async () => {
      const job = await run('unauthorized', 'anything', { max_retries: 2 });
      expect(job.status).toBe('FAILED');
      expect(job.failure?.category).toBe('auth');
      expect(job.failure?.message).toContain('ANTHROPIC_API_KEY');
      expect(job.failure?.message).toContain('HTTP 401');
      expect(job.attempts).toHaveLength(1);
    },
    RUN_TIMEOUT,
  );

  it(
    'retries a job whose model API was overloaded, and the retry succeeds',
    async () => {
      const job = await run('overloaded', 'try again', { max_retries: 1 });
      expect(job.status).toBe('SUCCEEDED');
      expect(job.attempts).toHaveLength(2);
      expect(job.attempts[0]!.failure?.category).toBe('agent_error');
      expect(job.attempts[0]!.failure?.message).toContain('overloaded');
      expect(job.attempts[1]!.summary).toBe('recovered');
    },
    RUN_TIMEOUT,
  );

  it(
    'fails a job whose claude binary is missing as agent_not_found with an install hint, without a retry',
    async () => {
      const job = await run('missing', 'anything', { max_retries: 2 });
      expect(job.status).toBe('FAILED');
      expect(job.failure?.category).toBe('agent_not_found');
      expect(job.failure?.message).toContain('@anthropic-ai/claude-code');
      expect(job.attempts).toHaveLength(1);
    },
    RUN_TIMEOUT,
  );

  it(
    'shows a tool call whose event is longer than a log line (a large Write) as one readable line',
    async () => {
      const job = await run('large', 'write a big file');
      expect(job.status).toBe('SUCCEEDED');
      expect(
        readFileSync(
          join(forge.dataDir, 'jobs', job.id, 'attempt-1', 'workspace', 'big.txt'),
          'utf8',
        ),
      ).toHaveLength(150_000);
      const log = (await forge.api<string>('GET', `/jobs/${job.id}/log`)).body;
      expect(log).toContain('\n→ Write big.txt\n← ok\n');
      expect(log).not.toContain('xxxxxxxx');
    },
    RUN_TIMEOUT,
  );

  it(
    'hands a 100,000-character non-ASCII task to the CLI whole, beyond what one argument can hold',
    async () => {
      const job = await run('huge', HUGE_TASK);
      expect(job.status, JSON.stringify(job.failure)).toBe('SUCCEEDED');
      expect(job.attempts[0]!.summary).toBe('read it all');
      const [first] = fakes.huge!.requests.filter((r) => r.main);
      expect(
        JSON.stringify(first!.body).includes(HUGE_TASK),
        'the whole task reached the model',
      ).toBe(true);
    },
    RUN_TIMEOUT,
  );

  it(
    'gives the agent its own HOME and credentials but none of the server environment',
    async () => {
      const job = await run('environment', 'list the environment');
      expect(job.status).toBe('SUCCEEDED');
      const env = JSON.stringify(fakes.environment!.requests.map((r) => r.body));
      expect(env).toContain(`ANTHROPIC_BASE_URL=${fakes.environment!.url}`);
      expect(env).toContain(
        `HOME=${join(forge.dataDir, 'jobs', job.id, 'attempt-1', 'private', 'home')}`,
      );
      expect(env).toContain('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1');
      expect(env).not.toContain(SECRET);
      expect(env).not.toContain('SECRET_TOKEN');
      expect(existsSync(join(forge.dataDir, 'jobs', job.id, 'attempt-1', 'private', 'run'))).toBe(
        true,
      );
    },
    RUN_TIMEOUT,
  );

  it(
    'doctor reports the CLI version and which credentials are set, never their values',
    async () => {
      const out = await new Promise<string>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, 'bin', 'forge.js'), 'doctor', '--config', forge.configPath],
          { env: { PATH: process.env.PATH ?? '' } },
          (_err, stdout) => resolve(stdout),
        );
      });
      expect(out).toMatch(/^ok\s+agent work: .*claude 2\.1\.330 \(Claude Code\)$/m);
      expect(out).toMatch(/^ok\s+agent work credentials: set: .*ANTHROPIC_API_KEY/m);
      expect(out).toMatch(/^FAIL\s+agent missing: .*@anthropic-ai\/claude-code/m);
      expect(out).not.toContain('test-key');
    },
    RUN_TIMEOUT,
  );
});
