/**
 * A scripted Anthropic Messages API on loopback, for running the real Claude Code CLI without a
 * network. The next reply is chosen from how many assistant turns the request's conversation
 * already holds, so a script reads like the conversation: reply 0 (e.g. a Write tool call), reply
 * 1 (a Bash call), reply 2 (the final text). Requests that are not turns of the main conversation
 * (title or summary generation, compaction, quota probes: anything sent without tools) get a plain
 * text answer, whatever model they name. Streaming replies use SSE with `event:` lines — without
 * them the CLI silently falls back to non-streaming requests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout } from 'node:timers/promises';
import { listenOnLoopback } from './loopback.ts';

export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown> };

export interface ScriptedUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface ScriptedReply {
  content: ScriptedBlock[];
  /** Default: `tool_use` when the reply calls a tool, else `end_turn`. */
  stop_reason?: string;
  /** Default: 10 input and 10 output tokens. */
  usage?: ScriptedUsage;
  /** Streaming only: a pause after `message_start` (which already carries the input usage), the
   *  first time this reply is served, so a test can act while a turn is under way (and a resumed
   *  conversation then gets the reply at once). */
  delay_ms?: number;
}

export interface ScriptedError {
  status: number;
  /** Anthropic's error type, e.g. `authentication_error`, `overloaded_error`. */
  type: string;
  message: string;
  /** How many main-conversation requests fail before the script's replies are used; default all. */
  times?: number;
}

export interface FakeAnthropicScript {
  replies: ScriptedReply[];
  /** Answer to side requests (titles, summaries, compaction). */
  sideText?: string;
  error?: ScriptedError;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** Whether it was a turn of the main conversation (not a side or compaction request). */
  main: boolean;
}

export interface FakeAnthropic {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

interface MessagesRequest {
  model?: string;
  stream?: boolean;
  tools?: unknown[];
  messages?: Array<{ role: string; content: unknown }>;
}

const DEFAULT_USAGE: ScriptedUsage = { input_tokens: 10, output_tokens: 10 };
const ZERO_USAGE: ScriptedUsage = { input_tokens: 0, output_tokens: 0 };

export async function startFakeAnthropic(script: FakeAnthropicScript): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  let failures = 0;
  const delayed = new Set<ScriptedReply>();
  const server = createServer((req, res) => {
    void readBody(req)
      .then((text) => {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // recorded as text
        }
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const request = body && typeof body === 'object' ? (body as MessagesRequest) : {};
        const main =
          req.method === 'POST' && path === '/v1/messages' && isConversationTurn(request);
        requests.push({ method: req.method ?? '', path, headers: req.headers, body, main });
        route(req.method ?? '', path, request, main);
      })
      .catch(() => res.destroy());

    function route(method: string, path: string, request: MessagesRequest, main: boolean): void {
      if (method === 'POST' && path === '/v1/messages/count_tokens') {
        return json(res, 200, { input_tokens: 100 });
      }
      if (method !== 'POST' || path !== '/v1/messages') {
        return json(res, 404, {
          type: 'error',
          error: { type: 'not_found_error', message: `no route ${method} ${path}` },
        });
      }
      const err = script.error;
      if (main && err && (err.times === undefined || failures < err.times)) {
        failures++;
        return json(res, err.status, {
          type: 'error',
          error: { type: err.type, message: err.message },
        });
      }
      const reply = main
        ? pickReply(script, request)
        : {
            content: [{ type: 'text' as const, text: script.sideText ?? 'Summary: done.' }],
            usage: ZERO_USAGE,
          };
      const model = request.model ?? 'claude-sonnet-4-5';
      const delay = reply.delay_ms && !delayed.has(reply) ? reply.delay_ms : 0;
      delayed.add(reply);
      if (request.stream) void streamReply(res, reply, model, delay);
      else json(res, 200, message(reply, model, true));
    }
  });
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    close,
  };
}

/** A turn of the agent's own conversation: it offers tools and is not a compaction request (which
 *  Claude Code sends with the tools still attached, asking for a text-only summary). */
function isConversationTurn(request: MessagesRequest): boolean {
  if (!Array.isArray(request.tools) || request.tools.length === 0) return false;
  const last = request.messages?.at(-1);
  return !(
    last?.role === 'user' && JSON.stringify(last.content).includes('summary of the conversation')
  );
}

/** The reply for the conversation's next assistant turn; past the script's end, a plain "done". */
function pickReply(script: FakeAnthropicScript, request: MessagesRequest): ScriptedReply {
  const turns = (request.messages ?? []).filter((m) => m.role === 'assistant').length;
  return script.replies[turns] ?? { content: [{ type: 'text', text: 'done' }] };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': `req_${randomUUID()}`,
  });
  res.end(text);
}

function stopReason(reply: ScriptedReply): string {
  return (
    reply.stop_reason ??
    (reply.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn')
  );
}

function blocks(reply: ScriptedReply): Array<Record<string, unknown>> {
  return reply.content.map((b) =>
    b.type === 'text'
      ? { type: 'text', text: b.text }
      : {
          type: 'tool_use',
          id: `toolu_${randomUUID().replaceAll('-', '')}`,
          name: b.name,
          input: b.input,
        },
  );
}

function usageOf(reply: ScriptedReply): Required<ScriptedUsage> {
  const u = reply.usage ?? DEFAULT_USAGE;
  return { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...u };
}

function message(reply: ScriptedReply, model: string, complete: boolean): Record<string, unknown> {
  const usage = usageOf(reply);
  return {
    id: `msg_${randomUUID().replaceAll('-', '')}`,
    type: 'message',
    role: 'assistant',
    model,
    content: complete ? blocks(reply) : [],
    stop_reason: complete ? stopReason(reply) : null,
    stop_sequence: null,
    usage: complete ? usage : { ...usage, output_tokens: 1 },
  };
}

/** The reply as Anthropic streams it: named SSE events, tool input as JSON deltas. */
async function streamReply(
  res: ServerResponse,
  reply: ScriptedReply,
  model: string,
  delayMs: number,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': `req_${randomUUID()}`,
  });
  const send = (event: string, data: Record<string, unknown>): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  };
  send('message_start', { message: message(reply, model, false) });
  send('ping', {});
  if (delayMs > 0) {
    await setTimeout(delayMs);
    if (res.destroyed) return;
  }
  blocks(reply).forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      const json = JSON.stringify(block.input);
      const half = Math.floor(json.length / 2);
      send('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: json.slice(0, half) },
      });
      send('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: json.slice(half) },
      });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: stopReason(reply), stop_sequence: null },
    usage: { output_tokens: usageOf(reply).output_tokens },
  });
  send('message_stop', {});
  res.end();
}

/** A model that has Claude Code write a changelog entry, then sums up its work. */
export const CHANGELOG_SCRIPT: FakeAnthropicScript = {
  replies: [
    {
      content: [
        {
          type: 'tool_use',
          name: 'Write',
          input: { file_path: 'CHANGELOG.md', content: '- parser accepts ISO weeks\n' },
        },
      ],
      usage: { input_tokens: 1000, output_tokens: 50 },
    },
    {
      content: [{ type: 'text', text: 'Added a changelog entry for ISO week parsing.' }],
      usage: { input_tokens: 1100, output_tokens: 30 },
    },
  ],
};
