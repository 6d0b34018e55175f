/**
 * The JSON the API answers with, described once as zod schemas: the OpenAPI document is generated
 * from them, and the tests hold `serialize.ts`'s output to them (strictly, so a new field there
 * fails until it is described here).
 */
import { z } from 'zod';
import { FAILURE_CATEGORIES } from '../domain/failure.ts';
import { JOB_STATUSES } from '../domain/job.ts';
import { STATUS_BY_CODE } from './errors.ts';

const timestamp = z.string().meta({ format: 'date-time' });
const nullableString = z.string().nullable();

export const failureSchema = z
  .strictObject({ category: z.enum(FAILURE_CATEGORIES), message: z.string() })
  .meta({ description: 'Why a job or attempt did not succeed, with a message to act on.' });

export const jobStatusSchema = z.enum(JOB_STATUSES);

export const jobRepoSchema = z.strictObject({
  url: z.string().meta({ description: 'Clone URL (no credentials).' }),
  name: nullableString.meta({ description: 'Name under `repos:`, when the job named one.' }),
  forge: nullableString.meta({ description: 'Name under `forges:` that hosts it.' }),
  base_branch: nullableString.meta({ description: "null: the repository's default branch." }),
  branch: nullableString.meta({ description: 'null: `forge/<job id in lower case>`.' }),
  open_pr: z.boolean(),
  draft: z.boolean(),
  start_commit: nullableString.optional(),
});

export const jobResultSchema = z.strictObject({
  branch: z.string(),
  commit: nullableString,
  pr_url: z.string().optional(),
  pr_number: z.number().int().optional(),
  changed_files: z.number().int(),
  insertions: z.number().int(),
  deletions: z.number().int(),
  no_changes: z.boolean().optional(),
  wip: z.boolean().optional(),
});

export const jobOriginSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('issue'),
    source: z.string(),
    repo: z.string(),
    number: z.number().int(),
    url: z.string(),
  }),
  z.strictObject({ kind: z.literal('telegram'), notifier: z.string(), chat_id: z.number().int() }),
]);

/** `jobSummary` in serialize.ts: an item of GET /jobs. */
export const jobSchema = z.strictObject({
  id: z.string().meta({ description: 'ULID.' }),
  task: z.string(),
  agent: z.string(),
  profile: nullableString,
  status: jobStatusSchema,
  created_at: timestamp,
  updated_at: timestamp,
  max_retries: z.number().int(),
  source: z.string(),
  tags: z.array(z.string()),
  budget_usd: z.number().nullable(),
  cost_usd: z.number(),
  inactivity_timeout: z.string().meta({ description: 'A duration such as `10m`.' }),
  max_duration: z.string().meta({ description: 'A duration such as `1h`.' }),
  attempt_count: z.number().int(),
  model: z.string().optional(),
  max_turns: z.number().int().optional(),
  repo: jobRepoSchema.optional(),
  result: jobResultSchema.optional(),
  failure: failureSchema.optional(),
  origin: jobOriginSchema.optional(),
  parent_id: z.string().optional(),
});

export const attemptSchema = z.strictObject({
  number: z.number().int(),
  sandbox: z.string(),
  started_at: timestamp,
  finished_at: timestamp.optional(),
  exit_code: z.number().int().optional(),
  output: z.string().meta({ description: 'The last 32 KiB of the output.' }),
  truncated: z.boolean(),
  failure: failureSchema.optional(),
  cost_usd: z.number().optional(),
  turns: z.number().int().optional(),
  session_id: z.string().optional(),
  summary: z.string().optional(),
});

/** `jobRecord` in serialize.ts: one job with its attempts. */
export const jobRecordSchema = jobSchema.extend({
  cost_usd: z.number().meta({ description: 'Includes what a running attempt has spent so far.' }),
  turns: z.number().int(),
  attempts: z.array(attemptSchema),
  follow_ups: z
    .array(z.string())
    .optional()
    .meta({ description: 'Ids of the jobs that follow this one up, oldest first.' }),
});

