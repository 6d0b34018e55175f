import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Leaves a transcript named `<name>.jsonl` in the Claude home of attempt 1 of `job` (default:
 *  this attempt's job), as a run would have; returns that attempt's private directory. */
function leaveTranscript(ctx: AgentContext, name: string, job = 'job1'): string {
  const root = dirname(dirname(dirname(ctx.privateDir)));
  const privateDir = join(root, job, 'attempt-1', 'private');
  const file = join(privateDir, 'home', '.claude', 'projects', '-work', `${name}.jsonl`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, '{}\n');
  return privateDir;
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
    ctx.sessionDirs = [leaveTranscript(ctx, SESSION)];
    const invocation = await agent.prepare(ctx);
    const { command } = invocation;
    expect(command[command.indexOf('--resume') + 1]).toBe(SESSION);
    expect(invocation.session).toBe('resumed');
    const restored = join(ctx.privateDir, 'home', '.claude', 'projects', '-work');
    expect(readFileSync(join(restored, `${SESSION}.jsonl`), 'utf8')).toBe('{}\n');
  });

  it("resumes a parent job's session, searching the directories it is given in order", async () => {
    const ctx = context({ resumeSessionId: SESSION }, 1);
    const parent = leaveTranscript(ctx, SESSION, 'parent');
    const empty = join(dirname(parent), '..', 'attempt-2', 'private');
    ctx.sessionDirs = [empty, parent];
    const invocation = await agent.prepare(ctx);
    expect(invocation.command.slice(-2)).toEqual(['--resume', SESSION]);
    expect(invocation.session).toBe('resumed');
  });

  it('starts fresh and says the session is missing when no directory given holds it', async () => {
    const ctx = context({ resumeSessionId: SESSION });
    // A transcript in a sibling attempt the core did not name is not looked for.
    leaveTranscript(ctx, SESSION);
    ctx.sessionDirs = [join(ctx.privateDir, '..', '..', '..', 'gone', 'attempt-1', 'private')];
    const invocation = await agent.prepare(ctx);
    expect(invocation.command).not.toContain('--resume');
    expect(invocation.session).toBe('missing');
  });

  it('says nothing about sessions when none is to be resumed', async () => {
    const invocation = await agent.prepare(context());
    expect(invocation.session).toBeUndefined();
  });

  it.each([
    ['a path out of the projects directory', '../../../../../escape'],
    ['a newline', `${SESSION}\n--dangerously-load-everything`],
    ['a leading dash', '--settings=evil.json'],
  ])(
    'never resumes a session id holding %s, even when a file by that name exists',
    async (_what, hostile) => {
      const ctx = context({ resumeSessionId: hostile });
      ctx.sessionDirs = [leaveTranscript(ctx, hostile)];
      const invocation = await agent.prepare(ctx);
      expect(invocation.command).not.toContain('--resume');
      expect(invocation.session).toBe('missing');
      expect(invocation.command).not.toContain(hostile);
    },
  );

  it('never resumes a 10 KB session id', async () => {
    const hostile = 'a'.repeat(10_000);
    const invocation = await agent.prepare(context({ resumeSessionId: hostile }));
    expect(invocation.command).not.toContain('--resume');
  });
});
