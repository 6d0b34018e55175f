// Goose cannot be installed where these tests run, so the adapter is tested on the command line it
// builds and on recorded-style output. The fixtures in test/fixtures/goose/ follow goose's
// documented non-interactive text output (block/goose crates/goose-cli/src/session/output.rs:
// display_session_info, print_tool_header, print_params; markdown printed raw off a terminal) and
// its error texts (agents/agent.rs "Ran into this error: …", providers' "Authentication failed…",
// MAX_TURNS_MESSAGE). plain-run.txt carries the colour codes goose emits when colour is forced.
// The flags are those of `goose run` in goose's CLI reference (documentation/docs/guides/
// goose-cli-commands.md) and crates/goose-cli/src/cli.rs.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../agent-config.ts';
import type { Job } from '../../../domain/job.ts';
import type { AgentContext, AgentReport, AgentSettings } from '../../../ports/agent.ts';
import { createGooseAgent } from './goose-agent.ts';
import { createGooseOutputParser } from './goose-output-parser.ts';
import { agentSettings } from '../../../../test/support/agent-settings.ts';

type GooseConfig = Extract<AgentConfig, { kind: 'goose' }>;
const FIXTURES = resolve(import.meta.dirname, '../../../../test/fixtures/goose');
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forge-goose-'));
  dirs.push(dir);
  return dir;
}

function agent(
  config: Partial<GooseConfig> = {},
  credentials: Record<string, string> = {},
  pathEnv = '',
) {
  return createGooseAgent({
    name: 'goose',
    config: { kind: 'goose', command: ['goose'], env: {}, ...config },
    credentials,
    pathEnv,
  });
}

function context(settings: Partial<AgentSettings> = {}): AgentContext {
  const privateDir = tempDir();
  return {
    job: {} as Job,
    attempt: 1,
    prompt: 'Fix the failing test',
    promptFile: join(privateDir, 'prompt.txt'),
    workspace: '/srv/ws',
    privateDir,
    remainingBudgetUsd: null,
    resumeSessionId: null,
    settings: agentSettings(settings),
  };
}

/** Feeds lines through a parser the way the core does: reports merged, `finish` last. */
function parse(
  text: string,
  maxTurns: number | null = null,
  provider: string | null = 'anthropic',
) {
  const parser = createGooseOutputParser({ agent: 'goose', provider, maxTurns });
  const display: string[] = [];
  const report: AgentReport = {};
  for (const raw of text.split('\n')) {
    const out = parser.line(raw);
    display.push(...out.display);
    Object.assign(report, out.report);
  }
  Object.assign(report, parser.finish?.());
  return { display, report };
}

const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** A recipe declaring `task_description` with the given goose `input_type`. */
function writeRecipe(inputType: 'string' | 'file'): string {
  const file = join(tempDir(), 'fix.yaml');
  writeFileSync(
    file,
    [
      'version: 1.0.0',
      'title: Fix',
      'description: Fixes what the task says',
      'prompt: "{{ task_description }}"',
      'parameters:',
      '  - key: task_description',
      `    input_type: ${inputType}`,
      '    requirement: required',
      '    description: The task',
      '',
    ].join('\n'),
  );
  return file;
}

