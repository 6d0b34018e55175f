import { z } from 'zod';
import { parseDuration, formatDuration } from '../domain/duration.ts';
import { ForgeError } from '../domain/errors.ts';
import type { Job, JobRepo, JobSpec } from '../domain/job.ts';
import type { JobStore } from '../ports/store.ts';
import type { EventBus } from './events.ts';
import { freezeSettings } from './agent-settings.ts';
import type { SubmitPolicy } from './submit-policy.ts';

export const MAX_TASK_CHARS = 100_000;

const durationField = z.union([z.string(), z.number()]);

/** The body of POST /jobs (and of every other source). Unknown fields are refused so a typo
 *  never silently does nothing. */
export const submitRequestSchema = z.strictObject({
  task: z.string().refine((t) => t.trim().length > 0, 'task must not be blank'),
  agent: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  max_retries: z.number().int().min(0).max(10).optional(),
  budget_usd: z.number().positive().optional(),
  tags: z.array(z.string().min(1).max(100)).max(50).optional(),
  source: z.string().min(1).max(100).optional(),
  inactivity_timeout: durationField.optional(),
  max_duration: durationField.optional(),
  model: z.string().min(1).max(200).optional(),
  repo: z.string().min(1).max(2000).optional(),
  base_branch: z.string().min(1).max(250).optional(),
  branch: z.string().min(1).max(250).optional(),
  open_pr: z.boolean().optional(),
  /** Open the pull request as a draft. */
  draft: z.boolean().optional(),
  max_turns: z.number().int().min(1).max(10_000).optional(),
});

export type SubmitRequest = z.infer<typeof submitRequestSchema>;

export interface SubmitDeps {
  store: JobStore;
  bus: EventBus;
  config: SubmitPolicy;
}

/** Turns raw input into a validated request; throws ForgeError('invalid_request') naming the field. */
export function parseSubmitRequest(body: unknown): SubmitRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ForgeError(
      'invalid_request',
      'request body must be a JSON object like {"task": "..."}',
    );
  }
  const task = (body as { task?: unknown }).task;
  if (typeof task === 'string' && task.length > MAX_TASK_CHARS) {
    throw new ForgeError(
      'payload_too_large',
      `task: ${task.length} characters is over the limit of ${MAX_TASK_CHARS}; shorten it or point to a file in the repository`,
    );
  }
  const result = submitRequestSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field =
      issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}; allowed: ${Object.keys(submitRequestSchema.shape).join(', ')}`
        : `${field}: ${issue.message}`;
    throw new ForgeError('invalid_request', message);
  }
  return result.data;
}

function durationMs(
  field: string,
  value: string | number | undefined,
  cap: number,
  fallback: number,
): number {
  if (value === undefined) return Math.min(fallback, cap);
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) {
    throw new ForgeError(
      'invalid_request',
      `${field}: "${value}" is not a duration; use e.g. 30s, 10m, 2h`,
    );
  }
  if (ms > cap) {
    throw new ForgeError(
      'invalid_request',
      `${field}: ${formatDuration(ms)} is above the allowed ${formatDuration(cap)}`,
    );
  }
  return ms;
}

/** Applies defaults, then the profile, then the request. A request may lower a profile's limits
 *  but never raise them above the configured caps. */
export function resolveSpec(req: SubmitRequest, config: SubmitPolicy): JobSpec {
  const repoConfig = req.repo ? config.repos[req.repo] : undefined;
  const profileName = req.profile ?? repoConfig?.profile;
  const profile = profileName ? config.profiles[profileName] : undefined;
  if (profileName && !profile) {
    const known = Object.keys(config.profiles).join(', ') || 'none configured';
    throw new ForgeError(
      'invalid_request',
      `profile: unknown profile "${profileName}" (known: ${known})`,
    );
  }
  const agents = Object.keys(config.agents);
  const agent =
    req.agent ??
    profile?.agent ??
    config.defaults.agent ??
    (agents.length === 1 ? agents[0] : undefined);
  if (!agent) {
    throw new ForgeError(
      'invalid_request',
      `agent: no agent given and no defaults.agent configured; pass "agent" (known: ${agents.join(', ') || 'none — add one under agents: in forge.yaml'})`,
    );
  }
  if (!config.agents[agent]) {
    throw new ForgeError(
      'invalid_request',
      `agent: unknown agent "${agent}" (known: ${agents.join(', ') || 'none — add one under agents: in forge.yaml'})`,
    );
  }
  const maxDurationCap = profile?.max_duration ?? config.limits.max_duration;
  const inactivityCap = profile?.inactivity_timeout ?? maxDurationCap;
  const budgetCap = profile?.budget_usd ?? config.limits.max_budget_usd;
  if (req.budget_usd !== undefined && req.budget_usd > budgetCap) {
    throw new ForgeError(
      'invalid_request',
      `budget_usd: ${req.budget_usd} is above the allowed ${budgetCap}`,
    );
  }
  if (
    req.max_turns !== undefined &&
    profile?.max_turns !== undefined &&
    req.max_turns > profile.max_turns
  ) {
    throw new ForgeError(
      'invalid_request',
      `max_turns: ${req.max_turns} is above the profile's ${profile.max_turns}`,
    );
  }
  const agentConfig = config.agents[agent];
  const agentModel = agentConfig && 'model' in agentConfig ? agentConfig.model : undefined;
  const retriesCap = Math.min(
    profile?.max_retries ?? config.limits.max_retries,
    config.limits.max_retries,
  );
  if (req.max_retries !== undefined && req.max_retries > retriesCap) {
    throw new ForgeError(
      'invalid_request',
      `max_retries: ${req.max_retries} is above the allowed ${retriesCap}`,
    );
  }
  return {
    task: req.task,
    agent,
    profile: profileName ?? null,
    max_retries:
      req.max_retries ?? Math.min(profile?.max_retries ?? config.defaults.max_retries, retriesCap),
    budget_usd:
      req.budget_usd ?? Math.min(profile?.budget_usd ?? config.defaults.budget_usd, budgetCap),
    tags: [...new Set(req.tags ?? [])],
    source: req.source ?? 'api',
    inactivity_timeout_ms: durationMs(
      'inactivity_timeout',
      req.inactivity_timeout,
      inactivityCap,
      profile?.inactivity_timeout ?? config.defaults.inactivity_timeout,
    ),
    max_duration_ms: durationMs(
      'max_duration',
      req.max_duration,
      maxDurationCap,
      profile?.max_duration ?? config.defaults.max_duration,
    ),
    model: req.model ?? profile?.model ?? agentModel ?? null,
    max_turns: req.max_turns ?? profile?.max_turns ?? null,
    repo: resolveRepo(req, config, profile?.draft),
    settings: freezeSettings(profile, config.sandbox.allowed_domains),
    origin: null,
    parent_id: null,
  };
}

