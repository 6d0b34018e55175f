import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../../../test/support/fake-github.ts';
import { createGitHubHost } from './github-host.ts';
import {
  gitHostContract,
  prRequest,
  rejection,
} from '../../../test/contracts/git-host.contract.ts';

const TOKEN = 'ghp_5Rk2u8QvXw3TnZ';
const REPO = 'acme/widgets';
const signal = new AbortController().signal;

const request = prRequest;

gitHostContract('github', async () => {
  const fake = await startFakeGitHub({ token: TOKEN, repos: [REPO] });
  return {
    host: (token = TOKEN) => createGitHubHost({ url: fake.url, token, name: 'gh' }),
    unreachable: () => createGitHubHost({ url: 'http://127.0.0.1:9', token: TOKEN, name: 'gh' }),
    failNext: (status, message) => fake.failNext(status, message),
    pulls: (repo) => fake.pulls(repo),
    tokenSetting: 'forges.gh.token',
    close: async () => {
      await fake.close();
      expect(fake.violations).toEqual([]);
    },
  };
});

describe('GitHub host', () => {
  let fake: FakeGitHub;
  const host = (token = TOKEN) => createGitHubHost({ url: fake.url, token, name: 'gh' });

  beforeEach(async () => {
    fake = await startFakeGitHub({ token: TOKEN, repos: [REPO] });
  });
  afterEach(async () => {
    await fake.close();
    expect(fake.violations).toEqual([]);
  });

  it('opens a pull request and returns its number and web page', async () => {
    const pr = await host().openPullRequest(request(), signal);

    expect(pr).toEqual({ number: 1, url: `${fake.webUrl}/${REPO}/pull/1`, created: true });
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: '/repos/acme/widgets/pulls',
      body: {
        head: 'forge/01jab',
        base: 'main',
        title: 'Add a widget',
        body: 'First run.',
        draft: false,
      },
    });
    expect(fake.requests[0]?.headers.authorization).toBe(`token ${TOKEN}`);
  });

  it('updates the open pull request when GitHub says one already exists', async () => {
    const first = await host().openPullRequest(request(), signal);
    const second = await host().openPullRequest(
      request({ title: 'Add a widget (retry)', body: 'Second run.' }),
      signal,
    );

    expect(second).toEqual({ number: first.number, url: first.url, created: false });
    expect(fake.pulls(REPO)).toHaveLength(1);
    expect(fake.pulls(REPO)).toMatchObject([
      { title: 'Add a widget (retry)', body: 'Second run.' },
    ]);
    const list = fake.requests.find((r) => r.method === 'GET');
    expect(Object.fromEntries(list?.query ?? [])).toMatchObject({
      head: 'acme:forge/01jab',
      base: 'main',
      state: 'open',
    });
    expect(fake.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'GET', 'PATCH']);
  });

  it('opens drafts with the draft flag and keeps the title as given', async () => {
    await host().openPullRequest(request({ draft: true }), signal);
    expect(fake.pulls(REPO)).toMatchObject([{ draft: true, title: 'Add a widget' }]);
  });

  it('reports a spent rate limit as unavailable, not forbidden', async () => {
    fake.failNext(403, 'API rate limit exceeded for user ID 1.', 1, {
      'x-ratelimit-remaining': '0',
    });
    const err = await rejection(host().openPullRequest(request(), signal));
    expect(err.code).toBe('unavailable');
  });

  it('reports bad credentials as unauthorized, naming the setting and never the token', async () => {
    const err = await rejection(host('ghp_wrongwrongwrong').openPullRequest(request(), signal));
    expect(err.code).toBe('unauthorized');
    expect(err.message).toContain('forges.gh.token');
    expect(err.message).toContain('Bad credentials');
    expect(err.message).not.toContain('ghp_wrongwrongwrong');
  });

  it('reports a 403 as forbidden, naming the permission the token needs', async () => {
    fake.failNext(403, 'Resource not accessible by personal access token');
    const err = await rejection(host().openPullRequest(request(), signal));
    expect(err.code).toBe('forbidden');
    expect(err.message).toContain('Pull requests read/write');
  });

  it('gives git the token with the x-access-token username', () => {
    expect(host().gitCredentials()).toEqual({ username: 'x-access-token', password: TOKEN });
  });
});

describe('GitHub Enterprise Server', () => {
  it('derives the API under /api/v3 from the web URL alone', async () => {
    const fake = await startFakeGitHub({ token: TOKEN, repos: [REPO], prefix: '/api/v3' });
    try {
      const pr = await createGitHubHost({ webUrl: fake.webUrl, token: TOKEN }).openPullRequest(
        request(),
        signal,
      );
      expect(pr).toMatchObject({ number: 1, url: `${fake.webUrl}/${REPO}/pull/1` });
    } finally {
      await fake.close();
    }
  });

  it('talks to the API under /api/v3 and derives the web host from it', async () => {
    const fake = await startFakeGitHub({ token: TOKEN, repos: [REPO], prefix: '/api/v3' });
    try {
      const host = createGitHubHost({ url: fake.url, token: TOKEN });
      const pr = await host.openPullRequest(request(), signal);
      expect(pr.number).toBe(1);
      expect(host.repoFor(`${fake.webUrl}/acme/widgets.git`)).toEqual({
        owner: 'acme',
        name: 'widgets',
      });
      expect(fake.violations).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe('repoFor on github.com', () => {
  const host = createGitHubHost({ token: TOKEN });

  it('parses github.com clone URLs with or without .git', () => {
    expect(host.repoFor('https://github.com/acme/widgets.git')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
    expect(host.repoFor('https://github.com/acme/widgets')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
  });

  it('returns null for other hosts', () => {
    expect(host.repoFor('https://gitlab.com/acme/widgets.git')).toBeNull();
    expect(host.repoFor('https://api.github.com/repos/acme/widgets')).toBeNull();
    expect(host.repoFor('https://ghe.example.com/acme/widgets.git')).toBeNull();
  });

  it('uses a configured web URL for an enterprise host', () => {
    const ghe = createGitHubHost({
      url: 'https://ghe.example.com/api/v3',
      webUrl: 'https://ghe.example.com',
      token: TOKEN,
    });
    expect(ghe.repoFor('https://ghe.example.com/acme/widgets.git')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
    expect(ghe.repoFor('https://github.com/acme/widgets.git')).toBeNull();
  });
});

describe('the fake GitHub check', () => {
  it('catches an undocumented field and a field of the wrong type', async () => {
    const fake = await startFakeGitHub({ token: TOKEN, repos: [REPO] });
    try {
      await fetch(`${fake.url}/repos/acme/widgets/pulls`, {
        method: 'POST',
        headers: { Authorization: `token ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ head: 'x', base: 'main', title: 42, labels: ['bug'] }),
      });
      expect(fake.violations).toEqual([
        'POST /repos/{owner}/{repo}/pulls: title must be a string',
        'POST /repos/{owner}/{repo}/pulls: labels is not a documented field',
      ]);
    } finally {
      await fake.close();
    }
  });
});
