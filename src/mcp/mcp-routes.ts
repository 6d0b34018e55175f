/**
 * `/mcp` (streamable HTTP, stateless: a fresh server and transport per request) and its OAuth
 * protected-resource metadata (RFC 9728). Mounted before the API's bearer auth: MCP answers 401
 * with `WWW-Authenticate` itself, so clients find the metadata. Without tokens the server listens
 * on loopback only, and requests naming another host or origin are refused (DNS rebinding).
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono, type Context } from 'hono';
import type { HttpDeps } from '../http/app.ts';
import { checkBearer } from '../http/auth.ts';
import { errorBody } from '../http/errors.ts';
import { createMcpServer, type McpCaller } from './mcp-server.ts';

export const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
/** Largest request body; a task is at most 100,000 characters. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Where clients reach this server: `server.public_url` when set, else the request's origin. */
function originOf(c: Context, deps: HttpDeps): string {
  return new URL(deps.config.server.public_url ?? c.req.url).origin;
}

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]']);

/** Whether a host name (no port) is this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return (
    LOOPBACK_NAMES.has(name) || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name)
  );
}

/** The host name of a Host header value (`name:port`, `[v6]:port`), or null when malformed. */
function hostnameOf(host: string): string | null {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return null;
  }
}

/** Why a request to a token-less server is refused, or null when it may go on. */
function rebindingRefusal(c: Context): string | null {
  const host = c.req.header('host') ?? new URL(c.req.url).host;
  const hostname = hostnameOf(host);
  if (hostname === null || !isLoopbackHost(hostname))
    return `Host "${host}" is not a loopback address; without server.tokens Forge's MCP endpoint answers only requests to localhost or 127.0.0.1`;
  const origin = c.req.header('origin');
  if (origin !== undefined) {
    const originHost = URL.canParse(origin) ? new URL(origin).hostname : null;
    if (originHost === null || !isLoopbackHost(originHost))
      return `Origin "${origin}" is not a loopback origin; without server.tokens Forge's MCP endpoint answers only pages served from localhost`;
  }
  return null;
}

type Gate = { ok: true; caller: McpCaller } | { ok: false; response: Response };

/** Decides who calls, or answers 401/403 for the request. */
function gate(c: Context, deps: HttpDeps): Gate {
  const tokens = deps.config.server.tokens;
  if (tokens.length === 0) {
    const refusal = rebindingRefusal(c);
    return refusal === null
      ? { ok: true, caller: null }
      : { ok: false, response: c.json(errorBody('forbidden', refusal), 403) };
  }
  const check = checkBearer(tokens, c.req.header('authorization'));
  if (check.ok) return { ok: true, caller: { name: check.name, role: check.role } };
  const metadata = `${originOf(c, deps)}${METADATA_PATH}`;
  const invalid = c.req.header('authorization') ? ', error="invalid_token"' : '';
  c.header('WWW-Authenticate', `Bearer resource_metadata="${metadata}"${invalid}`);
  return { ok: false, response: c.json(errorBody('unauthorized', check.message), 401) };
}

export function mcpRoutes(deps: HttpDeps): Hono {
  const app = new Hono();

  app.get(METADATA_PATH, (c) => {
    const origin = originOf(c, deps);
    return c.json({
      resource: `${origin}/mcp`,
      bearer_methods_supported: ['header'],
      authorization_servers: [],
      resource_name: 'Forge',
      resource_documentation: `${origin}/openapi.json`,
    });
  });

  app.post('/mcp', async (c) => {
    const allowed = gate(c, deps);
    if (!allowed.ok) return allowed.response;
    const server = createMcpServer(deps, allowed.caller);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      maxRequestBodySize: MAX_BODY_BYTES,
    });
    await server.connect(transport);
    // When the client leaves (or the response is done), stop the request's handlers: an
    // abandoned wait_for_job ends instead of waiting out its timeout.
    c.req.raw.signal.addEventListener('abort', () => void server.close(), { once: true });
    return transport.handleRequest(c.req.raw);
  });

  // Stateless: no session to stream server-initiated messages on or to delete.
  app.on(['GET', 'DELETE'], '/mcp', (c) => {
    const allowed = gate(c, deps);
    if (!allowed.ok) return allowed.response;
    c.header('Allow', 'POST');
    return c.json(
      {
        jsonrpc: '2.0',
        error: {
          code: -32000,
          message: `${c.req.method} is not supported: this server is stateless; POST JSON-RPC to /mcp`,
        },
        id: null,
      },
      405,
    );
  });

  return app;
}
