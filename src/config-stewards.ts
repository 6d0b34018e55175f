/**
 * `stewards:` in forge.yaml: long-lived agents that own a piece of a project across runs. Each
 * run is an ordinary job; what a steward adds is when it runs (a cron schedule, a signed wake),
 * its notes carried from run to run, and a budget per day and month across its runs.
 */
import { Cron } from 'croner';
import { z } from 'zod';

/** The longest notes kept (Markdown). Longer notes are cut, saying so. */
export const DEFAULT_NOTES_MAX_BYTES = 16 * 1024;

/** A steward's name is part of URLs, job tags and store keys. */
const STEWARD_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const stewardSchema = z
  .strictObject({
    /** Name under `repos:` the steward works on. */
    repo: z.string().min(1),
    /** Profile under `profiles:` (default: the repository's, else none). */
    profile: z.string().min(1).optional(),
    /** Agent under `agents:` (default: the profile's or `defaults.agent`). */
    agent: z.string().min(1).optional(),
    /** What the steward is for; every run's task starts with it. */
    prompt: z.string().trim().min(1).max(32_000),
    /** Cron: 5 fields, or 6 with seconds first. Omit for a steward woken only by triggers. */
    schedule: z.string().min(1).max(200).optional(),
    /** IANA time zone of the schedule and of the budget's day and month. */
    timezone: z.string().min(1).default('UTC'),
    /** `webhook`: POST /stewards/{name}/wake signed with `webhook_secret` starts a run. */
    triggers: z.array(z.enum(['webhook'])).default([]),
    /** HMAC-SHA256 secret of the wake webhook (e.g. `${CI_WATCHER_SECRET}`). */
    webhook_secret: z.string().optional(),
    /** USD across the steward's runs; a run gets at most what is left. */
    budget: z
      .strictObject({
        per_day: z.number().positive().optional(),
        per_month: z.number().positive().optional(),
      })
      .prefault({}),
    /** Keep notes from run to run, given to the agent at the start of each. */
    notes: z.boolean().default(true),
    notes_max_bytes: z.number().int().min(256).max(1024 * 1024).default(DEFAULT_NOTES_MAX_BYTES),
    /** A schedule missed while Forge was down runs once on start (false: skipped). */
    catch_up: z.boolean().default(true),
  })
  .superRefine((s, ctx) => {
    if (s.schedule !== undefined) {
      try {
        new Cron(s.schedule, { paused: true, timezone: s.timezone });
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule'],
          message: `"${s.schedule}" is not a cron schedule (${(err as Error).message}); use 5 fields, or 6 with seconds first, e.g. "*/30 * * * *"`,
        });
      }
    }
    if (!validTimeZone(s.timezone))
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `"${s.timezone}" is not a time zone; use an IANA name such as UTC or Europe/Berlin`,
      });
    if (s.triggers.includes('webhook') && !s.webhook_secret)
      ctx.addIssue({
        code: 'custom',
        path: ['webhook_secret'],
        message:
          'triggers: [webhook] needs a webhook_secret to check the signature of each wake',
      });
  });

export const stewardsSchema = z
  .record(z.string(), stewardSchema)
  // Checked here rather than as the record's key schema, whose refusal names no rule.
  .superRefine((stewards, ctx) => {
    for (const name of Object.keys(stewards))
      if (!STEWARD_NAME.test(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'a steward name uses lower-case letters, digits, "_" or "-" (at most 63)',
        });
  })
  .default({});

export type StewardConfig = z.output<typeof stewardSchema>;

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
