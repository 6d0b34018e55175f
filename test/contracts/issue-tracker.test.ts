import { expect } from 'vitest';
import { createGiteaIssues } from '../../src/adapters/git-hosts/gitea-issues.ts';
import { createGitHubIssues } from '../../src/adapters/git-hosts/github-issues.ts';
import { startFakeForgejo } from '../support/fake-forgejo.ts';
import { startFakeGitHub } from '../support/fake-github.ts';
import { CONTRACT_REPO, issueTrackerContract } from './issue-tracker.contract.ts';

const TOKEN = 'tok-51c0ffee42';

for (const kind of ['forgejo', 'gitea'] as const) {
  issueTrackerContract(kind, async () => {
    const fake = await startFakeForgejo({
      kind,
      token: TOKEN,
      repos: [CONTRACT_REPO],
      maxPageSize: 3,
    });
    return {
      tracker: (token = TOKEN) => createGiteaIssues({ kind, url: fake.url, token, name: 'work' }),
      unreachable: () =>
        createGiteaIssues({ kind, url: 'http://127.0.0.1:9', token: TOKEN, name: 'work' }),
      pageSize: 3,
      createIssue: async ({ title, body = '', author = 'alice', labels, at }) =>
        (
          await fake.createIssue({
            repo: CONTRACT_REPO,
            title,
            body,
            author,
            ...(labels ? { labels } : {}),
            ...(at ? { at } : {}),
          })
        ).number,
      createPull: async (labels, given) => {
        const pull = fake.addPull(CONTRACT_REPO, {
          head: given?.head ?? `f${Math.random()}`,
          base: 'main',
          title: 'pr',
          body: given?.body ?? '',
          state: 'open',
        });
        await fake.setLabels(CONTRACT_REPO, pull.number, labels, 'alice');
        return pull.number;
      },
      setLabels: async (n, labels) =>
        void (await fake.setLabels(CONTRACT_REPO, n, labels, 'alice')),
      closeIssue: async (n) => void (await fake.setState(CONTRACT_REPO, n, 'closed', 'alice')),
      comment: async (n, body, author, at) =>
        (await fake.comment(CONTRACT_REPO, n, body, author, at)).id,
      issue: (n) => fake.issue(CONTRACT_REPO, n),
      comments: (n) => fake.comments(CONTRACT_REPO, n),
      repoLabels: () => fake.labels(CONTRACT_REPO),
      permissions: [
        ['none', 'none'],
        ['read', 'read'],
        ['write', 'write'],
        ['admin', 'admin'],
        ['owner', 'admin'],
      ],
      setPermission: (login, native) => fake.setPermission(CONTRACT_REPO, login, native as 'read'),
      botLogin: `${kind}-actions`,
      failNext: (status, message) => fake.failNext(status, message),
      requests: () => fake.requests,
      tokenSetting: 'forges.work.token',
      close: async () => {
        await fake.close();
        // Every request the tracker made, whatever the test, fits the published swagger.
        expect(fake.violations).toEqual([]);
      },
    };
  });
}

issueTrackerContract('github', async () => {
  const fake = await startFakeGitHub({ token: TOKEN, repos: [CONTRACT_REPO] });
  return {
    tracker: (token = TOKEN) =>
      createGitHubIssues({ url: fake.url, webUrl: fake.webUrl, token, name: 'hub' }),
    unreachable: () => createGitHubIssues({ url: 'http://127.0.0.1:9', token: TOKEN, name: 'hub' }),
    pageSize: 100,
    createIssue: async ({ title, body = '', author = 'alice', labels, at }) =>
      (
        await fake.createIssue({
          repo: CONTRACT_REPO,
          title,
          body,
          author,
          ...(labels ? { labels } : {}),
          ...(at ? { at } : {}),
        })
      ).number,
    createPull: async (labels, given) => {
      const res = await fetch(`${fake.url}/repos/${CONTRACT_REPO}/pulls`, {
        method: 'POST',
        headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          head: given?.head ?? `f${Math.random()}`,
          base: 'main',
          title: 'pr',
          body: given?.body ?? '',
        }),
      });
      const { number } = (await res.json()) as { number: number };
      await fake.setLabels(CONTRACT_REPO, number, labels, 'alice');
      return number;
    },
    setLabels: async (n, labels) => void (await fake.setLabels(CONTRACT_REPO, n, labels, 'alice')),
    closeIssue: async (n) => void (await fake.setState(CONTRACT_REPO, n, 'closed', 'alice')),
    comment: async (n, body, author, at) =>
      (await fake.comment(CONTRACT_REPO, n, body, author, at)).id,
    issue: (n) => fake.issue(CONTRACT_REPO, n),
    comments: (n) => fake.comments(CONTRACT_REPO, n),
    repoLabels: () => fake.labels(CONTRACT_REPO),
    permissions: [
      ['none', 'none'],
      ['read', 'read'],
      ['triage', 'read'],
      ['write', 'write'],
      ['maintain', 'write'],
      ['admin', 'admin'],
    ],
    setPermission: (login, native) => fake.setPermission(CONTRACT_REPO, login, native as 'read'),
    botLogin: 'dependabot[bot]',
    failNext: (status, message) => fake.failNext(status, message),
    requests: () => fake.requests,
    tokenSetting: 'forges.hub.token',
    close: async () => {
      await fake.close();
      // Every request the tracker made fits the fields GitHub documents.
      expect(fake.violations).toEqual([]);
    },
  };
});
