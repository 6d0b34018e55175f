/**
 * The OpenAPI 3.1 description of every route Forge serves, generated from the zod schemas that
 * validate requests (`submitRequestSchema`) and describe answers (`api-schemas.ts`), so the
 * document cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { MAX_TASK_CHARS, submitRequestSchema } from '../core/submit-job.ts';
import { JOB_STATUSES } from '../domain/job.ts';
import * as api from './api-schemas.ts';
import { followUpSchema } from '../core/follow-up.ts';
import { MAX_FILTER_CHARS, MAX_FILTER_VALUES } from './routes/jobs.ts';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** Components by name, converted as one registry so shared parts become `$ref`s. */
function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  const named: Record<string, z.ZodType> = {
    SubmitRequest: submitRequestSchema,
    SubmitAnswer: api.submitAnswerSchema,
    FollowUpRequest: followUpSchema,
    FollowUpAnswer: api.followUpAnswerSchema,
    Failure: api.failureSchema,
    JobStatus: api.jobStatusSchema,
    JobRepo: api.jobRepoSchema,
    JobResult: api.jobResultSchema,
    JobOrigin: api.jobOriginSchema,
    Job: api.jobSchema,
    Attempt: api.attemptSchema,
    JobRecord: api.jobRecordSchema,
    JobList: api.jobListSchema,
    Output: api.outputSchema,
    Deliveries: api.deliveriesSchema,
    Health: api.healthSchema,
    Steward: api.stewardSchema,
    StewardList: api.stewardListSchema,
    StewardNotes: api.stewardNotesSchema,
    StewardNotesAnswer: api.stewardNotesAnswerSchema,
    StewardNotesRequest: api.stewardNotesRequestSchema,
    Error: api.errorSchema,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
    // What parseSubmitRequest checks beyond the schema's types: a task is not blank (trim() strips
    // what \s matches) and not longer than MAX_TASK_CHARS.
    override: (ctx) => {
      if (ctx.zodSchema === submitRequestSchema.shape.task) {
        Object.assign(ctx.jsonSchema, { pattern: '\\S', maxLength: MAX_TASK_CHARS });
      }
    },
  });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const json = (schema: Json, description: string): Json => ({
  description,
  content: { 'application/json': { schema } },
});
const text = (type: string, description: string, headers?: Json): Json => ({
  description,
  content: { [type]: { schema: { type: 'string' } } },
  ...(headers ? { headers } : {}),
});
/** The error answers by status, each `{error, code}`. */
const errors = (...statuses: number[]): Json =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: the message names the field.',
  401: 'Missing or invalid bearer token.',
  403: 'The token may only read.',
  404: 'No such job (or no output yet).',
  409: 'The job is not in a state that allows this.',
  413: 'Request body (or task) too large.',
  503: 'The store is unavailable.',
};

const jobId = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'Job id (ULID).',
};
const intQuery = (name: string, min: number, description: string, extra: Json = {}): Json => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'integer', minimum: min, ...extra },
});
/** A comma-separated list, as `parseListQuery` splits it. */
const listQuery = (name: string, description: string, items: Json): Json => ({
  name,
  in: 'query',
  required: false,
  description: `${description} Comma-separated, at most ${MAX_FILTER_VALUES} values of at most ${MAX_FILTER_CHARS} characters.`,
  style: 'form',
  explode: false,
  schema: { type: 'array', maxItems: MAX_FILTER_VALUES, items },
});

const PUBLIC: Json = { security: [] };

