/**
 * `forge mcp`: an MCP server on stdio for local clients, relaying every JSON-RPC message to a
 * running Forge's `/mcp` and back (progress notifications included). stdout carries only the
 * protocol; diagnostics go to stderr.
 */
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

export interface BridgeOptions {
  /** Forge's base URL, e.g. http://127.0.0.1:7700. */
  url: string;
  token?: string;
  /** Where diagnostics go (stderr). */
  log: (line: string) => void;
}

/** Runs the bridge until stdin ends; resolves then. */
export async function runStdioBridge(opts: BridgeOptions): Promise<void> {
  const endpoint = new URL(`${opts.url.replace(/\/+$/, '')}/mcp`);
  const local = new StdioServerTransport();
  const remote = new StreamableHTTPClientTransport(endpoint, {
    ...(opts.token ? { requestInit: { headers: { authorization: `Bearer ${opts.token}` } } } : {}),
  });
  /** Ids of initialize requests: their results name the protocol version for later requests. */
  const initializing = new Set<RequestId>();

  remote.onmessage = (message) => {
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id)) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') remote.setProtocolVersion(version);
    }
    void local.send(message);
  };
  remote.onerror = (err) => opts.log(`forge mcp: ${err.message}`);
  local.onerror = (err) => opts.log(`forge mcp: ${err.message}`);
  local.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message) && message.method === 'initialize') initializing.add(message.id);
    remote.send(message).catch((err: unknown) => {
      const reason = failureReason(endpoint, err);
      opts.log(`forge mcp: ${reason}`);
      // A request must be answered, or the client waits forever.
      if (isJSONRPCRequest(message))
        void local.send({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32000, message: reason },
        });
    });
  };

  const ended = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await remote.start();
  await local.start();
  opts.log(`forge mcp: relaying stdio to ${endpoint.href}`);
  await ended;
  await Promise.allSettled([remote.close(), local.close()]);
}

/** Why a message could not be relayed, for the person reading the client's error. */
function failureReason(endpoint: URL, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof StreamableHTTPError && (err.code === 401 || err.code === 403)) {
    const body = /"error":"((?:[^"\\]|\\.)*)"/.exec(message)?.[1] ?? message;
    return `Forge at ${endpoint.href} refused the request (HTTP ${err.code}): ${body}; set FORGE_TOKEN to a token from server.tokens`;
  }
  return `cannot reach Forge at ${endpoint.href}: ${message}; is "forge serve" running? Set FORGE_URL (and FORGE_TOKEN)`;
}
