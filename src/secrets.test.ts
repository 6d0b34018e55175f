import { describe, expect, it } from 'vitest';
import { configSchema, loadConfig, type ForgeConfig } from './config.ts';
import { collectSecrets, isSecretName } from './secrets.ts';

const CONFIG = `
server:
  tokens: [{name: ops, token: srv-token-0123456789}]
forges:
  home: {kind: forgejo, url: "https://git.example.com", token: forge-token-0123}
agents:
  claude:
    kind: claude-code
    env: {ANTHROPIC_API_KEY: agent-key-0123, ANTHROPIC_BASE_URL: "https://proxy.example.com"}
  codex:
    kind: codex
    provider: {base_url: "https://gw.example.com/v1?api_key=query-key-0123", env_key: GW_KEY}
  script: {kind: command, command: run, pass_env: [DEPLOY_PASSWORD, LANG]}
profiles:
  p:
    env: {MY_TOKEN: profile-token-0123, NODE_ENV: production-like}
    mcp_servers:
      db: {command: db-mcp, env: {DB_PASSWORD: mcp-env-pass-0123, DB_HOST: db.internal.example}}
      docs:
        type: http
        url: "https://user:url-pass%2F0123@mcp.example.com/mcp?token=url-token-0123&page=first-page"
        headers:
          Authorization: "Bearer header-bearer-0123"
          Cookie: "sid=cookie-value-0123"
          X-Api-Key: header-key-0123
          Accept: application/json
`;

const ENV = {
  ANTHROPIC_API_KEY: 'env-anthropic-0123',
  GW_KEY: 'env-gateway-0123',
  DEPLOY_PASSWORD: 'env-deploy-0123',
  LANG: 'en_US.UTF-8',
  UNRELATED_TOKEN: 'never-reaches-an-agent',
};

describe('collectSecrets', () => {
  it('gathers every secret: tokens, agent, profile and MCP env, pass_env, MCP headers and URLs', () => {
    const { secrets, problems } = collectSecrets(loadConfig({}, CONFIG), ENV);
    expect(problems).toEqual([]);
    expect(new Set(secrets)).toEqual(
      new Set([
        'srv-token-0123456789',
        'forge-token-0123',
        'agent-key-0123',
        'query-key-0123',
        'profile-token-0123',
        'mcp-env-pass-0123',
        'url-pass%2F0123',
        'url-pass/0123',
        'url-token-0123',
        'Bearer header-bearer-0123',
        'header-bearer-0123',
        'sid=cookie-value-0123',
        'header-key-0123',
        // pass_env: the claude agent's defaults, codex's provider key, the script's own list.
        'env-anthropic-0123',
        'env-gateway-0123',
        'env-deploy-0123',
      ]),
    );
  });

  it('lists longer secrets first, so a secret holding another is redacted whole', () => {
    const { secrets } = collectSecrets(loadConfig({}, CONFIG), ENV);
    const lengths = secrets.map((s) => s.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a));
    expect(secrets.indexOf('Bearer header-bearer-0123')).toBeLessThan(
      secrets.indexOf('header-bearer-0123'),
    );
  });

  it('reports a secret-looking pass_env value under 8 characters, naming the agent and variable', () => {
    const config = loadConfig({}, 'agents: {claude: {kind: claude-code}}');
    const { secrets, problems } = collectSecrets(config, { ANTHROPIC_API_KEY: 'short' });
    expect(problems).toEqual([
      'agents.claude.pass_env: ANTHROPIC_API_KEY (from the server environment): a secret must be at least 8 characters so it can be redacted safely; use a longer value',
    ]);
    expect(secrets).not.toContain('short');
  });

  it('reports short values in a configuration that did not come through loadConfig too', () => {
    const config: ForgeConfig = configSchema.parse({
      profiles: { p: { env: { MY_TOKEN: 'tiny' } } },
    });
    expect(collectSecrets(config, {}).problems).toEqual([
      'profiles.p.env.MY_TOKEN: a secret must be at least 8 characters so it can be redacted safely; use a longer value',
    ]);
  });
});

describe('isSecretName', () => {
  it.each([
    'ANTHROPIC_API_KEY',
    'GITHUB_TOKEN',
    'ANTHROPIC_AUTH_TOKEN',
    'CLIENT_SECRET',
    'DB_PASSWORD',
    'SMTP_PASSWD',
    'AWS_SECRET_ACCESS_KEY',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'APIKEY',
    'GITHUB_PAT',
    'BASIC_AUTH',
    'DB_PASS',
    'X-Api-Key',
    'x-auth-token',
  ])('%s names a secret', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each([
    'NODE_ENV',
    'PATH',
    'ANTHROPIC_BASE_URL',
    // Counts of model tokens, not credentials.
    'CLAUDE_CODE_MAX_OUTPUT_TOKENS',
    'MAX_THINKING_TOKENS',
    'GOOSE_DISABLE_KEYRING',
    'GIT_AUTHOR_NAME',
    'BYPASS_PROXY',
    // Where a secret is kept, not the secret.
    'AWS_SHARED_CREDENTIALS_FILE',
    'SSH_KEY_PATH',
    'Accept',
  ])('%s does not', (name) => {
    expect(isSecretName(name)).toBe(false);
  });
});
