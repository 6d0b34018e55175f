/** A small client for Forge's HTTP API, used by the CLI. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface ClientOptions {
  url: string;
  token?: string;
}

export class ForgeClient {
  private readonly url: string;
  private readonly token: string | undefined;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> {
    const res = await this.fetch(path, {
      method,
      headers: this.headers(
        body === undefined ? extra : { 'content-type': 'application/json', ...extra },
      ),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const data = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      const err = (data ?? {}) as { error?: string; code?: string };
      throw new ApiError(res.status, err.code ?? 'error', err.error ?? `HTTP ${res.status}`);
    }
    return data as T;
  }

  /** Raw response (text bodies, streams). Throws ApiError for non-2xx. */
  async raw(
    path: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const res = await this.fetch(path, {
      headers: this.headers(headers),
      ...(signal ? { signal } : {}),
    });
    if (!res.ok) {
      const err = (await res.json().catch(() => ({}))) as { error?: string; code?: string };
      throw new ApiError(res.status, err.code ?? 'error', err.error ?? `HTTP ${res.status}`);
    }
    return res;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, init);
    } catch (err) {
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach Forge at ${this.url} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is "forge serve" running? Set --url or FORGE_URL`,
      );
    }
  }
}

export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
}

/** Parses a text/event-stream body into messages. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let id: string | undefined;
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length) yield { event, id, data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (line.startsWith(':')) {
        continue;
      } else {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
    }
  }
}
