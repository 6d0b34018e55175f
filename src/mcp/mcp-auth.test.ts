// Who may use /mcp, through createApp (MCP is mounted before the API's bearer auth and answers
// 401 itself): tokens and roles, the protected-resource metadata, and without tokens the
// loopback-only Host and Origin checks that stop DNS rebinding.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { createApp } from '../http/app.ts';
import { closeClients, connect, json, textOf } from '../../test/support/mcp-test-client.ts';

const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const METADATA = 'http://127.0.0.1:7700/.well-known/oauth-protected-resource/mcp';

function app(server: string) {
  const config = loadConfig(
    {},
    `server: ${server}\nagents: {script: {kind: command, command: [/bin/true]}}`,
  );
  return createApp({
    store: createMemoryStore(),
    bus: new EventBus(pino({ level: 'silent' })),
    config,
    logs: createMemoryLogs(),
    logger: pino({ level: 'silent' }),
  });
}

afterEach(closeClients);

const withTokens = app(`{tokens: [
  {name: deploys, token: ${OPERATOR}, role: operator},
  {name: dashboard, token: ${VIEWER}, role: viewer}]}`);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 't', version: '1' },
  },
};

function post(target: ReturnType<typeof app>, url: string, headers: Record<string, string> = {}) {
  return target.request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(initialize),
  });
}

describe('/mcp with server.tokens', () => {
  it('answers 401 without a token or with a bad one, pointing at the resource metadata', async () => {
    const missing = await post(withTokens, 'http://127.0.0.1:7700/mcp');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA}"`);
    expect(await missing.json()).toMatchObject({ code: 'unauthorized', error: /missing bearer/ });
    const bad = await post(withTokens, 'http://127.0.0.1:7700/mcp', bearer('x'.repeat(30)));
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA}", error="invalid_token"`,
    );
    await expect(connect(withTokens, bearer('x'.repeat(30)))).rejects.toThrow(/401|invalid token/);
  });

  it('serves the RFC 9728 metadata without a token', async () => {
    const res = await withTokens.request(METADATA);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      resource: 'http://127.0.0.1:7700/mcp',
      bearer_methods_supported: ['header'],
      authorization_servers: [],
      resource_name: 'Forge',
    });
  });

  it('lets a viewer read but not submit, cancel or retry', async () => {
    const client = await connect(withTokens, bearer(VIEWER));
    expect(json(await client.callTool({ name: 'list_jobs', arguments: {} }))).toEqual({
      jobs: [],
      total: 0,
    });
    for (const [name, args] of [
      ['submit_job', { task: 'print hi' }],
      ['cancel_job', { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }],
      ['retry_job', { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }],
    ] as const) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(result.isError, name).toBe(true);
      expect(textOf(result)).toBe(
        'token "dashboard" has role viewer, which may only read; use an operator or admin token',
      );
    }
  });

  it('lets an operator submit', async () => {
    const client = await connect(withTokens, bearer(OPERATOR));
    const result = await client.callTool({ name: 'submit_job', arguments: { task: 'print hi' } });
    expect(json(result)).toMatchObject({ status: 'PENDING' });
  });
});

describe('/mcp without tokens (loopback only)', () => {
  const open = app('{host: 127.0.0.1}');

  it('serves requests to loopback hosts, also from a loopback page', async () => {
    for (const url of [
      'http://127.0.0.1:7700/mcp',
      'http://localhost:7700/mcp',
      'http://[::1]/mcp',
    ])
      expect((await post(open, url)).status, url).toBe(200);
    const page = await post(open, 'http://localhost:7700/mcp', { origin: 'http://localhost:3000' });
    expect(page.status).toBe(200);
    const client = await connect(open);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('refuses a request whose Host or Origin is not loopback (DNS rebinding)', async () => {
    const rebound = await post(open, 'http://attacker.example:7700/mcp');
    expect(rebound.status).toBe(403);
    expect(await rebound.json()).toMatchObject({ code: 'forbidden', error: /Host "attacker/ });
    const host = await post(open, 'http://127.0.0.1:7700/mcp', { host: 'attacker.example' });
    expect(host.status).toBe(403);
    const origin = await post(open, 'http://127.0.0.1:7700/mcp', {
      origin: 'http://attacker.example',
    });
    expect(origin.status).toBe(403);
    expect(await origin.json()).toMatchObject({ error: /Origin "http:\/\/attacker.example"/ });
  });

  it('answers GET and DELETE with 405: the server is stateless', async () => {
    const res = await open.request('http://127.0.0.1:7700/mcp');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
