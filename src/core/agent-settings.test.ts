import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import type { Job } from '../domain/job.ts';
import { resolveProfile } from './agent-settings.ts';
import { parseSubmitRequest, resolveSpec } from './submit-job.ts';

const configText = (systemPrompt: string) => `
agents:
  a: {kind: command, command: [run]}
sandbox: {allowed_domains: [sandbox.example.com]}
profiles:
  fix:
    agent: a
    system_prompt: "${systemPrompt}"
    allowed_tools: [Read]
    env: {NODE_ENV: test}
    allowed_domains: [registry.npmjs.org]
    mcp_servers:
      docs: {type: http, url: "https://mcp.example.com", headers: {X-Team: forge}}
    resume_interrupted: false
`;

function submitted(body: Record<string, unknown>, systemPrompt = 'Run the tests.'): Job {
  const config = loadConfig({}, configText(systemPrompt));
  const spec = resolveSpec(parseSubmitRequest({ task: 'do it', ...body }), config);
  return {
    ...spec,
    id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    status: 'PENDING',
    created_at: '',
    updated_at: '',
    revision: 1,
    cost_usd: 0,
    failure: null,
    retry_base: 0,
    attempt_count: 0,
    result: null,
  };
}

describe('settings frozen at submit', () => {
  it("a job carries its profile's settings, so the running job never reads the configuration", () => {
    const job = submitted({ profile: 'fix' });
    // resolveProfile takes the job alone: editing or deleting the profile later changes nothing.
    expect(resolveProfile(job)).toEqual({
      settings: {
        model: null,
        maxTurns: null,
        systemPrompt: 'Run the tests.',
        allowedTools: ['Read'],
        disallowedTools: [],
        mcpServers: {
          docs: { type: 'http', url: 'https://mcp.example.com', headers: { 'X-Team': 'forge' } },
        },
        recipe: null,
      },
      env: { NODE_ENV: 'test' },
      allowedDomains: ['registry.npmjs.org'],
      resumeInterrupted: false,
      continueFrom: null,
    });
  });

  it('a job submitted before the configuration changed keeps what it was submitted with', () => {
    const before = submitted({ profile: 'fix' }, 'Run the tests.');
    const after = submitted({ profile: 'fix' }, 'Do something else entirely.');
    expect(resolveProfile(before).settings.systemPrompt).toBe('Run the tests.');
    expect(resolveProfile(after).settings.systemPrompt).toBe('Do something else entirely.');
  });

  it('a job without a profile gets the sandbox defaults', () => {
    const job = submitted({ agent: 'a' });
    expect(resolveProfile(job)).toMatchObject({
      env: {},
      allowedDomains: ['sandbox.example.com'],
      resumeInterrupted: true,
    });
  });
});
