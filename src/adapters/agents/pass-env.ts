/**
 * Which of the server's environment variables each agent receives: its `pass_env` list, or the
 * defaults of its kind below (model credentials and endpoints), plus a codex provider's `env_key`.
 * Nothing else of the server's environment reaches an agent.
 */
import type { AgentConfig } from './agent-config.ts';

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

/** The variables `agent` receives that are set (and not empty) in `env`, with their values. */
export function passedEnv(
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
