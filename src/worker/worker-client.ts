/**
 * The worker's side of the wire: every call to Forge carries the attempt token; a call that does
 * not get through (connection refused or cut, DNS, a timeout, 5xx, 410 from a Forge that does not
 * know the attempt yet or any more) is retried with back-off until `giveUpAfterMs` have passed
 * without one answered call, so a Forge restart or a network blip costs a delay, not the attempt.
 * What it could not reach is printed with the address it tried (the launcher shows the last line
 * when the worker never called home). The token is never printed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../domain/duration.ts';

export interface WorkerClientOptions {
  /** Forge's address as this worker reaches it. */
  url: string;
  token: string;
  /** How long calls keep failing before the worker gives up. */
  giveUpAfterMs: number;
  /** Longest pause between tries (default 2 s). */
  maxBackoffMs?: number;
  log: (line: string) => void;
}

/** Forge was out of reach (or refused the attempt) for longer than `giveUpAfterMs`. */
export class ForgeUnreachable extends Error {
  override name = 'ForgeUnreachable';
}

/** Forge refused the token: no retry will help. */
export class TokenRefused extends Error {
  override name = 'TokenRefused';
}

export interface CallInit {
  method?: string;
  body?: Buffer | Uint8Array | string | ReadableStream | null;
  headers?: Record<string, string>;
  /** Per-try deadline (default 60 s). */
  timeoutMs?: number;
  /** Statuses handed back to the caller rather than retried or thrown (409). */
  accept?: number[];
  /** Builds the body afresh for each try (a stream can be read only once). */
  bodyFactory?: () => ReadableStream;
}

export class WorkerClient {
  private lastAnswered = Date.now();
  private readonly opts: WorkerClientOptions;
  private readonly base: string;
  private failing = false;
  private maxBackoffMs: number;

  constructor(opts: WorkerClientOptions) {
    this.opts = opts;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2_000;
    this.base = `${opts.url.replace(/\/+$/, '')}/worker/v1`;
  }

  /** Calls `path` until it answers 2xx (or an `accept`ed status); rejects with ForgeUnreachable
   *  or TokenRefused. `signal` stops retrying (rejects with its reason). */
  async call(path: string, init: CallInit = {}, signal?: AbortSignal): Promise<Response> {
    let backoff = 100;
    for (;;) {
      signal?.throwIfAborted();
      const why = await this.try(path, init, signal);
      if (why instanceof Response) return why;
      if (Date.now() - this.lastAnswered > this.opts.giveUpAfterMs)
        throw new ForgeUnreachable(
          `could not reach Forge at ${this.opts.url} for ${formatDuration(this.opts.giveUpAfterMs)} (${why}); giving up`,
        );
      if (!this.failing) this.opts.log(`cannot reach Forge at ${this.opts.url}: ${why}; retrying`);
      this.failing = true;
      await sleep(backoff, undefined, signal ? { signal } : {}).catch(() => undefined);
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
    }
  }

  /** Caps the pause between tries, so retries keep within the heartbeat Forge expects. */
  capBackoff(ms: number): void {
    this.maxBackoffMs = Math.max(50, Math.min(this.maxBackoffMs, ms));
  }

  async json<T>(path: string, init: CallInit = {}, signal?: AbortSignal): Promise<T> {
    return (await (await this.call(path, init, signal)).json()) as T;
  }

  /** A Response to hand back, or why this try failed (to retry). */
  private async try(
    path: string,
    init: CallInit,
    signal?: AbortSignal,
  ): Promise<Response | string> {
    const deadline = AbortSignal.timeout(init.timeoutMs ?? 60_000);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${this.opts.token}`, ...init.headers },
        body: init.bodyFactory ? init.bodyFactory() : (init.body ?? null),
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        ...(init.bodyFactory ? { duplex: 'half' } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (err as Error).message;
    }
    if (res.status === 401) {
      await res.body?.cancel();
      throw new TokenRefused(
        `Forge at ${this.opts.url} refused this worker's token; the worker's Secret may belong to another attempt or another Forge`,
      );
    }
    if (res.ok || init.accept?.includes(res.status)) {
      this.lastAnswered = Date.now();
      if (this.failing) this.opts.log(`reached Forge at ${this.opts.url} again`);
      this.failing = false;
      return res;
    }
    const text = await res.text().catch(() => '');
    const said = /"error":"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 200);
    if (res.status >= 500 || res.status === 410 || res.status === 429)
      return `HTTP ${res.status}${said ? `: ${said}` : ''}`;
    throw new Error(`Forge answered ${path} with HTTP ${res.status}: ${said}`);
  }
}
