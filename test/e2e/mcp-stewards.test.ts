/**
 * The steward tools against the real `forge serve` (with a real git server for the steward's
 * repository), through the MCP SDK client over streamable HTTP with bearer tokens. The steward
 * has no schedule and no triggers: it runs only when the test wakes it, and the test waits for
 * that run (wait_for_job) and for the notes it keeps.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopAllForges, type ForgeProcess } from '../support/forge-server.ts';
import { startGitServer, type GitServer } from '../support/git-http-server.ts';
import { handSteward, startStewardForge, STEWARD_TOKENS } from '../support/steward-world.ts';

const OPERATOR = STEWARD_TOKENS.operator;
const VIEWER = STEWARD_TOKENS.viewer;

interface StewardJson {
  name: string;
  status: string;
  paused: boolean;
  pending: { reason: string; by: string | null } | null;
  runs: number;
  current_job: string | null;
  last_runs: Array<{ id: string; status: string }>;
  notes: NotesJson | null;
}
interface NotesJson {
  version: number;
  text: string;
  by: string;
  job_id: string | null;
}

let git: GitServer;
let forge: ForgeProcess;
const clients: Client[] = [];

beforeAll(async () => {
  git = await startGitServer();
  await git.createRepo('app');
  forge = await startStewardForge(git, {
    // The run reads the notes it was given and adds a line naming itself.
    scribe: handSteward('cat .forge-notes.md; append .forge-notes.md - seen by run $FORGE_JOB_ID'),
  });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await stopAllForges();
  await git?.close();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${forge.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

function json<T>(result: CallToolResult): T {
  expect(result.isError, textOf(result)).toBeFalsy();
  return JSON.parse(textOf(result)) as T;
}

describe('steward tools over MCP', () => {
  it('lists and gets, pauses and resumes, wakes a run that reads and keeps the notes written through MCP', async () => {
    const client = await connect(OPERATOR);
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const tool of [
      'list_stewards',
      'get_steward',
      'pause_steward',
      'resume_steward',
      'wake_steward',
      'get_steward_notes',
      'update_steward_notes',
    ])
      expect(names).toContain(tool);

    const listed = json<{ stewards: StewardJson[] }>(await call(client, 'list_stewards'));
    expect(listed.stewards).toMatchObject([{ name: 'scribe', status: 'idle', runs: 0 }]);
    expect(json<StewardJson>(await call(client, 'get_steward', { name: 'scribe' }))).toMatchObject({
      name: 'scribe',
      status: 'idle',
      notes: null,
    });

    // Notes written through MCP are what the next run is given.
    const written = json<NotesJson>(
      await call(client, 'update_steward_notes', {
        name: 'scribe',
        text: '# Scribe\n- from mcp\n',
      }),
    );
    expect(written).toMatchObject({ version: 1, by: 'mcp:ops', job_id: null });

    // Paused, a wake waits; resumed, it runs.
    expect(
      json<StewardJson>(await call(client, 'pause_steward', { name: 'scribe' })),
    ).toMatchObject({ status: 'paused', paused: true });
    const held = json<StewardJson>(await call(client, 'wake_steward', { name: 'scribe' }));
    expect(held).toMatchObject({ status: 'paused', runs: 0, pending: { by: 'mcp:ops' } });
    const resumed = json<StewardJson>(await call(client, 'resume_steward', { name: 'scribe' }));
    expect(resumed).toMatchObject({ paused: false, runs: 1, pending: null });
    const id = resumed.current_job!;
    expect(resumed.last_runs[0]?.id).toBe(id);

    const done = json<{ status: string }>(
      await call(client, 'wait_for_job', { id, timeout_seconds: 60 }),
    );
    expect(done.status).toBe('SUCCEEDED');
    const job = json<{ source: string; tags: string[] }>(await call(client, 'get_job', { id }));
    expect(job).toMatchObject({ source: 'steward:scribe', tags: ['steward:scribe'] });

    // The run's notes are kept as it ends: wait for the version it wrote.
    const deadline = Date.now() + 30_000;
    let notes = json<{ notes: NotesJson; history: NotesJson[] }>(
      await call(client, 'get_steward_notes', { name: 'scribe' }),
    );
    while (notes.notes.version < 2) {
      if (Date.now() > deadline)
        throw new Error(`no notes from run ${id}: ${JSON.stringify(notes)}`);
      await new Promise((r) => setTimeout(r, 100));
      notes = json(await call(client, 'get_steward_notes', { name: 'scribe' }));
    }
    expect(notes.notes).toMatchObject({
      version: 2,
      text: `# Scribe\n- from mcp\n- seen by run ${id}\n`,
      by: `job:${id}`,
      job_id: id,
    });
    expect(notes.history.map((n) => n.version)).toEqual([2, 1]);
    const one = json<{ history: NotesJson[] }>(
      await call(client, 'get_steward_notes', { name: 'scribe', history: 1 }),
    );
    expect(one.history.map((n) => n.version)).toEqual([2]);
    expect(json<StewardJson>(await call(client, 'get_steward', { name: 'scribe' }))).toMatchObject({
      status: 'idle',
      runs: 1,
      notes: { version: 2 },
    });
  }, 90_000);

  it('lets a viewer token read the stewards but refuses it every change', async () => {
    const client = await connect(VIEWER);
    const before = json<StewardJson>(await call(client, 'get_steward', { name: 'scribe' }));
    expect(
      json<{ stewards: StewardJson[] }>(await call(client, 'list_stewards')).stewards,
    ).toHaveLength(1);
    json(await call(client, 'get_steward_notes', { name: 'scribe' }));
    for (const [tool, args] of [
      ['pause_steward', { name: 'scribe' }],
      ['resume_steward', { name: 'scribe' }],
      ['wake_steward', { name: 'scribe' }],
      ['update_steward_notes', { name: 'scribe', text: 'taken over' }],
    ] as const) {
      const result = await call(client, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toBe(
        'token "watcher" has role viewer, which may only read; use an operator or admin token',
      );
    }
    const after = json<StewardJson>(await call(client, 'get_steward', { name: 'scribe' }));
    expect(after).toMatchObject({ paused: before.paused, runs: before.runs, pending: null });
    expect(after.notes?.version).toBe(before.notes?.version);
  });

  it('answers an unknown steward with a message that says where to look', async () => {
    const client = await connect(OPERATOR);
    const result = await call(client, 'get_steward', { name: 'nobody' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^no steward named "nobody"; list them with GET \/stewards/);
  });
});
