/** `/mcp` (streamable HTTP) and its protected-resource metadata. Filled in by the MCP work. */
import { Hono } from 'hono';
import type { HttpDeps } from '../http/app.ts';

export function mcpRoutes(_deps: HttpDeps): Hono {
  return new Hono();
}
