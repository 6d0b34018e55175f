/**
 * Glossary (see DESIGN.md):
 * - task: what a person asks for, in words.
 * - job: one task as Forge tracks it — id (ULID), status, settings, attempts.
 * - attempt: one run of the job's agent in one sandbox; a retry is a new attempt.
 * - profile: a named bundle of settings for a kind of work.
 */
import type { Failure } from './failure.ts';

export const JOB_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The repository a job works on. */
export interface JobRepo {
  /** Clone URL (no credentials). */
  url: string;
  /** Name under `repos:` in config, when the job named one. */
  name: string | null;
  /** Name under `forges:` that hosts it, or null (push only, no pull request). */
  forge: string | null;
  /** null: the repository's default branch. */
  base_branch: string | null;
  /** null: `forge/<job id in lower case>`. */
  branch: string | null;
  open_pr: boolean;
  draft: boolean;
  /** A follow-up continues its parent's branch: the commit the parent pushed last. The first
   *  attempt starts there and the first push expects the branch there. */
  start_commit?: string | null;
}

/** What became of the agent's work in the repository. */
export interface JobResult {
  branch: string;
  /** The commit Forge pushed last (also the expected remote state for the next push). */
  commit: string | null;
  pr_url?: string;
  pr_number?: number;
  changed_files: number;
  insertions: number;
  deletions: number;
  /** The agent succeeded without changing anything. */
  no_changes?: boolean;
  /** The work was pushed from an attempt that did not succeed (to inspect or continue). */
  wip?: boolean;
}

export function jobBranch(job: { id: string; repo: JobRepo | null }): string {
  return job.repo?.branch ?? `forge/${job.id.toLowerCase()}`;
}

/** An MCP server an agent may use: a local command (stdio) or a remote one (HTTP). */
export type McpServer =
  | { type: 'stdio'; command: string; args: string[]; env: Record<string, string> }
  | { type: 'http'; url: string; headers: Record<string, string> };

/**
 * How the job's agent works, resolved from its profile (and the configuration) when the job was
 * submitted and frozen into it: editing the configuration later never changes a queued job, and
 * a deleted profile can't silently fall back to defaults.
 */
export interface JobSettings {
  /** Added to the agent's system prompt. */
  system_prompt: string | null;
  allowed_tools: string[];
  disallowed_tools: string[];
  mcp_servers: Record<string, McpServer>;
  /** Path of a recipe file (goose). */
  recipe: string | null;
  /** Extra environment for the agent. */
  env: Record<string, string>;
  /** Network destinations the sandbox may let the agent reach. */
  allowed_domains: string[];
  /** A retry after an interruption may resume the previous agent session. */
  resume_interrupted: boolean;
  /** A retry starts from the work the previous attempt pushed instead of fresh from the base. */
  continue_previous_work: boolean;
  /** The profile's pod placement for sandboxes that run attempts in pods (absent: none). */
  pod?: PodPlacement | null;
  /** A steward's run: its notes are placed in the workspace before the agent starts and kept
   *  after it exited (absent: not a steward's run, or one without notes). */
  notes?: { steward: string; max_bytes: number } | null;
}

/** Where and with what an attempt's pod runs, as a profile asks (Kubernetes field meanings; each
 *  key given replaces the sandbox's own, resources by resource name). */
export interface PodPlacement {
  resources?:
    | {
        requests?: Record<string, string> | undefined;
        limits?: Record<string, string> | undefined;
      }
    | undefined;
  node_selector?: Record<string, string> | undefined;
  tolerations?:
    | Array<{
        key?: string | undefined;
        operator?: 'Exists' | 'Equal' | undefined;
        value?: string | undefined;
        effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | undefined;
        tolerationSeconds?: number | undefined;
      }>
    | undefined;
  runtime_class?: string | undefined;
  image_pull_secrets?: string[] | undefined;
  service_account?: string | undefined;
}

/**
 * Where a task came from, so its results can be reported there (a status comment on the issue, a
 * chat message). The same origin on several jobs means the later ones continue the earlier.
 */
export type JobOrigin =
  | {
      kind: 'issue';
      /** Name of the intake source under `intake:`. */
      source: string;
      /** owner/name of the repository holding the issue. */
      repo: string;
      number: number;
      /** Web page of the issue. */
      url: string;
    }
  | {
      kind: 'telegram';
      /** Name of the notifier under `notify:`. */
      notifier: string;
      chat_id: number;
    };

/** One string per origin: jobs from the same issue (or chat) share it. */
export function originKey(origin: JobOrigin): string {
  return origin.kind === 'issue'
    ? `issue:${origin.source}:${origin.repo}#${origin.number}`
    : `telegram:${origin.notifier}:${origin.chat_id}`;
}

/** What a submitter chose, after defaults and profile limits were applied. */
export interface JobSpec {
  task: string;
  agent: string;
  profile: string | null;
  max_retries: number;
  budget_usd: number | null;
  tags: string[];
  source: string;
  inactivity_timeout_ms: number;
  max_duration_ms: number;
  /** Model for agents that take one (job, else profile, else agent default); null: the agent's own. */
  model: string | null;
  /** Most agent turns per attempt, for agents that count turns; null: no limit. */
  max_turns: number | null;
  repo: JobRepo | null;
  settings: JobSettings;
  /** Where the task came from (null: the API or CLI, which report nowhere else). */
  origin: JobOrigin | null;
  /** The job this one continues (same branch), or null. */
  parent_id: string | null;
}

export interface Job extends JobSpec {
  id: string;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  /** Bumped on every change; the store's compare-and-set guard. */
  revision: number;
  cost_usd: number;
  failure: Failure | null;
  /** Attempts made before the last manual retry; attempts allowed = retry_base + max_retries + 1. */
  retry_base: number;
  /** Number of attempts started so far. */
  attempt_count: number;
  result: JobResult | null;
}

export interface Attempt {
  number: number;
  sandbox: string;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  /** Last 32 KiB of merged stdout+stderr (UTF-8 safe). */
  output: string;
  /** True exactly when bytes were dropped from the front of `output`. */
  truncated: boolean;
  failure: Failure | null;
  cost_usd: number | null;
  turns: number | null;
  session_id: string | null;
  summary: string | null;
  /** `git diff --stat` of what the attempt left in the repository (null: no repository or no
   *  changes); the next attempt's prompt carries it. */
  diff_stat: string | null;
}

export interface JobRecord extends Job {
  attempts: Attempt[];
}

export const OUTPUT_TAIL_BYTES = 32 * 1024;
