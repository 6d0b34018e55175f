/** Prometheus metrics. Filled in by the metrics work. */
import { Hono, type MiddlewareHandler } from 'hono';
import type { HttpDeps } from './app.ts';

export interface Metrics {
  /** Times every request by route. */
  middleware: MiddlewareHandler;
  /** `GET /metrics`. */
  routes: Hono;
  /** Counts live SSE clients (the events route calls these). */
  sseOpened(): void;
  sseClosed(): void;
}

export function createMetrics(_deps: HttpDeps): Metrics {
  return {
    middleware: (_c, next) => next(),
    routes: new Hono(),
    sseOpened: () => undefined,
    sseClosed: () => undefined,
  };
}
