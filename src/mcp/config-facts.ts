/** What an agent may know of the configuration to choose a profile or repository: names and
 *  limits, never env, tokens, headers, prompts or MCP server settings. */
import type { ForgeConfig } from '../config.ts';
import { formatDuration } from '../domain/duration.ts';

const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const duration = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : formatDuration(ms);

export function profileFacts(config: ForgeConfig): Record<string, unknown> {
  return {
    profiles: Object.entries(config.profiles).map(([name, p]) =>
      defined({
        name,
        agent: p.agent,
        model: p.model,
        max_turns: p.max_turns,
        max_retries: p.max_retries,
        budget_usd: p.budget_usd,
        max_duration: duration(p.max_duration),
        inactivity_timeout: duration(p.inactivity_timeout),
        draft: p.draft,
      }),
    ),
    agents: Object.entries(config.agents).map(([name, a]) => ({ name, kind: a.kind })),
    defaults: defined({
      agent: config.defaults.agent,
      budget_usd: config.defaults.budget_usd,
      max_retries: config.defaults.max_retries,
      max_duration: duration(config.defaults.max_duration),
    }),
  };
}

/** A clone URL without any user or password in it. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

export function repoFacts(config: ForgeConfig): Record<string, unknown> {
  return {
    repos: Object.entries(config.repos).map(([name, r]) =>
      defined({
        name,
        url: withoutCredentials(r.url),
        forge: r.forge,
        base_branch: r.base_branch,
        profile: r.profile,
        draft: r.draft,
      }),
    ),
  };
}