describe('goose command line', () => {
  it('runs a plain prompt read from standard input (-i -) with the developer builtin', async () => {
    const ctx = context();
    const inv = await agent().prepare(ctx);
    expect(inv.command).toEqual(['goose', 'run', '-i', '-', '--with-builtin', 'developer']);
    expect(inv.stdinFile).toBe(ctx.promptFile);
  });

  it('hands a 100,000-character prompt over without putting it on the command line', async () => {
    const ctx = { ...context(), prompt: '漢'.repeat(100_000) };
    const inv = await agent().prepare(ctx);
    expect(inv.command.join(' ')).not.toContain('漢');
    expect(inv.stdinFile).toBe(ctx.promptFile);
  });

  it('runs a recipe with the prompt as its task_description and no configured extensions', async () => {
    const recipe = writeRecipe('string');
    const ctx = context({ recipe });
    const inv = await agent({ command: ['/opt/goose/goose'] }).prepare(ctx);
    expect(inv.command).toEqual([
      '/opt/goose/goose',
      'run',
      '--recipe',
      recipe,
      '--no-profile',
      '--params',
      'task_description=Fix the failing test',
      '--with-builtin',
      'developer',
    ]);
  });

  it('gives a recipe whose task_description is a file parameter the prompt file, whatever its size', async () => {
    const recipe = writeRecipe('file');
    const ctx = { ...context({ recipe }), prompt: '漢'.repeat(100_000) };
    const inv = await agent().prepare(ctx);
    expect(inv.command).toContain(`task_description=${ctx.promptFile}`);
    expect(inv.command.join(' ')).not.toContain('漢');
  });

  it('refuses a prompt too long for a string task_description, naming the recipe change that fixes it', async () => {
    const recipe = writeRecipe('string');
    const ctx = { ...context({ recipe }), prompt: '漢'.repeat(100_000) };
    const refused = agent().prepare(ctx);
    await expect(refused).rejects.toMatchObject({ code: 'config' });
    await expect(refused).rejects.toThrow(/input_type: file/);
  });

  it('passes max turns and a system prompt addition', async () => {
    const inv = await agent().prepare(
      context({ maxTurns: 25, systemPrompt: 'Never push to main.' }),
    );
    expect(inv.command).toEqual([
      'goose',
      'run',
      '-i',
      '-',
      '--system=Never push to main.',
      '--with-builtin',
      'developer',
      '--max-turns',
      '25',
    ]);
  });

  it('adds MCP servers as stdio and streamable HTTP extensions', async () => {
    const inv = await agent().prepare(
      context({
        mcpServers: {
          memory: {
            type: 'stdio',
            command: 'npx',
            args: ['-y', '@modelcontextprotocol/server-memory'],
            env: { MEMORY_DIR: '/tmp/my notes' },
          },
          docs: { type: 'http', url: 'http://127.0.0.1:8080/mcp', headers: {} },
        },
      }),
    );
    expect(inv.command).toEqual([
      'goose',
      'run',
      '-i',
      '-',
      '--with-builtin',
      'developer',
      '--with-extension',
      "'MEMORY_DIR=/tmp/my notes' npx -y @modelcontextprotocol/server-memory",
      '--with-streamable-http-extension',
      'http://127.0.0.1:8080/mcp',
    ]);
  });

  it('sets provider and model through the environment, the job model winning over the config', async () => {
    const a = agent(
      { provider: 'anthropic', model: 'claude-sonnet-4-5', env: { GOOSE_MODE: 'approve' } },
      { ANTHROPIC_API_KEY: 'sk-test', GOOSE_PROVIDER: 'openai' },
    );
    const ctx = context({ model: 'claude-opus-4-1' });
    const { env } = await a.prepare(ctx);
    expect(env).toMatchObject({
      GOOSE_PROVIDER: 'anthropic',
      GOOSE_MODEL: 'claude-opus-4-1',
      ANTHROPIC_API_KEY: 'sk-test',
      GOOSE_MODE: 'approve',
    });
    expect((await agent({ model: 'gpt-4.1' }).prepare(context())).env.GOOSE_MODEL).toBe('gpt-4.1');
  });

  it('keeps goose home, config and state inside the attempt private directory', async () => {
    const ctx = context();
    const { env } = await agent({ env: { HOME: '/root' } }).prepare(ctx);
    expect(env.HOME).toBe(join(ctx.privateDir, 'home'));
    expect(env.GOOSE_PATH_ROOT).toBe(join(ctx.privateDir, 'goose'));
    expect(existsSync(env.GOOSE_PATH_ROOT!)).toBe(true);
    expect(env).toMatchObject({ GOOSE_MODE: 'auto', GOOSE_DISABLE_KEYRING: '1' });
  });

  it('refuses profile settings goose cannot honour instead of dropping them', async () => {
    await expect(agent().prepare(context({ disallowedTools: ['Bash'] }))).rejects.toMatchObject({
      code: 'config',
    });
    await expect(agent().prepare(context({ recipe: 'r.yaml', systemPrompt: 'x' }))).rejects.toThrow(
      /instructions/,
    );
    const headers = {
      docs: {
        type: 'http' as const,
        url: 'https://mcp.example.com',
        headers: { Authorization: 'Bearer t' },
      },
    };
    await expect(agent().prepare(context({ mcpServers: headers }))).rejects.toThrow(/headers/);
  });
});

