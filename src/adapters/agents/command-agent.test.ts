import { describe, expect, it } from 'vitest';
import { agentSettings } from '../../../test/support/agent-settings.ts';
import type { Job } from '../../domain/job.ts';
import type { AgentContext } from '../../ports/agent.ts';
import { createCommandAgent } from './command-agent.ts';

function context(prompt: string): AgentContext {
  return {
    job: { id: 'job1' } as Job,
    attempt: 1,
    prompt,
    promptFile: '/data/jobs/job1/attempt-1/private/prompt.txt',
    workspace: '/data/jobs/job1/attempt-1/workspace',
    privateDir: '/data/jobs/job1/attempt-1/private',
    remainingBudgetUsd: null,
    settings: agentSettings(),
    resumeSessionId: null,
  };
}

const agent = (command: string[]) =>
  createCommandAgent({ name: 'mine', command, env: {}, pathEnv: '' });

describe('command agent', () => {
  it('substitutes {prompt} and {prompt_file} and also feeds the prompt on standard input', async () => {
    const ctx = context('fix it');
    const invocation = await agent(['my-agent', '--task={prompt}', '{prompt_file}']).prepare(ctx);
    expect(invocation.command).toEqual(['my-agent', '--task=fix it', ctx.promptFile]);
    expect(invocation.stdinFile).toBe(ctx.promptFile);
  });

  it('feeds the prompt on standard input to a program that names neither placeholder', async () => {
    const ctx = context('fix it');
    const invocation = await agent(['/opt/bin/my agent']).prepare(ctx);
    expect(invocation.command).toEqual(['/opt/bin/my agent']);
    expect(invocation.stdinFile).toBe(ctx.promptFile);
  });

  it('refuses a {prompt} argument over the 128 KiB argument limit as a config error naming the fix', async () => {
    const prompt = 'é'.repeat(100_000);
    const refused = agent(['my-agent', '{prompt}']).prepare(context(prompt));
    await expect(refused).rejects.toMatchObject({ code: 'config' });
    await expect(refused).rejects.toThrow(/agents\.mine\.command.*\{prompt_file\}.*standard input/);
  });

  it('passes a {prompt} argument just under the limit', async () => {
    // 131,071 bytes plus the terminating NUL is exactly 128 KiB.
    const prompt = 'x'.repeat(128 * 1024 - 1);
    const invocation = await agent(['my-agent', '{prompt}']).prepare(context(prompt));
    expect(invocation.command[1]).toHaveLength(128 * 1024 - 1);
  });
});
