import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentSettings } from '../../../../test/support/agent-settings.ts';
import type { Job } from '../../../domain/job.ts';
import type { AgentContext } from '../../../ports/agent.ts';
import { createClaudeCodeAgent } from './claude-code-agent.ts';

/** One argv entry may hold at most this many bytes, its terminating NUL included (Linux). */
const MAX_ARG_STRLEN = 128 * 1024;
const SESSION = 'f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6';
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const agent = createClaudeCodeAgent({
  name: 'claude',
  config: { kind: 'claude-code', command: ['claude'], env: {}, prices: {} },
  credentials: { ANTHROPIC_API_KEY: 'sk-ant-test-key' },
  pathEnv: '',
});

/** An attempt's context laid out as the core lays it out: <job>/attempt-N/private. */
function context(overrides: Partial<AgentContext> = {}, attempt = 2): AgentContext {
  const root = mkdtempSync(join(tmpdir(), 'forge-claude-'));
  roots.push(root);
  const privateDir = join(root, 'job1', `attempt-${attempt}`, 'private');
  mkdirSync(privateDir, { recursive: true });
  return {
    job: { id: 'job1' } as Job,
    attempt,
    prompt: 'fix the bug',
    promptFile: join(privateDir, 'prompt.txt'),
    workspace: join(root, 'job1', `attempt-${attempt}`, 'workspace'),
    privateDir,
    remainingBudgetUsd: null,
    settings: agentSettings(),
    resumeSessionId: null,
    ...overrides,
  };
}

/** Leaves a transcript named `<name>.jsonl` in attempt 1's Claude home, as a run would have. */
function leaveTranscript(ctx: AgentContext, name: string): string {
  const project = join(
    dirname(dirname(ctx.privateDir)),
    'attempt-1',
    'private',
    'home',
    '.claude',
    'projects',
    '-work',
  );
  const file = join(project, `${name}.jsonl`);
  mkdirSync(project, { recursive: true });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, '{}\n');
  return file;
}

describe('claude-code command line', () => {
  it('hands the prompt over on standard input, never as an argument, so a 100,000-character task fits', async () => {
    const prompt = 'é'.repeat(100_000);
    const ctx = context({ prompt, settings: agentSettings({ disallowedTools: ['WebFetch'] }) });
    const invocation = await agent.prepare(ctx);
    expect(invocation.stdinFile).toBe(ctx.promptFile);
    expect(invocation.command.slice(0, 2)).toEqual(['claude', '-p']);
    expect(invocation.command.join('\n')).not.toContain('é');
    for (const arg of invocation.command)
      expect(Buffer.byteLength(arg) + 1).toBeLessThanOrEqual(MAX_ARG_STRLEN);
  });

  it('resumes an earlier attempt session from its transcript', async () => {
    const ctx = context({ resumeSessionId: SESSION });
    leaveTranscript(ctx, SESSION);
    const { command } = await agent.prepare(ctx);
    expect(command[command.indexOf('--resume') + 1]).toBe(SESSION);
  });

  it.each([
    ['a path out of the projects directory', '../../../../../escape'],
    ['a newline', `${SESSION}\n--dangerously-load-everything`],
    ['a leading dash', '--settings=evil.json'],
  ])(
    'never resumes a session id holding %s, even when a file by that name exists',
    async (_what, hostile) => {
      const ctx = context({ resumeSessionId: hostile });
      leaveTranscript(ctx, hostile);
      const invocation = await agent.prepare(ctx);
      expect(invocation.command).not.toContain('--resume');
      expect(invocation.command).not.toContain(hostile);
    },
  );

  it('never resumes a 10 KB session id', async () => {
    const hostile = 'a'.repeat(10_000);
    const invocation = await agent.prepare(context({ resumeSessionId: hostile }));
    expect(invocation.command).not.toContain('--resume');
  });
});
