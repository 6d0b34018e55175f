/**
 * A follow-up: the next piece of work on a finished job's branch, asked for by a person (the API,
 * the CLI, MCP) with a new instruction. The new job is the parent's spec with a new task — the
 * parent's task, what its agent said it did, and the instruction — on the parent's branch from
 * the commit the parent pushed last, so its commits land on the same pull request. It inherits
 * the parent's agent, profile, settings, limits and origin (so it reports where the chain came
 * from); a request may lower the budget, turns and retries, never raise them above the caps.
 */
import { z } from 'zod';
import { ForgeError } from '../domain/errors.ts';
import type { Job, JobRecord, JobSpec } from '../domain/job.ts';
import type { SubmitDeps } from './submit-job.ts';

/** The longest instruction taken (a follow-up is a message, not a specification). */
export const MAX_FOLLOW_UP_CHARS = 32_000;

export const followUpSchema = z.strictObject({
  message: z
    .string()
    .trim()
    .min(1, 'say what to do next')
    .max(MAX_FOLLOW_UP_CHARS, `at most ${MAX_FOLLOW_UP_CHARS} characters`),
  budget_usd: z.number().positive().optional(),
  max_turns: z.number().int().min(1).max(10_000).optional(),
  max_retries: z.number().int().min(0).max(10).optional(),
  model: z.string().min(1).max(200).optional(),
});

export type FollowUpRequest = z.infer<typeof followUpSchema>;

export function parseFollowUp(body: unknown): FollowUpRequest {
  const result = followUpSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field =
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.join(', ')}; allowed: ${Object.keys(followUpSchema.shape).join(', ')}`
        : `${issue.path.join('.') || 'body'}: ${issue.message}`;
    throw new ForgeError('invalid_request', field);
  }
  return result.data;
}

/** The follow-up's task: what came before, framed as context, then the instruction. */
export function followUpTask(parent: JobRecord, message: string, from?: string): string {
  const last = parent.attempts.at(-1);
  const summary = last?.summary?.trim();
  return [
    'This continues earlier work on this branch. The earlier task was:',
    '',
    parent.task,
    '',
    summary
      ? `What was done then (the agent's own summary):\n\n${summary}`
      : 'There is no summary of what was done then; read the branch history (git log) to see it.',
    '',
    `That job ended ${parent.status}. What to do now is the task below; the earlier task is done`,
    'unless the task says otherwise.',
    ...(from ? [`The task below was asked for by ${from}.`] : []),
    '',
    // The same heading the retry prompt gives the task, so the instruction reads alike in both.
    'The task:',
    message,
  ].join('\n');
}

/** Files the follow-up of `parentId`. Throws not_found, conflict (the parent still runs) or
 *  invalid_request. */
export async function followUpJob(
  deps: SubmitDeps,
  parentId: string,
  body: unknown,
  /** The same key files one job however often it is given (a comment seen twice). */
  idempotencyKey?: string,
  /** Who asked, in words for the task ("@ana in a review of pull request #7"). */
  from?: string,
): Promise<Job> {
  const req = parseFollowUp(body);
  const parent = await deps.store.get(parentId);
  if (!parent) {
    throw new ForgeError('not_found', `no job with id ${parentId}; list jobs with GET /jobs`);
  }
  if (parent.status === 'PENDING' || parent.status === 'RUNNING') {
    throw new ForgeError(
      'conflict',
      `job ${parent.id} is ${parent.status}; follow up once it has ended (or cancel it first)`,
    );
  }
  const { limits } = deps.config;
  if (req.budget_usd !== undefined && req.budget_usd > limits.max_budget_usd) {
    throw new ForgeError(
      'invalid_request',
      `budget_usd: $${req.budget_usd} is above the allowed $${limits.max_budget_usd}`,
    );
  }
  if (req.max_retries !== undefined && req.max_retries > limits.max_retries) {
    throw new ForgeError(
      'invalid_request',
      `max_retries: ${req.max_retries} is above the allowed ${limits.max_retries}`,
    );
  }
  const spec: JobSpec = {
    task: followUpTask(parent, req.message, from),
    agent: parent.agent,
    profile: parent.profile,
    max_retries: req.max_retries ?? parent.max_retries,
    budget_usd: req.budget_usd ?? parent.budget_usd,
    tags: [...parent.tags],
    source: parent.source,
    inactivity_timeout_ms: parent.inactivity_timeout_ms,
    max_duration_ms: parent.max_duration_ms,
    model: req.model ?? parent.model,
    max_turns: req.max_turns ?? parent.max_turns,
    repo: parent.repo && {
      ...parent.repo,
      // The parent's branch, from what it pushed last (none pushed: from its base, afresh).
      branch: parent.result?.branch ?? parent.repo.branch,
      start_commit: parent.result?.commit ?? parent.repo.start_commit ?? null,
    },
    settings: structuredClone(parent.settings),
    origin: parent.origin && structuredClone(parent.origin),
    parent_id: parent.id,
  };
  const { job, created } = await deps.store.create(spec, idempotencyKey);
  if (created) deps.bus.publish({ type: 'job.created', jobId: job.id });
  return job;
}
