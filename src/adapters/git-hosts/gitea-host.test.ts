import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createSwaggerValidator,
  loadSwagger,
  startFakeForgejo,
  type FakeForgejo,
  type GiteaKind,
} from '../../../test/support/fake-forgejo.ts';
import { createGiteaHost } from './gitea-host.ts';
import {
  gitHostContract,
  prRequest,
  rejection,
} from '../../../test/contracts/git-host.contract.ts';

const TOKEN = 'tok-3f9a1c0d2b7e';
const REPO = 'acme/widgets';

const request = prRequest;

const signal = new AbortController().signal;

for (const kind of ['forgejo', 'gitea'] as const) {
  gitHostContract(kind, async () => {
    const fake = await startFakeForgejo({ kind, token: TOKEN, repos: [REPO] });
    return {
      host: (token = TOKEN) => createGiteaHost({ kind, url: fake.url, token, name: 'work' }),
      unreachable: () =>
        createGiteaHost({ kind, url: 'http://127.0.0.1:9', token: TOKEN, name: 'work' }),
      failNext: (status, message) => fake.failNext(status, message),
      pulls: (repo) => fake.pulls(repo),
      tokenSetting: 'forges.work.token',
      close: async () => {
        await fake.close();
        // Every request Forge made, whatever the test, fits the published swagger.
        expect(fake.violations).toEqual([]);
      },
    };
  });
}

