/**
 * Prometheus metrics, one registry per `Metrics` (never prom-client's global one, so several apps
 * in one process and tests do not collide). Job counts are read from the store at scrape time;
 * attempt counters and histograms follow the bus's `job.status` events, for the attempts this
 * process saw start.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus, ForgeEvent } from '../core/events.ts';
import type { Failure } from '../domain/failure.ts';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../domain/job.ts';
import type { JobRecords } from '../ports/store.ts';
import { defineWorkspacePoolMetrics, type WorkspacePoolFigures } from './workspace-pool-metrics.ts';

export interface Metrics {
  /** Times every request by route. */
  middleware: MiddlewareHandler;
  /** `GET /metrics`. */
  routes: Hono;
  /** Counts live SSE clients (the events route calls these). */
  sseOpened(): void;
  sseClosed(): void;
}

export interface MetricsDeps {
  store: Pick<JobRecords, 'list' | 'get'>;
  bus: EventBus;
  logger: Logger;
  /** The workspace pools' figures (none when no repository has a pool). */
  workspacePools?: () => WorkspacePoolFigures[];
}

const byDeps = new WeakMap<object, Metrics>();

/** The Metrics created for these deps (by `createApp` when it was given none), if any. */
export function metricsOf(deps: object): Metrics | undefined {
  return byDeps.get(deps);
}

