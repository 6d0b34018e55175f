import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { parseSubmitRequest, resolveSpec } from './submit-job.ts';

const config = loadConfig(
  {},
  `
limits: {max_budget_usd: 20, max_duration: 4h}
defaults: {agent: a, budget_usd: 2, max_duration: 1h}
agents:
  a: {kind: command, command: [run]}
  c: {kind: claude-code, model: agent-model}
profiles:
  small: {agent: c, budget_usd: 3, max_duration: 30m, max_turns: 20, model: profile-model}
forges:
  home: {kind: forgejo, url: "https://git.example.com", token: forge-token-123}
repos:
  app: {url: "https://git.example.com/me/app.git", forge: home, profile: small, draft: true}
`,
);

const spec = (body: Record<string, unknown>) =>
  resolveSpec(parseSubmitRequest({ task: 'do it', ...body }), config);

describe('resolveSpec', () => {
  it("takes a profile's settings and lets a job lower its limits", () => {
    const s = spec({ profile: 'small', budget_usd: 1, max_duration: '10m', max_turns: 5 });
    expect(s).toMatchObject({
      agent: 'c',
      budget_usd: 1,
      max_duration_ms: 600_000,
      max_turns: 5,
      model: 'profile-model',
    });
  });

  it("never lets a job raise a profile's limits", () => {
    expect(() => spec({ profile: 'small', budget_usd: 5 })).toThrow(
      /budget_usd: 5 is above the allowed 3/,
    );
    expect(() => spec({ profile: 'small', max_duration: '1h' })).toThrow(
      /max_duration: 1h is above the allowed 30m/,
    );
    expect(() => spec({ profile: 'small', max_turns: 50 })).toThrow(
      /max_turns: 50 is above the profile's 20/,
    );
  });

  it('uses the model of the job, else the profile, else the agent', () => {
    expect(spec({ agent: 'c' }).model).toBe('agent-model');
    expect(spec({ profile: 'small' }).model).toBe('profile-model');
    expect(spec({ profile: 'small', model: 'job-model' }).model).toBe('job-model');
  });

  it('resolves a named repository with its forge, profile and draft setting', () => {
    const s = spec({ repo: 'app' });
    expect(s.profile).toBe('small');
    expect(s.repo).toEqual({
      url: 'https://git.example.com/me/app.git',
      name: 'app',
      forge: 'home',
      base_branch: null,
      branch: null,
      open_pr: true,
      draft: true,
    });
  });

  it('finds the forge of a clone URL and opens no PR where there is none', () => {
    expect(spec({ repo: 'https://git.example.com/me/other.git' }).repo).toMatchObject({
      forge: 'home',
      open_pr: true,
    });
    expect(spec({ repo: 'https://elsewhere.example/x.git' }).repo).toMatchObject({
      forge: null,
      open_pr: false,
    });
    expect(() => spec({ repo: 'https://elsewhere.example/x.git', open_pr: true })).toThrow(
      /no forge is configured/,
    );
  });

  it('refuses credentials in URLs, bad branch names, the base as branch, and repo fields without repo', () => {
    expect(() => spec({ repo: 'https://user:secret@git.example.com/me/app.git' })).toThrow(
      /contains credentials/,
    );
    expect(() => spec({ repo: 'app', branch: 'a..b' })).toThrow(/not a valid branch name/);
    expect(() => spec({ repo: 'app', base_branch: 'main', branch: 'main' })).toThrow(
      /never pushes to the base branch/,
    );
    expect(() => spec({ branch: 'x' })).toThrow(/only makes sense with "repo"/);
    expect(() => spec({ repo: 'not a url' })).toThrow(
      /not accepted: give a repository under repos:/,
    );
  });

  it.each(['/etc', '/var/lib/forge/mirrors/app.git', 'file:///etc', 'FILE:///root/.ssh'])(
    'refuses the local repository %s from a caller, saying where local paths may come from',
    (repo) => {
      expect(() => spec({ repo })).toThrow(
        /accepted only from repos: in forge.yaml.*allow_local_repos/,
      );
    },
  );

  it.each([
    'ssh://git@example.com/x.git',
    'git@example.com:me/x.git',
    'ext::sh -c touch% /tmp/x',
    '../x',
    '-uhelp',
    'https://',
  ])('refuses the clone URL %s: only http(s) is accepted from callers', (repo) => {
    expect(() => spec({ repo })).toThrow(/not accepted/);
  });

  it('accepts local paths from repos: always, and from callers with allow_local_repos: true', () => {
    const local = loadConfig(
      {},
      `
agents: {a: {kind: command, command: [run]}}
repos: {mine: {url: /srv/git/mine.git}}
`,
    );
    const dev = { ...local, allow_local_repos: true };
    const resolve = (repo: string, c = local) =>
      resolveSpec(parseSubmitRequest({ task: 't', repo }), c);
    expect(resolve('mine').repo?.url).toBe('/srv/git/mine.git');
    expect(() => resolve('/srv/git/other.git')).toThrow(/allow_local_repos/);
    expect(resolve('/srv/git/other.git', dev).repo?.url).toBe('/srv/git/other.git');
    expect(resolve('file:///srv/git/other.git', dev).repo?.url).toBe('file:///srv/git/other.git');
    expect(() => resolve('ssh://host/x.git', dev)).toThrow(/not accepted/);
  });
});
