import type { ForgeConfig } from '../config.ts';
import { jobBranch, type Job } from '../domain/job.ts';
import type { AgentSettings, McpServer } from '../ports/agent.ts';

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

/** What a job's profile (and the job itself) say about how its agent should work. */
export function resolveProfile(job: Job, config: ForgeConfig): ResolvedProfile {
  const profile = job.profile ? config.profiles[job.profile] : undefined;
  const mcpServers: Record<string, McpServer> = {};
  for (const [name, server] of Object.entries(profile?.mcp_servers ?? {})) {
    mcpServers[name] =
      server.type === 'http'
        ? { type: 'http', url: server.url, headers: server.headers }
        : { type: 'stdio', command: server.command, args: server.args, env: server.env };
  }
  return {
    settings: {
      model: job.model,
      maxTurns: job.max_turns,
      systemPrompt: profile?.system_prompt ?? null,
      allowedTools: profile?.allowed_tools ?? [],
      disallowedTools: profile?.disallowed_tools ?? [],
      mcpServers,
      recipe: profile?.recipe ?? null,
    },
    env: profile?.env ?? {},
    allowedDomains: profile?.allowed_domains ?? config.sandbox.allowed_domains,
    resumeInterrupted: profile?.resume_interrupted ?? true,
    // The work kept in the mirror at the last push, whether or not the forge accepted it.
    continueFrom:
      profile?.continue_previous_work && job.result ? `refs/forge/${jobBranch(job)}` : null,
  };
}