/** What became of an attempt when its job left RUNNING. */
const OUTCOMES: Partial<Record<JobStatus, string>> = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  PENDING: 'retrying',
  CANCELLED: 'cancelled',
};

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds buckets for attempts: agents run from seconds to hours. */
const ATTEMPT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400];
const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 14_400];

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  /** Attempts seen starting and not yet ended, by job id. */
  const open = new Map<string, OpenAttempt>();
  const m = defineMetrics(registry, deps, open);
  const middleware: MiddlewareHandler = async (c, next) => {
    const end = m.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
      end({ method, route: routeOf(c), status: String(c.res.status) });
    }
  };
  let defaults = false;
  const routes = new Hono();
  routes.get('/metrics', async (c) => {
    // Process metrics start with the first scrape: an app nobody scrapes watches no GC.
    if (!defaults) collectDefaultMetrics({ register: registry });
    defaults = true;
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
  followAttempts(deps, m, open);
  const metrics: Metrics = {
    middleware,
    routes,
    sseOpened: () => m.sseClients.inc(),
    sseClosed: () => m.sseClients.dec(),
  };
  byDeps.set(deps, metrics);
  return metrics;
}

/** The route template the router matched (`/jobs/:id`), so ids never become label values;
 *  `unmatched` when only middleware matched (a 404). */
function routeOf(c: Context): string {
  const route = matchedRoutes(c)
    .map((r) => r.path)
    .filter((p) => p !== '*' && p !== '/*')
    .at(-1);
  return route ?? 'unmatched';
}

type Defined = ReturnType<typeof defineMetrics>;

function defineMetrics(registry: Registry, deps: MetricsDeps, open: Map<string, OpenAttempt>) {
  const registers = [registry];
  if (deps.workspacePools) defineWorkspacePoolMetrics(registers, deps.workspacePools);
  const count = async (status: JobStatus): Promise<number> =>
    (await deps.store.list({ statuses: [status], limit: 1, offset: 0 })).total;
  const scrapeFailed = (err: unknown): void =>
    deps.logger.error({ err }, 'metrics could not count jobs in the store');
  const metrics = {
    jobs: new Gauge({
      name: 'forge_jobs',
      help: 'Jobs in the store by status.',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        this.reset();
        try {
          for (const status of JOB_STATUSES) this.set({ status }, await count(status));
        } catch (err) {
          scrapeFailed(err);
        }
      },
    }),
    queueDepth: new Gauge({
      name: 'forge_queue_depth',
      help: 'Jobs waiting to run (PENDING).',
      registers,
      async collect() {
        this.reset();
        try {
          this.set(await count('PENDING'));
        } catch (err) {
          scrapeFailed(err);
        }
      },
    }),
    running: new Gauge({
      name: 'forge_running_attempts',
      help: 'Attempts this process is running now.',
      registers,
      collect() {
        this.set(open.size);
      },
    }),
    started: new Counter({
      name: 'forge_attempts_started_total',
      help: 'Attempts started (job moved to RUNNING).',
      registers,
    }),
    finished: new Counter({
      name: 'forge_attempts_finished_total',
      help: 'Attempts ended (job left RUNNING), by outcome and failure category.',
      labelNames: ['outcome', 'category'] as const,
      registers,
    }),
    queueWait: new Histogram({
      name: 'forge_queue_wait_seconds',
      help: 'Time a job waited in the queue before an attempt started.',
      buckets: WAIT_BUCKETS,
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'forge_attempt_duration_seconds',
      help: 'Time from an attempt starting to its job leaving RUNNING.',
      buckets: ATTEMPT_BUCKETS,
      registers,
    }),
    cost: new Counter({
      name: 'forge_cost_usd_total',
      help: 'Cost of closed attempts in USD, by agent and profile.',
      labelNames: ['agent', 'profile'] as const,
      registers,
    }),
    sseClients: new Gauge({
      name: 'forge_sse_clients',
      help: 'Clients following a job over Server-Sent Events.',
      registers,
    }),
    httpDuration: new Histogram({
      name: 'forge_http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
  };
  return metrics;
}

interface OpenAttempt {
  attempt: number;
  startedMs: number;
}

/** Follows `job.status` events. A listener never throws into the bus: failures are logged. */
function followAttempts(deps: MetricsDeps, m: Defined, open: Map<string, OpenAttempt>): void {
  /** Attempts whose job left RUNNING before the attempt closed (a cancel): cost comes later. */
  const closing = new Map<string, number>();
  const failed = (err: unknown): void =>
    deps.logger.warn({ err }, 'metrics could not follow a job event');
  const read = (jobId: string): Promise<JobRecord | null> =>
    deps.store.get(jobId).catch((err: unknown) => {
      failed(err);
      return null;
    });

  const started = async (jobId: string, attempt: number): Promise<void> => {
    const record = await read(jobId);
    const wait = record && queueWait(record, attempt);
    if (wait !== null && wait !== undefined) m.queueWait.observe(wait);
  };

  const addCost = (record: JobRecord | null, attempt: number): boolean => {
    const closed = record?.attempts.find((a) => a.number === attempt && a.finished_at !== null);
    if (!record || !closed) return false;
    if (closed.cost_usd)
      m.cost.inc({ agent: record.agent, profile: record.profile ?? 'none' }, closed.cost_usd);
    return true;
  };

  const ended = async (
    jobId: string,
    attempt: number,
    status: JobStatus,
    failure: Failure | null,
  ): Promise<void> => {
    const record = await read(jobId);
    const own = record?.attempts.find((a) => a.number === attempt)?.failure;
    const category = (own ?? failure)?.category ?? 'none';
    m.finished.inc({ outcome: OUTCOMES[status] ?? status.toLowerCase(), category });
    if (!addCost(record, attempt)) closing.set(jobId, attempt);
  };

  const closed = async (jobId: string, attempt: number): Promise<void> => {
    if (addCost(await read(jobId), attempt)) closing.delete(jobId);
  };

  const onEvent = (event: ForgeEvent): void => {
    if (event.type !== 'job.status') return;
    const { jobId, attempt, status } = event;
    const current = open.get(jobId);
    if (status === 'RUNNING') {
      open.set(jobId, { attempt, startedMs: performance.now() });
      closing.delete(jobId);
      m.started.inc();
      started(jobId, attempt).catch(failed);
    } else if (current && current.attempt === attempt) {
      open.delete(jobId);
      m.attemptDuration.observe((performance.now() - current.startedMs) / 1000);
      ended(jobId, attempt, status, event.failure).catch(failed);
    } else if (closing.get(jobId) === attempt) {
      closed(jobId, attempt).catch(failed);
    }
  };

  deps.bus.subscribe((event) => {
    try {
      onEvent(event);
    } catch (err) {
      failed(err);
    }
  });
}

/** Seconds from when the job became ready (created, or its previous attempt ended) to when this
 *  attempt started, or null when the record does not tell. */
function queueWait(record: JobRecord, attempt: number): number | null {
  const current = record.attempts.find((a) => a.number === attempt);
  if (!current) return null;
  const previous = record.attempts.find((a) => a.number === attempt - 1);
  const since = Date.parse(previous?.finished_at ?? record.created_at);
  const wait = (Date.parse(current.started_at) - since) / 1000;
  return Number.isFinite(wait) ? Math.max(0, wait) : null;
}