describe.each<GiteaKind>(['forgejo', 'gitea'])('%s host', (kind) => {
  let fake: FakeForgejo;
  const host = (token = TOKEN, url = fake.url) =>
    createGiteaHost({ kind, url, token, name: 'work' });

  beforeEach(async () => {
    fake = await startFakeForgejo({ kind, token: TOKEN, repos: [REPO], maxPageSize: 2 });
  });
  afterEach(async () => {
    await fake.close();
    // Every request Forge made, whatever the test, fits the published swagger.
    expect(fake.violations).toEqual([]);
  });

  it('opens a pull request and returns its number and web page', async () => {
    const pr = await host().openPullRequest(request(), signal);

    expect(pr).toEqual({ number: 1, url: `${fake.url}/${REPO}/pulls/1`, created: true });
    expect(fake.pulls(REPO)).toMatchObject([
      {
        head: 'forge/01jab',
        base: 'main',
        title: 'Add a widget',
        body: 'First run.',
        state: 'open',
      },
    ]);
    const [post] = fake.requests;
    expect(post).toMatchObject({
      method: 'POST',
      path: '/repos/acme/widgets/pulls',
      body: { head: 'forge/01jab', base: 'main', title: 'Add a widget', body: 'First run.' },
    });
    expect(post?.headers.authorization).toBe(`token ${TOKEN}`);
  });

  it('updates the open pull request when one already exists for the same head and base', async () => {
    const first = await host().openPullRequest(request(), signal);
    const second = await host().openPullRequest(
      request({ title: 'Add a widget (retry)', body: 'Second run.' }),
      signal,
    );

    expect(second).toEqual({ number: first.number, url: first.url, created: false });
    expect(fake.pulls(REPO)).toMatchObject([
      { title: 'Add a widget (retry)', body: 'Second run.' },
    ]);
    expect(fake.pulls(REPO)).toHaveLength(1);
    expect(fake.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'GET', 'PATCH']);
  });

  it('finds the existing pull request past the first page and ignores other heads and closed ones', async () => {
    fake.addPull(REPO, {
      head: 'forge/01jab',
      base: 'main',
      title: 'old',
      body: '',
      state: 'closed',
    });
    fake.addPull(REPO, { head: 'feature/a', base: 'main', title: 'a', body: '', state: 'open' });
    fake.addPull(REPO, { head: 'feature/b', base: 'main', title: 'b', body: '', state: 'open' });
    const mine = fake.addPull(REPO, {
      head: 'forge/01jab',
      base: 'main',
      title: 'mine',
      body: '',
      state: 'open',
    });

    const pr = await host().openPullRequest(request({ body: 'Updated.' }), signal);

    expect(pr).toMatchObject({ number: mine.number, created: false });
    expect(fake.pulls(REPO).find((p) => p.number === mine.number)?.body).toBe('Updated.');
    expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  it('marks a draft with the WIP: title prefix, which the forge shows as a draft', async () => {
    await host().openPullRequest(request({ draft: true }), signal);
    await host().openPullRequest(request({ draft: true, body: 'again' }), signal);

    expect(fake.pulls(REPO)).toMatchObject([{ title: 'WIP: Add a widget', body: 'again' }]);
    expect(fake.requests[0]?.body).not.toHaveProperty('draft');
  });

  it('reports a 403 as forbidden, naming the scope the token needs', async () => {
    fake.failNext(403, 'token does not have at least one of required scope(s): [write:repository]');
    const err = await rejection(host().openPullRequest(request(), signal));
    expect(err.code).toBe('forbidden');
    expect(err.message).toContain('write:repository');
    expect(err.message).toContain('acme/widgets');
  });

  it('gives git the token as the password', () => {
    expect(host().gitCredentials()).toEqual({ username: 'forge', password: TOKEN });
  });
});

describe('repoFor', () => {
  const at = (url: string) => createGiteaHost({ kind: 'forgejo', url, token: TOKEN });

  it('parses owner and name with or without .git', () => {
    const host = at('https://code.example.com');
    expect(host.repoFor('https://code.example.com/acme/widgets.git')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
    expect(host.repoFor('https://code.example.com/acme/widgets')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
    expect(host.repoFor('https://code.example.com/acme/widgets/')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
  });

  it('handles a forge installed under a sub-path', () => {
    const host = at('https://example.com/git/');
    expect(host.repoFor('https://example.com/git/acme/widgets.git')).toEqual({
      owner: 'acme',
      name: 'widgets',
    });
    expect(host.repoFor('https://example.com/acme/widgets.git')).toBeNull();
  });

  it('returns null for other hosts, ports and shapes', () => {
    const host = at('https://code.example.com');
    expect(host.repoFor('https://github.com/acme/widgets.git')).toBeNull();
    expect(host.repoFor('https://code.example.com:8443/acme/widgets.git')).toBeNull();
    expect(host.repoFor('https://code.example.com/acme/widgets/tree/main')).toBeNull();
    expect(host.repoFor('https://code.example.com/acme')).toBeNull();
    expect(host.repoFor('git@code.example.com:acme/widgets.git')).toBeNull();
    expect(host.repoFor('not a url')).toBeNull();
  });
});

describe.each<GiteaKind>(['forgejo', 'gitea'])('the %s swagger check', (kind) => {
  it('catches a body field of the wrong type, an unknown field and an unknown query parameter', async () => {
    const fake = await startFakeForgejo({ kind, token: TOKEN, repos: [REPO] });
    try {
      await fetch(`${fake.url}/api/v1/repos/acme/widgets/pulls?sort=bogus&colour=red`, {
        method: 'POST',
        headers: { Authorization: `token ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ head: 'x', base: 'main', title: 42, draft: true }),
      });
      const text = fake.violations.join('\n');
      expect(text).toMatch(/body\.title: 42 is not string/);
      expect(text).toMatch(/body\.draft: not a field/);
      expect(text).toMatch(/unknown query parameter colour/);
      expect(text).toMatch(/sort/); // POST takes no query parameters at all
    } finally {
      await fake.close();
    }
  });

  it('fails loudly when the schema file is missing', () => {
    expect(() => loadSwagger(kind, '/nonexistent/swagger.v1.json')).toThrow(
      /API schema is missing: expected \/nonexistent/,
    );
  });

  it('knows each forge names its base-branch filter differently', () => {
    const validator = createSwaggerValidator(loadSwagger(kind));
    const [right, wrong] = kind === 'forgejo' ? ['base', 'base_branch'] : ['base_branch', 'base'];
    expect(
      validator.request(
        'GET',
        '/repos/a/b/pulls',
        new URLSearchParams({ state: 'open', [right]: 'main' }),
        undefined,
      ),
    ).toEqual([]);
    expect(
      validator.request(
        'GET',
        '/repos/a/b/pulls',
        new URLSearchParams({ [wrong]: 'main' }),
        undefined,
      ),
    ).toEqual([`GET /repos/{owner}/{repo}/pulls: unknown query parameter ${wrong}`]);
    expect(
      validator.request(
        'GET',
        '/repos/a/b/pulls',
        new URLSearchParams({ state: 'merged' }),
        undefined,
      )[0],
    ).toMatch(/not one of/);
    expect(
      validator.request('DELETE', '/repos/a/b/pulls', new URLSearchParams(), undefined)[0],
    ).toMatch(/no such method/);
  });
});
