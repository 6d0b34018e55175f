import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('works with no file: loopback, ./.forge, local sandbox', () => {
    const config = loadConfig({}, null);
    expect(config.server).toEqual({ host: '127.0.0.1', port: 7700, tokens: [] });
    expect(config.data_dir).toBe('./.forge');
    expect(config.sandbox.isolation).toBe('auto');
    expect(config.defaults.inactivity_timeout).toBe(600_000);
    expect(config.agents.claude?.kind).toBe('claude-code');
    expect(config.agents.codex?.kind).toBe('codex');
    expect(config.defaults.agent).toBe('claude');
  });

  it('offers no built-in agents once any agent is configured', () => {
    const config = loadConfig({}, 'agents: {mine: {kind: command, command: [run]}}');
    expect(Object.keys(config.agents)).toEqual(['mine']);
  });

  it('parses durations and substitutes ${VAR}', () => {
    const config = loadConfig(
      { KEY: 'secret-from-env' },
      `
agents:
  a: {kind: command, command: [run, "{prompt}"], env: {API_KEY: "\${KEY}"}}
defaults: {agent: a, max_duration: 90m, inactivity_timeout: 500ms}
`,
    );
    expect(config.agents.a?.env.API_KEY).toBe('secret-from-env');
    expect(config.defaults.max_duration).toBe(90 * 60_000);
    expect(config.defaults.inactivity_timeout).toBe(500);
  });

  it('lets FORGE_* variables override the file', () => {
    const config = loadConfig(
      { FORGE_PORT: '8800', FORGE_DATA_DIR: '/tmp/x' },
      'server: {port: 7000}',
    );
    expect(config.server.port).toBe(8800);
    expect(config.data_dir).toBe('/tmp/x');
  });

  it('reports every problem at once', () => {
    let message = '';
    try {
      loadConfig(
        {},
        `
server: {host: 0.0.0.0, port: 99999}
limits: {max_concurrent: 0}
defaults: {agent: missing, max_duration: soon}
unknown_key: 1
token: \${NOT_SET}
`,
      );
    } catch (err) {
      message = (err as Error).message;
    }
    for (const expected of [
      'server.port',
      'limits.max_concurrent',
      'defaults.max_duration',
      'unknown_key',
      'NOT_SET',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('refuses a non-loopback host without tokens, and a missing default agent', () => {
    expect(() => loadConfig({}, 'server: {host: 0.0.0.0}')).toThrow(/tokens/);
    expect(() => loadConfig({}, 'defaults: {agent: nope}')).toThrow(/no agent named "nope"/);
  });

  it('rejects YAML that is not a mapping', () => {
    expect(() => loadConfig({}, '- a\n- b')).toThrow(/mapping/);
    expect(() => loadConfig({}, 'a: [')).toThrow(/not valid YAML/);
  });

  it('refuses the chat wire API for codex, which Codex no longer speaks', () => {
    expect(() =>
      loadConfig(
        {},
        'agents: {c: {kind: codex, provider: {base_url: "http://127.0.0.1:1/v1", wire_api: chat}}}',
      ),
    ).toThrow(/agents\.c\.provider\.wire_api/);
  });

  it('refuses loopback names in allowed_domains, which would open the host to agents', () => {
    expect(() => loadConfig({}, 'sandbox: {allowed_domains: [localhost]}')).toThrow(
      /sandbox\.allowed_domains: localhost/,
    );
    expect(() =>
      loadConfig({}, 'profiles: {p: {allowed_domains: [api.example.com, 127.0.0.1]}}'),
    ).toThrow(/profiles\.p\.allowed_domains: 127\.0\.0\.1/);
    expect(
      loadConfig({}, 'sandbox: {allowed_domains: [registry.npmjs.org]}').sandbox.allowed_domains,
    ).toEqual(['registry.npmjs.org']);
  });

  it.each(['command', 'claude-code', 'codex', 'goose'])(
    'takes a %s agent command as one program path, not split at spaces, or as an argv list',
    (kind) => {
      const config = loadConfig(
        {},
        `agents:
  one: {kind: ${kind}, command: "/opt/my tools/agent"}
  list: {kind: ${kind}, command: ["/opt/agent", "--flag"]}`,
      );
      expect(config.agents.one?.command).toEqual(['/opt/my tools/agent']);
      expect(config.agents.list?.command).toEqual(['/opt/agent', '--flag']);
    },
  );

  it('refuses an empty command', () => {
    expect(() => loadConfig({}, 'agents: {a: {kind: goose, command: ""}}')).toThrow(
      /agents\.a\.command/,
    );
    expect(() => loadConfig({}, 'agents: {a: {kind: command, command: []}}')).toThrow(
      /agents\.a\.command/,
    );
  });

  it('reads the issue intake and notifiers with their documented key names and defaults', () => {
    const config = loadConfig(
      { FORGE_WEBHOOK_SECRET: 'hook-secret-123', TELEGRAM_BOT_TOKEN: '123456:telegram-token' },
      `forges: {home: {kind: forgejo, url: "https://git.example.com", token: "forge-token-123"}}
repos: {app: {url: "https://git.example.com/me/app.git", forge: home}}
intake:
  tasks: { kind: issues, forge: home, repo: me/forge-tasks, label: "forge:queued", target_repo: app, poll: 1m, webhook_secret: "\${FORGE_WEBHOOK_SECRET}", allowed_users: [me] }
notify:
  phone: { kind: telegram, token: "\${TELEGRAM_BOT_TOKEN}", chats: [123456789], users: [123456789], events: [finished], intake: true }
  hooks: { kind: webhook, url: "https://example.com/forge", secret: "hook-signing-secret", events: [started, finished] }`,
    );
    expect(config.intake.tasks).toMatchObject({
      kind: 'issues',
      poll: 60_000,
      webhook_secret: 'hook-secret-123',
      allowed_users: ['me'],
      allow: 'listed',
      labels: { running: 'forge:running', done: 'forge:done', failed: 'forge:failed' },
    });
    expect(config.notify.phone).toMatchObject({
      kind: 'telegram',
      chats: [123456789],
      intake: true,
    });
    expect(config.notify.hooks).toMatchObject({ kind: 'webhook', events: ['started', 'finished'] });
  });

  it('keeps SQLite as the default store and reads a NATS store with its key names', () => {
    expect(loadConfig({}, null).store).toEqual({ kind: 'sqlite' });
    const config = loadConfig(
      { NATS_TOKEN: 'nats-token-123' },
      'store: { kind: nats, url: "nats://nats.lan:4222", token: "${NATS_TOKEN}" }',
    );
    expect(config.store).toEqual({
      kind: 'nats',
      url: 'nats://nats.lan:4222',
      token: 'nats-token-123',
      prefix: 'forge',
    });
    expect(() => loadConfig({}, 'store: { kind: nats, url: "http://x" }')).toThrow(
      /store\.url: use nats:\/\/host:port/,
    );
  });

  it('refuses intake and notifiers that name nothing configured, or let nobody in', () => {
    const problems = () =>
      loadConfig(
        {},
        `intake: {tasks: {kind: issues, forge: nowhere, repo: me/tasks, target_repo: nope}}
notify: {phone: {kind: telegram, token: "123456:telegram-token", chats: [1], intake: true}}`,
      );
    expect(problems).toThrow(/intake\.tasks\.forge: no forge named "nowhere"/);
    expect(problems).toThrow(/intake\.tasks\.target_repo: no repository named "nope"/);
    expect(problems).toThrow(/intake\.tasks\.allowed_users: nobody may queue issues/);
    expect(problems).toThrow(/notify\.phone\.users: intake is on but no user ids/);
  });
});

describe('stewards in the configuration', () => {
  const base = `agents: {a: {kind: command, command: [run]}}
repos: {app: {url: /srv/app.git}}
`;
  it('reads a steward with the documented key names and defaults', () => {
    const config = loadConfig(
      {},
      `${base}stewards:
  ci-watcher:
    repo: app
    prompt: "Watch open pull requests for CI failures and fix what is broken."
    schedule: "*/30 * * * *"
    triggers: [webhook]
    webhook_secret: "a-long-enough-secret"
    budget: { per_day: 5, per_month: 60 }
    notes: true`,
    );
    expect(config.stewards['ci-watcher']).toMatchObject({
      repo: 'app',
      schedule: '*/30 * * * *',
      timezone: 'UTC',
      triggers: ['webhook'],
      budget: { per_day: 5, per_month: 60 },
      notes: true,
      notes_max_bytes: 16 * 1024,
      catch_up: true,
    });
  });

  it('refuses a bad schedule, time zone, trigger, secret or name, and names what is missing', () => {
    const load = (steward: string) => () => loadConfig({}, `${base}stewards: {${steward}}`);
    expect(load('ci: {repo: app, prompt: p, schedule: "every day"}')).toThrow(
      /stewards\.ci\.schedule: "every day" is not a cron schedule/,
    );
    expect(load('ci: {repo: app, prompt: p, schedule: "61 * * * *"}')).toThrow(
      /not a cron schedule/,
    );
    expect(load('ci: {repo: app, prompt: p, timezone: Mars/Olympus}')).toThrow(
      /"Mars\/Olympus" is not a time zone/,
    );
    expect(load('ci: {repo: app, prompt: p, triggers: [webhook]}')).toThrow(
      /needs a webhook_secret/,
    );
    expect(load('ci: {repo: app, prompt: p, triggers: [email]}')).toThrow(/stewards\.ci\.triggers/);
    expect(load('ci: {repo: app, prompt: p, triggers: [webhook], webhook_secret: short}')).toThrow(
      /stewards\.ci\.webhook_secret/,
    );
    expect(load('ci: {repo: nowhere, prompt: p, profile: none, agent: nobody}')).toThrow(
      /stewards\.ci\.repo: no repository named "nowhere"[\s\S]*profile[\s\S]*agent/,
    );
    expect(load('"CI Watcher": {repo: app, prompt: p}')).toThrow(/lower-case letters/);
    expect(load('ci: {repo: app, prompt: "   "}')).toThrow(/stewards\.ci\.prompt/);
    expect(load('ci: {repo: app, prompt: p, surprise: 1}')).toThrow(/surprise/);
  });
});

describe('secrets in the configuration', () => {
  const TOO_SHORT = 'a secret must be at least 8 characters so it can be redacted safely';

  function problems(yaml: string, env: Record<string, string> = {}): string {
    try {
      loadConfig(env, yaml);
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  }

  it('refuses a secret shorter than 8 characters, naming its key, wherever it is configured', () => {
    const message = problems(
      `
agents:
  a: {kind: command, command: [run], env: {API_KEY: "\${SHORT}"}}
forges:
  f: {kind: forgejo, url: "https://git.example.com", token: abc}
profiles:
  p:
    env: {MY_TOKEN: tiny}
    mcp_servers:
      local: {command: srv, env: {DB_PASSWORD: pw}}
      remote: {type: http, url: "https://mcp.example.com", headers: {Authorization: "Bearer t0k", X-Api-Key: k}}
`,
      { SHORT: 'short' },
    );
    for (const key of [
      'agents.a.env.API_KEY',
      'forges.f.token',
      'profiles.p.env.MY_TOKEN',
      'profiles.p.mcp_servers.local.env.DB_PASSWORD',
      'profiles.p.mcp_servers.remote.headers.Authorization',
      'profiles.p.mcp_servers.remote.headers.X-Api-Key',
    ]) {
      expect(message).toContain(`${key}: ${TOO_SHORT}; use a longer value`);
    }
    // The value itself never appears in the message.
    expect(message).not.toMatch(/tiny|t0k|\bpw\b|short\b/);
  });

  it('leaves short values of ordinary names alone, and takes secrets of 8 characters or more', () => {
    const config = loadConfig(
      {},
      `
agents:
  a: {kind: command, command: [run], env: {NODE_ENV: test, API_KEY: "12345678"}}
profiles:
  p:
    env: {DEBUG: "1", MY_TOKEN: tok-0123456789}
    mcp_servers:
      remote: {type: http, url: "https://mcp.example.com", headers: {Accept: "*/*", Authorization: "Bearer tok-0123456789"}}
`,
    );
    expect(config.profiles.p?.env.DEBUG).toBe('1');
  });
});
