/**
 * What submitting a job needs to know of the configuration: defaults, caps, profiles, agents,
 * repositories and forges. Plain data, shaped like the configuration file so the composition root
 * can hand its config over as it is, while the core never imports the config module.
 */
import type { McpServer, PodPlacement } from '../domain/job.ts';

type McpServerPolicy =
  | { type: 'stdio'; command: string; args: string[]; env: Record<string, string> }
  | { type: 'http'; url: string; headers: Record<string, string> };

export interface ProfilePolicy {
  agent?: string | undefined;
  model?: string | undefined;
  max_retries?: number | undefined;
  budget_usd?: number | undefined;
  max_turns?: number | undefined;
  inactivity_timeout?: number | undefined;
  max_duration?: number | undefined;
  draft?: boolean | undefined;
  system_prompt?: string | undefined;
  allowed_tools?: string[] | undefined;
  disallowed_tools?: string[] | undefined;
  mcp_servers?: Record<string, McpServerPolicy> | undefined;
  recipe?: string | undefined;
  env?: Record<string, string> | undefined;
  allowed_domains?: string[] | undefined;
  resume_interrupted?: boolean | undefined;
  continue_previous_work?: boolean | undefined;
  pod?: PodPlacement | undefined;
}

export interface SubmitPolicy {
  limits: { max_budget_usd: number; max_duration: number; max_retries: number };
  defaults: {
    agent?: string | undefined;
    max_retries: number;
    inactivity_timeout: number;
    max_duration: number;
    budget_usd: number;
  };
  sandbox: { allowed_domains: string[] };
  agents: Record<string, { kind: string; model?: string | undefined }>;
  profiles: Record<string, ProfilePolicy>;
  repos: Record<
    string,
    {
      url: string;
      forge?: string | undefined;
      base_branch?: string | undefined;
      profile?: string | undefined;
      draft?: boolean | undefined;
    }
  >;
  forges: Record<string, { url: string }>;
  /** Lets API callers name local paths and file:// URLs as repositories (development only). */
  allow_local_repos: boolean;
}

export type { McpServer };
