// The steward tools in process, through createApp as `forge serve` mounts them: the SDK client
// against the real stewards service over the memory store; the same views as GET /stewards.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createJobControl } from '../core/job-control.ts';
import { createApp } from '../http/app.ts';
import { createStewards, stewardJobBudget } from '../stewards/stewards.ts';
import { closeClients, connect, json, textOf } from '../../test/support/mcp-test-client.ts';

const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const logger = pino({ level: 'silent' });

function world(withStewards = true) {
  const config = loadConfig(
    {},
    JSON.stringify({
      server: {
        tokens: [
          { name: 'deploys', token: OPERATOR, role: 'operator' },
          { name: 'dashboard', token: VIEWER, role: 'viewer' },
        ],
      },
      agents: { script: { kind: 'command', command: ['/bin/true'] } },
      defaults: { agent: 'script' },
      repos: { app: { url: '/srv/app.git' } },
      ...(withStewards
        ? { stewards: { ci: { repo: 'app', prompt: 'watch CI', budget: { per_day: 5 } } } }
        : {}),
    }),
  );
  const store = createMemoryStore();
  const bus = new EventBus(logger);
  const stewards = createStewards({
    stewards: config.stewards,
    store,
    control: createJobControl({ store, bus, config }),
    bus,
    logger,
    redact: (text) => text.replaceAll('s3cret-value', '[REDACTED]'),
    jobBudgetUsd: (s) => stewardJobBudget(config, s),
  });
  const deps = { store, bus, config, logs: createMemoryLogs(), logger };
  const app = createApp(withStewards ? { ...deps, stewards } : deps);
  return { app, store };
}

async function call(
  client: Awaited<ReturnType<typeof connect>>,
  name: string,
  args: Record<string, unknown> = {},
) {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

afterEach(closeClients);

describe('steward MCP tools', () => {
  it('lists, gets, pauses, resumes and wakes a steward, as the API shows it', async () => {
    const { app, store } = world();
    const client = await connect(app, bearer(OPERATOR));
    const listed = json<{ stewards: Array<{ name: string; status: string }> }>(
      await call(client, 'list_stewards'),
    );
    expect(listed.stewards).toMatchObject([{ name: 'ci', status: 'idle' }]);
    expect(json(await call(client, 'get_steward', { name: 'ci' }))).toMatchObject({
      name: 'ci',
      repo: 'app',
      budget: { per_day: 5 },
      runs: 0,
    });

    expect(json(await call(client, 'pause_steward', { name: 'ci' }))).toMatchObject({
      status: 'paused',
      paused: true,
    });
    // Paused: the wake is kept, no run starts.
    const held = json<{ pending: unknown; runs: number }>(
      await call(client, 'wake_steward', { name: 'ci' }),
    );
    expect(held).toMatchObject({ runs: 0, pending: { reason: 'api', by: 'mcp:deploys' } });
    const resumed = json<{ status: string; runs: number; current_job: string }>(
      await call(client, 'resume_steward', { name: 'ci' }),
    );
    expect(resumed).toMatchObject({ status: 'running', runs: 1, pending: null });
    const job = await store.get(resumed.current_job);
    expect(job).toMatchObject({ source: 'steward:ci', tags: ['steward:ci'] });
  });

  it('keeps edited notes as versions, by the token that wrote them, redacted', async () => {
    const { app } = world();
    const client = await connect(app, bearer(OPERATOR));
    expect(json(await call(client, 'get_steward_notes', { name: 'ci' }))).toEqual({
      notes: null,
      history: [],
    });
    await call(client, 'update_steward_notes', { name: 'ci', text: '# first' });
    const second = json(
      await call(client, 'update_steward_notes', { name: 'ci', text: 'key s3cret-value' }),
    );
    expect(second).toMatchObject({ version: 2, text: 'key [REDACTED]', by: 'mcp:deploys' });
    const notes = json<{ notes: { version: number }; history: Array<{ text: string }> }>(
      await call(client, 'get_steward_notes', { name: 'ci', history: 1 }),
    );
    expect(notes.notes.version).toBe(2);
    expect(notes.history.map((n) => n.text)).toEqual(['key [REDACTED]']);
    const all = json<{ history: Array<{ text: string }> }>(
      await call(client, 'get_steward_notes', { name: 'ci' }),
    );
    expect(all.history.map((n) => n.text)).toEqual(['key [REDACTED]', '# first']);
    expect(
      json<{ notes: { version: number } }>(await call(client, 'get_steward', { name: 'ci' })).notes
        .version,
    ).toBe(2);
  });

  it('lets a viewer read but not pause, resume, wake or edit notes', async () => {
    const { app } = world();
    const client = await connect(app, bearer(VIEWER));
    expect(json(await call(client, 'get_steward', { name: 'ci' }))).toMatchObject({ name: 'ci' });
    for (const [tool, args] of [
      ['pause_steward', { name: 'ci' }],
      ['resume_steward', { name: 'ci' }],
      ['wake_steward', { name: 'ci' }],
      ['update_steward_notes', { name: 'ci', text: 'mine now' }],
    ] as const) {
      const result = await call(client, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toBe(
        'token "dashboard" has role viewer, which may only read; use an operator or admin token',
      );
    }
    const after = json<{ paused: boolean; pending: unknown; notes: unknown }>(
      await call(client, 'get_steward', { name: 'ci' }),
    );
    expect(after).toMatchObject({ paused: false, pending: null, notes: null });
  });

  it('answers an unknown steward, a bad history and oversized notes with the API messages', async () => {
    const { app } = world();
    const client = await connect(app, bearer(OPERATOR));
    for (const tool of ['get_steward', 'pause_steward', 'wake_steward', 'get_steward_notes']) {
      const result = await call(client, tool, { name: 'nope' });
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toMatch(
        /^no steward named "nope"; list them with GET \/stewards/,
      );
    }
    const history = await call(client, 'get_steward_notes', { name: 'ci', history: 500 });
    expect(textOf(history)).toBe('history: "500" must be a whole number from 1 to 100');
    const big = await call(client, 'update_steward_notes', {
      name: 'ci',
      text: 'x'.repeat(70_000),
    });
    expect(big.isError).toBe(true);
    expect(textOf(big)).toMatch(/notes_max_bytes.*shorten them/);
  });

  it('with no stewards configured lists none and says so for a name', async () => {
    const { app } = world(false);
    const client = await connect(app, bearer(OPERATOR));
    expect(json(await call(client, 'list_stewards'))).toEqual({ stewards: [] });
    const result = await call(client, 'get_steward', { name: 'ci' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/no steward named "ci" \(stewards: none configured/);
  });
});
