/**
 * A scripted OpenAI Responses API on loopback, standing in for the model behind the real Codex CLI.
 * Codex (with a custom provider whose base_url is `<url>/v1`) POSTs `/v1/responses` with
 * `stream: true` and reads server-sent events; it sends the whole conversation every time, so the
 * next reply is chosen from how many model outputs (assistant messages, function calls) the
 * request's input already holds — no per-connection state, and retries get the same answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

/** One thing the model says or does in a reply. `shell` calls Codex's shell tool (`exec_command`). */
export type FakeItem =
  | { type: 'message'; text: string }
  | { type: 'shell'; command: string }
  | { type: 'reasoning'; text: string };

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens?: number;
}

export type FakeReply =
  | { items: FakeItem[]; usage?: FakeUsage }
  /** An HTTP error, answered `times` times (default: always) before the script moves on. */
  | { status: number; message?: string; times?: number };

export interface FakeOpenAI {
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:4321`. */
  url: string;
  /** Every request received, in order. */
  requests: Array<{
    method: string;
    path: string;
    headers: IncomingMessage['headers'];
    body: unknown;
  }>;
  close(): Promise<void>;
}

const DEFAULT_USAGE: FakeUsage = { input_tokens: 100, output_tokens: 10 };

/** Items the model produced, as Codex sends them back in `input`. */
function modelOutputs(body: unknown): number {
  const input = (body as { input?: unknown } | null)?.input;
  if (!Array.isArray(input)) return 0;
  return input.filter((raw) => {
    const item = raw as { type?: string; role?: string };
    return (item.type === 'message' && item.role === 'assistant') || item.type === 'function_call';
  }).length;
}

/** Items of a reply that come back as model outputs in the next request (reasoning does not count:
 *  Codex may drop it from history). */
function countedItems(reply: FakeReply): number {
  return 'items' in reply ? reply.items.filter((i) => i.type !== 'reasoning').length : 0;
}

export async function startFakeOpenAI(script: FakeReply[]): Promise<FakeOpenAI> {
  const requests: FakeOpenAI['requests'] = [];
  const errorsServed = new Map<number, number>();

  /** The step whose preceding steps account for `outputs` model outputs; past the end, a final
   *  message (repeating the last step could make Codex loop on a shell call). */
  function pick(outputs: number): { index: number; reply: FakeReply } {
    let seen = 0;
    for (let index = 0; index < script.length; index++) {
      const reply = script[index]!;
      if ('status' in reply) {
        const served = errorsServed.get(index) ?? 0;
        if (reply.times === undefined || served < reply.times) return { index, reply };
        continue;
      }
      if (seen >= outputs) return { index, reply };
      seen += countedItems(reply);
    }
    return {
      index: script.length,
      reply: { items: [{ type: 'message', text: 'fake OpenAI: the script is over' }] },
    };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // keep raw text
      }
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      route(req.method ?? 'GET', path, body, res);
    });
  });

  function route(method: string, path: string, body: unknown, res: ServerResponse): void {
    if (method === 'POST' && path.endsWith('/responses')) {
      const { index, reply } = pick(modelOutputs(body));
      if ('status' in reply) {
        errorsServed.set(index, (errorsServed.get(index) ?? 0) + 1);
        return sendError(res, reply.status, reply.message);
      }
      return streamReply(res, reply.items, reply.usage ?? DEFAULT_USAGE, requests.length);
    }
    if (method === 'GET' && path.endsWith('/models')) {
      return sendJson(res, 200, { object: 'list', data: [], models: [] });
    }
    sendJson(res, 404, {
      error: {
        message: `fake OpenAI: no route for ${method} ${path}`,
        type: 'invalid_request_error',
      },
    });
  }

  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    close,
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** Error bodies shaped like OpenAI's, so Codex shows their message. */
function sendError(res: ServerResponse, status: number, message?: string): void {
  const types: Record<number, [string, string]> = {
    400: ['invalid_request_error', 'Invalid request.'],
    401: ['invalid_request_error', 'Incorrect API key provided.'],
    429: ['rate_limit_exceeded', 'Rate limit reached for requests.'],
    500: ['server_error', 'The server had an error while processing your request.'],
    503: ['server_error', 'The engine is currently overloaded, please try again later.'],
  };
  const [type, fallback] = types[status] ?? [
    status < 500 ? 'invalid_request_error' : 'server_error',
    `fake error ${status}`,
  ];
  const code = status === 401 ? 'invalid_api_key' : type;
  // OpenAI sends retry-after with rate limits; zero keeps Codex's own retries quick in tests.
  if (status === 429 || status >= 500) res.setHeader('retry-after', '0');
  sendJson(res, status, { error: { message: message ?? fallback, type, code, param: null } });
}

/** The SSE events of one streamed response: created, each item added (with text deltas) and
 *  done, then completed with usage. */
function streamReply(res: ServerResponse, items: FakeItem[], usage: FakeUsage, n: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const id = `resp_${n}`;
  const send = (type: string, data: Record<string, unknown>): void => {
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  };
  send('response.created', {
    response: { id, object: 'response', status: 'in_progress', output: [] },
  });
  const output = items.map((item, i) => toOutputItem(item, `${n}_${i}`));
  output.forEach((item, outputIndex) => {
    send('response.output_item.added', {
      output_index: outputIndex,
      item: { ...item, ...(item.type === 'message' ? { content: [] } : {}) },
    });
    if (item.type === 'message') {
      const text = (item.content as Array<{ text: string }>)[0]!.text;
      send('response.output_text.delta', {
        item_id: item.id,
        output_index: outputIndex,
        content_index: 0,
        delta: text,
      });
    }
    send('response.output_item.done', { output_index: outputIndex, item });
  });
  const cached = usage.cached_input_tokens ?? 0;
  send('response.completed', {
    response: {
      id,
      object: 'response',
      status: 'completed',
      output,
      usage: {
        input_tokens: usage.input_tokens,
        input_tokens_details: { cached_tokens: cached },
        output_tokens: usage.output_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.input_tokens + usage.output_tokens,
      },
    },
  });
  res.end();
}

function toOutputItem(
  item: FakeItem,
  key: string,
): Record<string, unknown> & { type: string; id: string } {
  switch (item.type) {
    case 'message':
      return {
        type: 'message',
        id: `msg_${key}`,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: item.text, annotations: [] }],
      };
    case 'shell':
      return {
        type: 'function_call',
        id: `fc_${key}`,
        call_id: `call_${key}`,
        name: 'exec_command',
        status: 'completed',
        arguments: JSON.stringify({ cmd: item.command }),
      };
    case 'reasoning':
      return {
        type: 'reasoning',
        id: `rs_${key}`,
        summary: [{ type: 'summary_text', text: item.text }],
      };
  }
}
