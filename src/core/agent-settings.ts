import { jobBranch, type Job, type JobSettings, type McpServer } from '../domain/job.ts';
import type { AgentSettings } from '../ports/agent.ts';
import type { ProfilePolicy } from './submit-policy.ts';

export interface ResolvedProfile {
  settings: AgentSettings;
  /** Extra environment from the profile. */
  env: Record<string, string>;
  /** Network destinations the sandbox may let the agent reach. */
  allowedDomains: string[];
  /** Whether a retry after an interruption may resume the previous agent session. */
  resumeInterrupted: boolean;
  /** Commit a retry starts from (the work the last attempt pushed), or null: fresh from the base. */
  continueFrom: string | null;
}

/** How a job's agent works, read from the settings frozen into the job at submit — never from the
 *  live configuration. */
export function resolveProfile(job: Job): ResolvedProfile {
  const s = job.settings;
  return {
    settings: {
      model: job.model,
      maxTurns: job.max_turns,
      systemPrompt: s.system_prompt,
      allowedTools: s.allowed_tools,
      disallowedTools: s.disallowed_tools,
      mcpServers: s.mcp_servers,
      recipe: s.recipe,
    },
    env: s.env,
    allowedDomains: s.allowed_domains,
    resumeInterrupted: s.resume_interrupted,
    // The work kept in the mirror at the last push, whether or not the forge accepted it.
    // A follow-up starts from its parent's last push.
    continueFrom:
      s.continue_previous_work && job.result
        ? `refs/forge/${jobBranch(job)}`
        : (job.repo?.start_commit ?? null),
  };
}

/** The settings a job is submitted with: its profile's (when it names one), else the defaults. */
export function freezeSettings(
  profile: ProfilePolicy | undefined,
  sandboxDomains: readonly string[],
): JobSettings {
  const mcpServers: Record<string, McpServer> = {};
  for (const [name, server] of Object.entries(profile?.mcp_servers ?? {})) {
    mcpServers[name] =
      server.type === 'http'
        ? { type: 'http', url: server.url, headers: { ...server.headers } }
        : {
            type: 'stdio',
            command: server.command,
            args: [...server.args],
            env: { ...server.env },
          };
  }
  return {
    system_prompt: profile?.system_prompt ?? null,
    allowed_tools: [...(profile?.allowed_tools ?? [])],
    disallowed_tools: [...(profile?.disallowed_tools ?? [])],
    mcp_servers: mcpServers,
    recipe: profile?.recipe ?? null,
    env: { ...profile?.env },
    allowed_domains: [...(profile?.allowed_domains ?? sandboxDomains)],
    resume_interrupted: profile?.resume_interrupted ?? true,
    continue_previous_work: profile?.continue_previous_work ?? false,
    ...(profile?.pod ? { pod: structuredClone(profile.pod) } : {}),
  };
}
