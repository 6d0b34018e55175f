/**
 * Part of the composition root: builds one adapter per configured agent. Credentials reach an agent
 * only through its `pass_env` list (defaults per kind in adapters/agents/pass-env.ts), never the
 * server's whole environment.
 */
import { createClaudeCodeAgent } from './adapters/agents/claude-code/claude-code-agent.ts';
import { createCodexAgent } from './adapters/agents/codex/codex-agent.ts';
import { createCommandAgent } from './adapters/agents/command-agent.ts';
import { createGooseAgent } from './adapters/agents/goose/goose-agent.ts';
import { passedEnv } from './adapters/agents/pass-env.ts';
import type { ForgeConfig } from './config.ts';
import type { AgentAdapter } from './ports/agent.ts';

export function composeAgents(
  config: ForgeConfig,
  env: Record<string, string | undefined>,
): Map<string, AgentAdapter> {
  const agents = new Map<string, AgentAdapter>();
  const pathEnv = env.PATH ?? '';
  for (const [name, agent] of Object.entries(config.agents)) {
    const credentials = passedEnv(agent, env);
    switch (agent.kind) {
      case 'command':
        agents.set(
          name,
          createCommandAgent({
            name,
            command: agent.command,
            env: { ...agent.env, ...credentials },
            pathEnv,
          }),
        );
        break;
      case 'claude-code':
        agents.set(name, createClaudeCodeAgent({ name, config: agent, credentials, pathEnv }));
        break;
      case 'codex':
        agents.set(name, createCodexAgent({ name, config: agent, credentials, pathEnv }));
        break;
      case 'goose':
        agents.set(name, createGooseAgent({ name, config: agent, credentials, pathEnv }));
        break;
    }
  }
  return agents;
}