function jobPaths(): Json {
  return {
    '/jobs': {
      post: {
        operationId: 'submitJob',
        summary: 'Submit a task',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'A key used before returns that earlier job (200) instead of a new one.',
            schema: { type: 'string', minLength: 1, maxLength: 200 },
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('SubmitRequest') } },
        },
        responses: {
          '202': json(ref('SubmitAnswer'), 'Queued.'),
          '200': json(ref('SubmitAnswer'), 'The job this Idempotency-Key created before.'),
          ...errors(400, 401, 403, 413, 503),
        },
      },
      get: {
        operationId: 'listJobs',
        summary: 'List jobs, newest first',
        parameters: [
          listQuery('status', 'Only jobs in one of these statuses (any case).', {
            type: 'string',
            enum: [...JOB_STATUSES],
          }),
          listQuery('tags', 'Only jobs carrying every one of these tags.', {
            type: 'string',
            maxLength: MAX_FILTER_CHARS,
          }),
          intQuery('limit', 1, 'Page size.', { maximum: 100, default: 20 }),
          intQuery('offset', 0, 'Jobs to skip.', { default: 0 }),
          {
            name: 'parent_id',
            in: 'query',
            required: false,
            description: 'Only the follow-ups of this job.',
            schema: { type: 'string', maxLength: MAX_FILTER_CHARS },
          },
        ],
        responses: { '200': json(ref('JobList'), 'A page of jobs.'), ...errors(400, 401, 503) },
      },
    },
    '/jobs/{id}': {
      get: {
        operationId: 'getJob',
        summary: 'One job with its attempts',
        parameters: [jobId],
        responses: { '200': json(ref('JobRecord'), 'The job.'), ...errors(401, 404, 503) },
      },
    },
    '/jobs/{id}/cancel': {
      post: {
        operationId: 'cancelJob',
        summary: 'Cancel a PENDING or RUNNING job',
        parameters: [jobId],
        responses: {
          '200': json(ref('JobRecord'), 'Cancelled.'),
          ...errors(401, 403, 404, 409, 503),
        },
      },
    },
    '/jobs/{id}/retry': {
      post: {
        operationId: 'retryJob',
        summary: 'Queue a FAILED or CANCELLED job again with a fresh retry budget',
        parameters: [jobId],
        responses: {
          '200': json(ref('JobRecord'), 'Queued again.'),
          ...errors(401, 403, 404, 409, 503),
        },
      },
    },
    '/jobs/{id}/follow-up': {
      post: {
        operationId: 'followUpJob',
        summary:
          "Queue the next piece of work on a finished job's branch: its task and summary plus a new instruction",
        parameters: [jobId],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('FollowUpRequest') } },
        },
        responses: {
          '202': json(ref('FollowUpAnswer'), 'Queued.'),
          ...errors(400, 401, 403, 404, 409, 503),
        },
      },
    },
    '/jobs/{id}/output': {
      get: {
        operationId: 'getJobOutput',
        summary: "The tail of the latest attempt's output",
        parameters: [jobId],
        responses: { '200': json(ref('Output'), 'The output.'), ...errors(401, 404, 503) },
      },
    },
    '/jobs/{id}/log': {
      get: {
        operationId: 'getJobLog',
        summary: "An attempt's full log from a byte offset",
        parameters: [
          jobId,
          intQuery('attempt', 1, 'Attempt number (default: the latest).'),
          intQuery('offset', 0, 'Byte offset to start from.', { default: 0 }),
        ],
        responses: {
          '200': text('text/plain', 'The log from `offset` to its size when asked.', {
            'x-forge-log-size': { schema: { type: 'integer' }, description: 'Log size in bytes.' },
            'x-forge-attempt': { schema: { type: 'integer' }, description: 'Attempt number.' },
          }),
          ...errors(400, 401, 404, 503),
        },
      },
    },
    '/jobs/{id}/events': {
      get: {
        operationId: 'followJob',
        summary: 'Follow a job live (Server-Sent Events)',
        description:
          '`status` events carry `{status, attempt, failure?}`, `output` events `{attempt, line}`; each id is `attempt:offset`, to resume from with `Last-Event-ID`. The stream ends when the job is finished.',
        parameters: [
          jobId,
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            schema: { type: 'string', pattern: '^\\d+:\\d+$' },
          },
          {
            name: 'last_event_id',
            in: 'query',
            required: false,
            description: 'As `Last-Event-ID`, for clients that cannot set headers.',
            schema: { type: 'string', pattern: '^\\d+:\\d+$' },
          },
        ],
        responses: {
          '200': text('text/event-stream', 'The event stream.'),
          ...errors(401, 404, 503),
        },
      },
    },
    '/jobs/{id}/deliveries': {
      get: {
        operationId: 'getJobDeliveries',
        summary: 'What Forge told the world about the job, and how it went',
        parameters: [jobId],
        responses: {
          '200': json(ref('Deliveries'), 'The deliveries.'),
          ...errors(401, 404, 503),
        },
      },
    },
  };
}

