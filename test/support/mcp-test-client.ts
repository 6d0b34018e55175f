/** Test helpers: the SDK's MCP client talking to a Hono app in process (no socket). */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
import { pino } from 'pino';
import { createMemoryLogs } from '../../src/adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../../src/adapters/store/memory-store.ts';
import { loadConfig } from '../../src/config.ts';
import { EventBus } from '../../src/core/events.ts';
import { jobRoutes } from '../../src/http/routes/jobs.ts';
import { mcpRoutes } from '../../src/mcp/mcp-routes.ts';

const clients: Client[] = [];
/** Closes every client `connect` made (call in afterEach). */
export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}

export async function connect(
  app: Hono,
  headers: Record<string, string> = {},
  url = 'http://127.0.0.1:7700/mcp',
): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
    fetch: async (input, init) => app.request(input instanceof URL ? input.href : input, init),
  });
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** `/mcp` beside the jobs API (to compare with), as createApp mounts them. */
export function mcpApp(configText: string) {
  const store = createMemoryStore();
  const logs = createMemoryLogs();
  const bus = new EventBus(pino({ level: 'silent' }));
  const config = loadConfig({}, configText);
  const deps = { store, bus, config, logs, logger: pino({ level: 'silent' }) };
  const app = new Hono();
  app.route('/', mcpRoutes(deps));
  app.route('/', jobRoutes(deps));
  return { store, logs, bus, app };
}

/** The text of a tool result, and its JSON when it is JSON. */
export function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}
export const json = <T = Record<string, unknown>>(result: unknown): T =>
  JSON.parse(textOf(result)) as T;
