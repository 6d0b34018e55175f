import { ForgeError } from '../../domain/errors.ts';
import type {
  GitCredentials,
  GitHost,
  PullRequest,
  PullRequestRequest,
} from '../../ports/git-host.ts';
import {
  createGitHubApi,
  githubMessage,
  isHttpFailure,
  type GitHubApiOptions,
} from './github-api.ts';
import { repoFromCloneUrl } from './gitea-host.ts';

export type GitHubHostOptions = GitHubApiOptions;

export function createGitHubHost(opts: GitHubHostOptions): GitHost {
  const { web, ctx, octokit, call } = createGitHubApi(
    opts,
    'the repo scope (classic token) or Contents and Pull requests read/write (fine-grained token)',
  );

  async function updateExisting(
    req: PullRequestRequest,
    signal: AbortSignal,
  ): Promise<PullRequest> {
    const { owner, name: repo } = req.repo;
    const where = `${owner}/${repo}`;
    // GitHub's head filter takes `owner:branch`; the branch lives in the base repository.
    const { data: open } = await call(where, signal, (request) =>
      octokit.pulls.list({
        owner,
        repo,
        head: `${owner}:${req.head}`,
        base: req.base,
        state: 'open',
        per_page: 100,
        request,
      }),
    );
    const existing = open.find((pr) => pr.head.ref === req.head && pr.base.ref === req.base);
    if (!existing) {
      throw new ForgeError(
        'unavailable',
        `${ctx.label} says a pull request from ${req.head} to ${req.base} exists in ${where}, but none is open; try again`,
      );
    }
    // Draft state cannot be changed through REST (only GraphQL), so an existing PR keeps its own.
    const { data } = await call(where, signal, (request) =>
      octokit.pulls.update({
        owner,
        repo,
        pull_number: existing.number,
        title: req.title,
        body: req.body,
        request,
      }),
    );
    return { number: data.number, url: data.html_url, created: false };
  }

  return {
    kind: 'github',

    async openPullRequest(req, signal): Promise<PullRequest> {
      const { owner, name: repo } = req.repo;
      try {
        const { data } = await call(`${owner}/${repo}`, signal, (request) =>
          octokit.pulls.create({
            owner,
            repo,
            head: req.head,
            base: req.base,
            title: req.title,
            body: req.body,
            draft: req.draft,
            request,
          }),
        );
        return { number: data.number, url: data.html_url, created: true };
      } catch (err) {
        // GitHub: 422 "Validation Failed" with errors[].message "A pull request already exists for owner:branch."
        if (err instanceof ForgeError && err.cause !== undefined && alreadyExists(err.cause))
          return updateExisting(req, signal);
        throw err;
      }
    },

    repoFor: (cloneUrl) => repoFromCloneUrl(web, cloneUrl),

    // GitHub's documented username for token-authenticated git over HTTPS.
    gitCredentials: (): GitCredentials => ({ username: 'x-access-token', password: opts.token }),
  };
}

function alreadyExists(cause: unknown): boolean {
  return (
    isHttpFailure(cause) &&
    cause.status === 422 &&
    /pull request already exists/i.test(githubMessage(cause.response?.data))
  );
}