function otherPaths(): Json {
  const anyJson = { 'application/json': { schema: {} } };
  return {
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness and readiness probe (no token needed)',
        ...PUBLIC,
        responses: {
          '200': json(ref('Health'), 'Ready.'),
          '503': json(ref('Health'), 'The store is unavailable.'),
        },
      },
    },
    '/hooks/{source}': {
      post: {
        operationId: 'receiveWebhook',
        summary: "A forge's webhook, authenticated by its signature, not a bearer token",
        ...PUBLIC,
        parameters: [{ name: 'source', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: anyJson },
        responses: {
          '200': { description: 'Accepted (or ignored).', content: anyJson },
          '202': { description: 'Accepted for processing.', content: anyJson },
          ...errors(401, 404, 413),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (no token needed when `metrics.public: true`)',
        responses: { '200': text('text/plain', 'Prometheus text format 0.0.4.'), ...errors(401) },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        ...PUBLIC,
        responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.') },
      },
    },
    '/mcp': mcpPath(anyJson),
    '/.well-known/oauth-protected-resource/mcp': {
      get: {
        operationId: 'mcpResourceMetadata',
        summary: "The MCP endpoint's OAuth protected-resource metadata (RFC 9728)",
        ...PUBLIC,
        responses: { '200': json({ type: 'object' }, 'Metadata.') },
      },
    },
    '/ui': {
      get: {
        operationId: 'dashboardRedirect',
        summary: 'Redirects to /ui/',
        ...PUBLIC,
        responses: { '301': { description: 'To /ui/.' } },
      },
    },
    '/ui/': {
      get: {
        operationId: 'dashboard',
        summary: 'The dashboard (its files are public; it asks for a token)',
        ...PUBLIC,
        responses: { '200': text('text/html', 'The dashboard page.') },
      },
    },
  };
}

function mcpPath(anyJson: Json): Json {
  const mcp = (operationId: string, summary: string): Json => ({
    operationId,
    summary,
    description: 'Answers 401 with `WWW-Authenticate` pointing to the resource metadata.',
    responses: { '200': { description: 'MCP answer.', content: anyJson }, ...errors(401) },
  });
  return {
    post: {
      ...mcp('mcpRequest', 'MCP over streamable HTTP: a JSON-RPC message'),
      requestBody: { required: true, content: anyJson },
    },
    get: mcp('mcpStream', 'MCP: server-to-client stream'),
    delete: mcp('mcpEndSession', 'MCP: end the session'),
  };
}

function stewardPaths(): Record<string, Json> {
  const name = {
    name: 'name',
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: 'Steward name under `stewards:`.',
  };
  const act = (operationId: string, summary: string, extra: Json = {}): Json => ({
    post: {
      operationId,
      summary,
      parameters: [name],
      responses: { '200': json(ref('Steward'), 'The steward now.'), ...errors(401, 403, 404, 503) },
      ...extra,
    },
  });
  return {
    '/stewards': {
      get: {
        operationId: 'listStewards',
        summary: 'Every configured steward',
        responses: { '200': json(ref('StewardList'), 'The stewards.'), ...errors(401, 503) },
      },
    },
    '/stewards/{name}': {
      get: {
        operationId: 'getSteward',
        summary: 'A steward: status, next run, spend, last runs, notes',
        parameters: [name],
        responses: { '200': json(ref('Steward'), 'The steward.'), ...errors(401, 404, 503) },
      },
    },
    '/stewards/{name}/pause': act(
      'pauseSteward',
      'Start no runs until resumed (a running one finishes)',
    ),
    '/stewards/{name}/resume': act(
      'resumeSteward',
      'Start runs again (a wake kept while paused runs now)',
    ),
    '/stewards/{name}/wake': act(
      'wakeSteward',
      'Ask for a run; with triggers: [webhook] it may be signed (X-Forge-Timestamp and X-Forge-Signature, or a forge signature header) instead of a token',
      {
        security: [{ bearer: [] }, {}],
        responses: {
          '202': json(ref('Steward'), 'The wake is kept; the run starts when it may.'),
          ...errors(401, 403, 404, 413, 503),
        },
      },
    ),
    '/stewards/{name}/notes': {
      get: {
        operationId: 'getStewardNotes',
        summary: "A steward's notes and their history",
        parameters: [
          name,
          intQuery('history', 1, 'How many versions, newest first.', { maximum: 100, default: 20 }),
        ],
        responses: {
          '200': json(ref('StewardNotesAnswer'), 'The notes.'),
          ...errors(400, 401, 404, 503),
        },
      },
      put: {
        operationId: 'putStewardNotes',
        summary: "A person's new version of a steward's notes",
        parameters: [name],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('StewardNotesRequest') } },
        },
        responses: {
          '200': json(ref('StewardNotes'), 'The version saved.'),
          ...errors(400, 401, 403, 404, 409, 413, 503),
        },
      },
    },
  };
}

/** The document, built once. */
let built: Json | null = null;

export function openApiDocument(): Json {
  built ??= {
    openapi: '3.1.0',
    info: {
      title: 'Forge',
      version: '0.1.0',
      description:
        'A self-hosted factory for coding agents. Errors are `{error, code}` with a message for a person.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths: { ...jobPaths(), ...stewardPaths(), ...otherPaths() },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from `server.tokens`; viewers may only read.',
        },
      },
      responses: Object.fromEntries(
        Object.entries(ERROR_TEXT).map(([s, d]) => [`E${s}`, json(ref('Error'), d)]),
      ),
    },
  };
  return built;
}
