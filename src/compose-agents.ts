/**
 * Part of the composition root: builds one adapter per configured agent. Credentials reach an agent
 * only through its `pass_env` list (defaults per kind below), never the server's whole environment.
 */
import { createClaudeCodeAgent } from './adapters/agents/claude-code/claude-code-agent.ts';
import { createCodexAgent } from './adapters/agents/codex/codex-agent.ts';
import { createCommandAgent } from './adapters/agents/command-agent.ts';
import { createGooseAgent } from './adapters/agents/goose/goose-agent.ts';
import type { AgentConfig, ForgeConfig } from './config.ts';
import type { AgentAdapter } from './ports/agent.ts';

const AWS = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_BEARER_TOKEN_BEDROCK',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
];

/** Model credentials each kind may use, passed when set in the server's environment. */
export const DEFAULT_PASS_ENV: Record<AgentConfig['kind'], string[]> = {
  command: [],
  'claude-code': [
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_AUTH_TOKEN',
    'ANTHROPIC_BASE_URL',
    'CLAUDE_CODE_USE_BEDROCK',
    'ANTHROPIC_MODEL',
    ...AWS,
  ],
  codex: ['OPENAI_API_KEY'],
  goose: ['GOOSE_PROVIDER', 'GOOSE_MODEL', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', ...AWS],
};

function passed(
  agent: AgentConfig,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const names = new Set(agent.pass_env ?? DEFAULT_PASS_ENV[agent.kind]);
  if (agent.kind === 'codex' && agent.provider) names.add(agent.provider.env_key);
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i;

/** Values of agents' secret-looking variables (credentials and configured env), to redact from
 *  every stored or streamed output. */
export function agentSecrets(
  config: ForgeConfig,
  env: Record<string, string | undefined>,
): string[] {
  const values: string[] = [];
  for (const agent of Object.values(config.agents)) {
    for (const [name, value] of Object.entries({ ...agent.env, ...passed(agent, env) })) {
      if (SECRET_NAME.test(name)) values.push(value);
    }
  }
  return values;
}

export function composeAgents(
  config: ForgeConfig,
  env: Record<string, string | undefined>,
): Map<string, AgentAdapter> {
  const agents = new Map<string, AgentAdapter>();
  const pathEnv = env.PATH ?? '';
  for (const [name, agent] of Object.entries(config.agents)) {
    const credentials = passed(agent, env);
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