describe('goose doctor', () => {
  it('reports the version and which credentials are missing', async () => {
    const bin = tempDir();
    writeFileSync(join(bin, 'goose'), '#!/bin/sh\necho 1.20.1\n');
    chmodSync(join(bin, 'goose'), 0o755);
    const checks = await agent({ provider: 'openai' }, {}, bin).doctor();
    expect(checks[0]).toMatchObject({ ok: true, detail: `${join(bin, 'goose')} 1.20.1` });
    expect(checks[1]).toMatchObject({ ok: false, level: 'warn' });
    expect(checks[1]!.detail).toContain('OPENAI_API_KEY');
  });

  it('warns when no provider is configured and says how to install a missing goose', async () => {
    const bin = tempDir();
    writeFileSync(join(bin, 'goose'), '#!/bin/sh\necho 1.20.1\n');
    chmodSync(join(bin, 'goose'), 0o755);
    const checks = await agent({}, { ANTHROPIC_API_KEY: 'k' }, bin).doctor();
    expect(checks.map((c) => c.level)).toEqual(['ok', 'ok', 'warn']);
    expect(checks[2]!.detail).toContain('GOOSE_PROVIDER');
    const missing = await agent({}, {}, tempDir()).doctor();
    expect(missing[0]).toMatchObject({ ok: false, level: 'error' });
    expect(missing[0]!.detail).toContain('install goose');
  });
});

describe('goose output', () => {
  it('passes a plain run through without colour codes and records the session', () => {
    const { display, report } = parse(fixture('plain-run.txt'));
    expect(display.join('\n')).not.toContain('\u001b');
    expect(display).toContain('  ● new session · anthropic claude-sonnet-4-5');
    expect(display).toContain('    command: npm test -- --run src/math.test.ts');
    expect(report).toEqual({ session_id: '20260115_3' });
  });

  it('ignores a session id longer than any goose makes', () => {
    const { report } = parse(
      `  ● new session · anthropic m\n  20260115_${'1'.repeat(10_000)} · /srv/ws\n`,
    );
    expect(report.session_id).toBeUndefined();
  });

  it('reads the fenced result block at the end of a recipe run into the summary', () => {
    const { report } = parse(fixture('recipe-run.txt'));
    expect(report.summary).toBe(
      'pr: Removed the unused import that broke the lint step (https://github.com/acme/app/pull/42)',
    );
    expect(report.failure).toBeUndefined();
  });

  it('reads the single-line JSON goose prints for a recipe response schema', () => {
    const { report } = parse('Done.\n{"summary":"Bumped the lockfile","type":"commit"}\n');
    expect(report.summary).toBe('commit: Bumped the lockfile');
  });

  it('maps a 401 from the provider to auth naming the variable to set', () => {
    const { report } = parse(fixture('auth-failure.txt'));
    expect(report.failure?.category).toBe('auth');
    expect(report.failure?.message).toContain('ANTHROPIC_API_KEY');
  });

  it('maps a missing key to auth naming that key', () => {
    const { report } = parse(
      '\n  error: Error Configuration value not found: OPENAI_API_KEY.\n',
      null,
      'openai',
    );
    expect(report.failure).toMatchObject({ category: 'auth' });
    expect(report.failure?.message).toContain('OPENAI_API_KEY');
  });

  it('maps the turn limit to max_turns and other goose errors to agent_error', () => {
    const limit = parse(
      "I've reached the maximum number of actions I can do without user input. Would you like me to continue?",
      25,
    );
    expect(limit.report.failure).toMatchObject({ category: 'max_turns' });
    expect(limit.report.failure?.message).toContain('max_turns 25');
    const rate = parse(
      'Ran into this error: Rate limit exceeded: slow down.\n\nPlease retry if you think this is a transient or recoverable error.',
    );
    expect(rate.report.failure).toEqual({
      category: 'agent_error',
      message: 'goose stopped on an error: Rate limit exceeded: slow down.',
    });
  });

  it('does not fail a run because the model or a tool mentions an authentication error', () => {
    const { report } = parse(
      'The login test asserts "Authentication failed" on a 401 response.\nError: invalid API key (from the mock server)',
    );
    expect(report.failure).toBeUndefined();
  });
});
