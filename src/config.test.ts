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
});
