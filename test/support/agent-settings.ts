import type { AgentSettings } from '../../src/ports/agent.ts';

/** Agent settings as a job with no profile gets them, with `overrides` on top (adapter tests). */
export function agentSettings(overrides: Partial<AgentSettings> = {}): AgentSettings {
  return {
    model: null,
    maxTurns: null,
    systemPrompt: null,
    allowedTools: [],
    disallowedTools: [],
    mcpServers: {},
    recipe: null,
    ...overrides,
  };
}
