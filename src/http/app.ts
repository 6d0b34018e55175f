import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { ForgeConfig } from '../config.ts';
import type { EventBus } from '../core/events.ts';
import type { AttemptLogs } from '../ports/logs.ts';
import type { JobStore } from '../ports/store.ts';
import { bearerAuth } from './auth.ts';
import { errorBody, errorResponse } from './errors.ts';
import type { WebhookReceiver } from '../intake/webhook-receiver.ts';
import { eventRoutes } from './routes/events.ts';
import { hookRoutes } from './routes/hooks.ts';
import { workerRoutes, type WorkerAttempts } from './routes/worker.ts';
import { uiRoutes } from './routes/ui.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { openApiRoutes } from './openapi.ts';
import { mcpRoutes } from '../mcp/mcp-routes.ts';
import { jobRoutes } from './routes/jobs.ts';
import { stewardRoutes, stewardWakeRoute } from './routes/stewards.ts';
import type { Stewards } from '../stewards/stewards.ts';

export interface HttpDeps {
  store: JobStore;
  bus: EventBus;
  config: ForgeConfig;
  /** Attempts' full logs, read by byte range and followed live: the API never opens files. */
  logs: AttemptLogs;
  logger: Logger;
  /** Webhook receivers of the intake sources, by source name. */
  hooks?: ReadonlyMap<string, WebhookReceiver>;
  /** Prometheus metrics (default: a fresh registry for this app). */
  metrics?: Metrics;
  /** Extra details for GET /health (delivery backlog, intake errors); never fails the probe. */
  healthDetails?: () => Promise<Record<string, unknown>>;
  /** Live remote attempts, for the worker protocol (absent: no remote sandbox, no worker routes). */
  workerAttempts?: WorkerAttempts;
  /** The configured stewards (absent: none, and no /stewards routes answer but the list). */
  stewards?: Stewards;
}

/** Routes and the methods they answer, so a wrong method gets 405 rather than 404. */
const ROUTES: Array<[RegExp, string[]]> = [
  [/^\/jobs$/, ['GET', 'POST']],
  [/^\/jobs\/[^/]+$/, ['GET']],
  [/^\/jobs\/[^/]+\/(cancel|retry|follow-up)$/, ['POST']],
  [/^\/jobs\/[^/]+\/(output|events|log)$/, ['GET']],
  [/^\/health$/, ['GET']],
  [/^\/hooks\/[^/]+$/, ['POST']],
  [/^\/jobs\/[^/]+\/deliveries$/, ['GET']],
  [/^\/stewards(\/[^/]+)?$/, ['GET']],
  [/^\/stewards\/[^/]+\/(pause|resume|wake)$/, ['POST']],
  [/^\/stewards\/[^/]+\/notes$/, ['GET', 'PUT']],
  [/^\/metrics$/, ['GET']],
  [/^\/openapi\.json$/, ['GET']],
  [/^\/mcp$/, ['GET', 'POST', 'DELETE']],
  [/^\/worker\/v1\/(attempt|workspace|control)$/, ['GET']],
  [/^\/worker\/v1\/(output|exit)$/, ['POST']],
  [/^\/worker\/v1\/result$/, ['PUT']],
];

export function createApp(deps: HttpDeps): Hono {
  const app = new Hono();
  const metrics: Metrics = deps.metrics ?? createMetrics(deps);
  app.use('*', metrics.middleware);
  const logError = (err: unknown): void => deps.logger.error({ err }, 'request failed');

  app.onError((err, c) => errorResponse(c, err, logError));
  app.notFound((c) => {
    const route = ROUTES.find(([pattern]) => pattern.test(c.req.path));
    if (route) {
      c.header('Allow', route[1].join(', '));
      return c.json(
        errorBody(
          'method_not_allowed',
          `${c.req.method} is not allowed on ${c.req.path}; use ${route[1].join(' or ')}`,
        ),
        405,
      );
    }
    return c.json(
      errorBody('not_found', `no route ${c.req.method} ${c.req.path}; see the README for the API`),
      404,
    );
  });

  app.get('/health', async (c) => {
    try {
      await deps.store.ping();
      const details = deps.healthDetails ? await deps.healthDetails() : {};
      return c.json({ status: 'ok', ...details });
    } catch (err) {
      return c.json({ status: 'unavailable', reason: (err as Error).message }, 503);
    }
  });

  // Forges sign their webhooks; they cannot send a bearer token.
  app.route('/', hookRoutes(deps.hooks ?? new Map()));
  // Workers hold a token for their one attempt, never an API token.
  if (deps.workerAttempts) app.route('/', workerRoutes(deps.workerAttempts));
  // CI and forges wake stewards with a signature instead of a token (checked in the route).
  if (deps.stewards) app.route('/', stewardWakeRoute(deps.stewards, deps.config));
  // The dashboard's files are public (it asks for a token and sends it with every API call); the
  // API description holds no data; MCP answers 401 with WWW-Authenticate itself.
  app.route('/', uiRoutes());
  app.route('/', openApiRoutes());
  app.route('/', mcpRoutes(deps));
  if (deps.config.metrics.public) app.route('/', metrics.routes);
  app.use('*', bearerAuth(deps.config.server.tokens));
  if (!deps.config.metrics.public) app.route('/', metrics.routes);
  app.use(
    '/jobs',
    bodyLimit({
      maxSize: 1024 * 1024,
      // Answered before the body is read: close the connection, or a keep-alive client would
      // reuse a socket the server drops while discarding the unread body.
      onError: (c) =>
        c.json(
          errorBody(
            'payload_too_large',
            'request body is over 1 MiB; a task may be at most 100,000 characters',
          ),
          413,
          { connection: 'close' },
        ),
    }),
  );
  app.use(
    '/jobs/:id/follow-up',
    bodyLimit({
      maxSize: 256 * 1024,
      onError: (c) =>
        c.json(
          errorBody(
            'payload_too_large',
            'request body is over 256 KiB; a follow-up message may be at most 32,000 characters',
          ),
          413,
          { connection: 'close' },
        ),
    }),
  );
  app.route('/', jobRoutes(deps));
  app.route('/', eventRoutes(deps));
  if (deps.stewards) app.route('/', stewardRoutes(deps.stewards, deps.config));
  else app.get('/stewards', (c) => c.json({ stewards: [] }));
  return app;
}