export const jobListSchema = z.strictObject({ jobs: z.array(jobSchema), total: z.number().int() });

export const submitAnswerSchema = z.strictObject({
  id: z.string(),
  status: jobStatusSchema,
  created_at: timestamp,
});

export const followUpAnswerSchema = submitAnswerSchema.extend({ parent_id: z.string() });

export const outputSchema = z.strictObject({
  attempt: z.number().int(),
  status: jobStatusSchema,
  exit_code: z.number().int().optional(),
  output: z.string(),
  truncated: z.boolean(),
});

export const deliveriesSchema = z.strictObject({
  deliveries: z.array(
    z.strictObject({
      id: z.number().int(),
      sink: z.string(),
      event: z.string(),
      state: z.enum(['pending', 'delivered', 'dead']),
      attempts: z.number().int(),
      last_error: nullableString,
      created_at: timestamp,
      delivered_at: timestamp.nullable(),
      next_at: timestamp.optional(),
    }),
  ),
});

export const healthSchema = z
  .looseObject({ status: z.enum(['ok', 'unavailable']), reason: z.string().optional() })
  .meta({ description: 'Extra fields report delivery backlog and intake errors.' });

/** Every error answer: a message for a person and a code for a program. */
export const errorSchema = z.strictObject({
  error: z.string(),
  code: z.enum(Object.keys(STATUS_BY_CODE) as [keyof typeof STATUS_BY_CODE]),
});

export const stewardNotesSchema = z
  .strictObject({
    version: z.number().int().min(1),
    text: z.string().meta({ description: 'Markdown, capped and redacted.' }),
    at: timestamp,
    by: z.string().meta({ description: '`job:<id>` for a run, `api:<token name>` for a person.' }),
    job_id: nullableString,
  })
  .meta({ description: "One version of a steward's notes." });

const wakeReason = z.enum(['schedule', 'webhook', 'api', 'catch_up']);

export const stewardSchema = z
  .strictObject({
    name: z.string(),
    repo: z.string(),
    profile: nullableString,
    agent: nullableString,
    prompt: z.string(),
    schedule: nullableString,
    timezone: z.string(),
    triggers: z.array(z.string()),
    status: z.enum(['running', 'idle', 'paused', 'paused_budget']),
    paused: z.boolean(),
    pending: z
      .strictObject({ reason: wakeReason, at: timestamp, by: nullableString })
      .nullable()
      .meta({ description: 'A wake waiting for the next run (several coalesce into one).' }),
    next_run: timestamp.nullable(),
    budget: z.strictObject({
      per_day: z.number().nullable(),
      per_month: z.number().nullable(),
      resets_at: timestamp
        .nullable()
        .meta({ description: 'When spent: when runs may start again.' }),
    }),
    spend: z.strictObject({ today_usd: z.number(), month_usd: z.number() }),
    current_job: nullableString,
    runs: z.number().int(),
    last_runs: z.array(
      z.strictObject({
        id: z.string(),
        status: jobStatusSchema,
        created_at: timestamp,
        updated_at: timestamp,
        cost_usd: z.number(),
      }),
    ),
    notes: stewardNotesSchema.nullable(),
    last_error: z
      .strictObject({ at: timestamp, message: z.string() })
      .nullable()
      .meta({
        description:
          "Why this server's last step for the steward failed (e.g. its run could not be filed).",
      }),
  })
  .meta({ description: 'A steward: a long-lived agent whose runs are jobs.' });

export const stewardListSchema = z.strictObject({ stewards: z.array(stewardSchema) });

export const stewardNotesAnswerSchema = z.strictObject({
  notes: stewardNotesSchema.nullable(),
  history: z.array(stewardNotesSchema),
});

export const stewardNotesRequestSchema = z.strictObject({
  version: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'The version edited (0: none yet); a newer one stored gives 409.' }),
  text: z
    .string()
    .meta({ description: "The notes, Markdown, at most the steward's notes_max_bytes." }),
});
