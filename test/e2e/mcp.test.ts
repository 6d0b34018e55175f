/**
 * MCP against the real `forge serve`: the SDK client over streamable HTTP, and over `forge mcp`
 * (stdio relayed to the server). Jobs run the scripted agent; waits are on the server's events.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

const BIN = join(ROOT, 'bin', 'forge.js');

let forge: ForgeProcess;
const clients: Client[] = [];

beforeAll(async () => {
  forge = await startForge();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(stopAllForges);

/** Connects; `errors` collects what the transport could not parse (anything but protocol). */
async function connect(transport: Transport, errors: Error[] = []): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  clients.push(client);
  return client;
}

function json<T = Record<string, unknown>>(result: unknown): T {
  const r = result as CallToolResult;
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  const first = r.content[0];
  return JSON.parse(first?.type === 'text' ? first.text : 'null') as T;
}

/** Submits a scripted task and waits for it through `client`, collecting progress messages. */
async function submitAndWait(client: Client, task: string) {
  const { id } = json<{ id: string }>(
    await client.callTool({ name: 'submit_job', arguments: { task } }),
  );
  const progress: string[] = [];
  const done = json<{ id: string; status: string; done: boolean; source: string }>(
    await client.callTool(
      { name: 'wait_for_job', arguments: { id, timeout_seconds: 60 } },
      undefined,
      { onprogress: (p) => progress.push(p.message ?? ''), timeout: 70_000 },
    ),
  );
  return { id, done, progress };
}

describe('MCP over streamable HTTP', () => {
  it('submits, waits with progress from the output, reads the output, cancels another job', async () => {
    const client = await connect(new StreamableHTTPClientTransport(new URL(`${forge.url}/mcp`)));
    const { id, done, progress } = await submitAndWait(
      client,
      'print hello; sleep 1500; print done',
    );
    expect(done).toMatchObject({ id, status: 'SUCCEEDED', done: true, source: 'mcp' });
    // Forge's own notes (e.g. "[forge] warning: running unisolated") are output lines too.
    expect(progress.filter((m) => m === 'hello' || m === 'done').length).toBeGreaterThan(0);

    const output = json<{ output: string; status: string }>(
      await client.callTool({ name: 'get_job_output', arguments: { id } }),
    );
    expect(output.status).toBe('SUCCEEDED');
    expect(output.output).toMatch(/hello\n(.*\n)*done/);

    const log = json<{ text: string; size: number }>(
      await client.callTool({ name: 'get_job_log', arguments: { id } }),
    );
    expect(log.text).toContain('hello');

    const second = json<{ id: string }>(
      await client.callTool({
        name: 'submit_job',
        arguments: { task: 'print waiting; sleep 300000' },
      }),
    );
    const cancelled = json<{ status: string }>(
      await client.callTool({ name: 'cancel_job', arguments: { id: second.id } }),
    );
    expect(cancelled.status).toBe('CANCELLED');
    const after = json<{ status: string; done: boolean }>(
      await client.callTool({ name: 'wait_for_job', arguments: { id: second.id } }),
    );
    expect(after).toMatchObject({ status: 'CANCELLED', done: true });
  });
});

describe('forge mcp (stdio relayed to the server)', () => {
  it('submits and waits with progress, with nothing but protocol on stdout', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', FORGE_URL: forge.url },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const errors: Error[] = [];
    const client = await connect(transport, errors);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('wait_for_job');
    const { id, done, progress } = await submitAndWait(
      client,
      'print over stdio; sleep 1500; print finished',
    );
    expect(done).toMatchObject({ id, status: 'SUCCEEDED', done: true });
    expect(progress.filter((m) => m === 'over stdio' || m === 'finished').length).toBeGreaterThan(
      0,
    );
    expect(stderr).toContain(`relaying stdio to ${forge.url}/mcp`);
    expect(errors).toEqual([]);
  });

  it('answers a request with an error saying where Forge was not found', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        FORGE_URL: 'http://127.0.0.1:9',
      },
      stderr: 'pipe',
    });
    await expect(connect(transport)).rejects.toThrow(
      /cannot reach Forge at http:\/\/127\.0\.0\.1:9\/mcp/,
    );
    await transport.close();
  });
});

describe('with server.tokens', () => {
  const TOKEN = 'mcp-e2e-token-0123456789abcdef';
  let guarded: ForgeProcess;
  beforeAll(async () => {
    guarded = await startForge({
      config: { server: { host: '127.0.0.1', port: 0, tokens: [{ name: 'e2e', token: TOKEN }] } },
    });
  });
  const stdio = (env: Record<string, string>) =>
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        FORGE_URL: guarded.url,
        ...env,
      },
      stderr: 'pipe',
    });

  it('answers 401 with the metadata address, and serves the metadata', async () => {
    const res = await fetch(`${guarded.url}/mcp`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    const metadata = `${guarded.url}/.well-known/oauth-protected-resource/mcp`;
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadata}"`);
    expect(await (await fetch(metadata)).json()).toMatchObject({ resource: `${guarded.url}/mcp` });
  });

  it('forge mcp sends FORGE_TOKEN, and says what to set without it', async () => {
    const client = await connect(stdio({ FORGE_TOKEN: TOKEN }));
    expect(json(await client.callTool({ name: 'list_jobs', arguments: {} }))).toEqual({
      jobs: [],
      total: 0,
    });
    const refused = stdio({});
    await expect(connect(refused)).rejects.toThrow(
      /HTTP 401\): missing bearer token.*set FORGE_TOKEN/,
    );
    await refused.close();
  });
});