const GIT_REF = /^(?!\/|.*\/\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|.*\.$)[A-Za-z0-9._/-]+$/;

/** The repository part of a job: a name under `repos:` or a clone URL, with its forge. */
function resolveRepo(
  req: SubmitRequest,
  config: SubmitPolicy,
  profileDraft: boolean | undefined,
): JobRepo | null {
  if (!req.repo) {
    for (const field of ['base_branch', 'branch', 'open_pr', 'draft'] as const) {
      if (req[field] !== undefined)
        throw new ForgeError('invalid_request', `${field}: only makes sense with "repo"`);
    }
    return null;
  }
  const named = config.repos[req.repo];
  const url = named?.url ?? req.repo;
  if (!named) checkCallerUrl(url, config);
  if (/^[a-z]+:\/\/[^/]*@/i.test(url)) {
    throw new ForgeError(
      'invalid_request',
      'repo: the URL contains credentials; remove them and configure a token under forges: instead',
    );
  }
  for (const field of ['base_branch', 'branch'] as const) {
    const value = req[field];
    if (value !== undefined && !GIT_REF.test(value))
      throw new ForgeError('invalid_request', `${field}: "${value}" is not a valid branch name`);
  }
  const base = req.base_branch ?? named?.base_branch ?? null;
  if (req.branch !== undefined && req.branch === base) {
    throw new ForgeError(
      'invalid_request',
      `branch: Forge never pushes to the base branch "${base}"; choose another branch name`,
    );
  }
  const forge = named?.forge ?? forgeForUrl(url, config);
  if (req.open_pr === true && !forge) {
    throw new ForgeError(
      'invalid_request',
      `open_pr: no forge is configured for ${url}; add it under forges: (and repos:) or set open_pr: false`,
    );
  }
  return {
    url,
    name: named ? req.repo : null,
    forge,
    base_branch: base,
    branch: req.branch ?? null,
    open_pr: req.open_pr ?? forge !== null,
    draft: req.draft ?? profileDraft ?? named?.draft ?? false,
  };
}

/**
 * A clone URL given by an API caller (not from `repos:`). Only http(s) is accepted: a local path
 * or file:// URL would make the server read this host's files, and ssh://, git@host: or ext::
 * would run transports the server's credentials and sandbox were not set up for.
 */
function checkCallerUrl(url: string, config: SubmitPolicy): void {
  if (/^https?:\/\/[^/\s]+/i.test(url)) return;
  const local = url.startsWith('/') || /^file:\/\//i.test(url);
  if (local && config.allow_local_repos) return;
  const known = Object.keys(config.repos).join(', ') || 'none configured';
  const why = local
    ? 'local paths and file:// URLs are accepted only from repos: in forge.yaml (or with allow_local_repos: true, for development), since they would let any caller make the server read this host'
    : 'give a repository under repos: or an http(s) clone URL';
  throw new ForgeError(
    'invalid_request',
    `repo: "${url}" is not accepted: ${why} (repos: ${known})`,
  );
}

/** The configured forge whose web URL hosts `url` (same origin and path prefix). */
function forgeForUrl(url: string, config: SubmitPolicy): string | null {
  for (const [forgeName, forge] of Object.entries(config.forges)) {
    const base = forge.url.replace(/\/+$/, '');
    if (url === base || url.startsWith(`${base}/`)) return forgeName;
  }
  return null;
}

/** Validates, stores and announces a new job. Returns the job and whether it was new (an
 *  idempotency key seen before returns the earlier job). */
export async function submitJob(
  deps: SubmitDeps,
  body: unknown,
  idempotencyKey?: string,
): Promise<{ job: Job; created: boolean }> {
  const spec = resolveSpec(parseSubmitRequest(body), deps.config);
  if (
    idempotencyKey !== undefined &&
    (idempotencyKey.length === 0 || idempotencyKey.length > 200)
  ) {
    throw new ForgeError('invalid_request', 'Idempotency-Key: must be 1 to 200 characters');
  }
  const result = await deps.store.create(spec, idempotencyKey);
  if (result.created) deps.bus.publish({ type: 'job.created', jobId: result.job.id });
  return result;
}
