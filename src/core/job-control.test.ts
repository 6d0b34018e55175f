import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import type { Job } from '../domain/job.ts';
import { resolveProfile } from './agent-settings.ts';
import { EventBus } from './events.ts';
import { createJobControl } from './job-control.ts';

const config = loadConfig(
  {},
  `
defaults: {agent: a}
agents: {a: {kind: command, command: [run]}}
forges: {home: {kind: forgejo, url: "https://git.example.com", token: forge-token-123}}
repos: {app: {url: "https://git.example.com/me/app.git", forge: home}}
`,
);

function control() {
  const store = createMemoryStore();
  return {
    store,
    control: createJobControl({ store, bus: new EventBus(pino({ level: 'silent' })), config }),
  };
}

describe('job control', () => {
  it('files a job with its origin, and a draft pull request when asked', async () => {
    const { control: c } = control();
    const origin = { kind: 'telegram' as const, notifier: 'phone', chat_id: 42 };
    const job = await c.submit({ task: 'fix it', repo: 'app', draft: true }, { origin });
    expect(job).toMatchObject({ origin, parent_id: null, repo: { draft: true, branch: null } });
  });

  it("continues its parent's branch from the commit the parent pushed last", async () => {
    const { control: c } = control();
    const parent = {
      id: '01PARENT',
      repo: { url: 'https://git.example.com/me/app.git' },
      result: { branch: 'forge/01parent', commit: 'a'.repeat(40) },
    } as unknown as Job;
    const child = await c.submit({ task: 'and the docs', repo: 'app' }, { parent });
    expect(child.parent_id).toBe('01PARENT');
    expect(child.repo).toMatchObject({ branch: 'forge/01parent', start_commit: 'a'.repeat(40) });
    // The first attempt starts from the parent's work, not from the base.
    expect(resolveProfile(child).continueFrom).toBe('a'.repeat(40));
  });

  it('starts fresh when the parent pushed nothing or worked elsewhere', async () => {
    const { control: c } = control();
    const parent = { id: '01PARENT', repo: null, result: null } as unknown as Job;
    const child = await c.submit({ task: 'again', repo: 'app' }, { parent });
    expect(child.parent_id).toBe('01PARENT');
    expect(child.repo?.branch).toBeNull();
    expect(resolveProfile(child).continueFrom).toBeNull();
  });
});
