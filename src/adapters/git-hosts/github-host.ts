import { Octokit } from '@octokit/rest';
import { ForgeError } from '../../domain/errors.ts';
import type {
  GitCredentials,
  GitHost,
  PullRequest,
  PullRequestRequest,
} from '../../ports/git-host.ts';
import { forgeMessage, httpError, repoFromCloneUrl, type ErrorContext } from './gitea-host.ts';

export interface GitHubHostOptions {
  /** API base: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server; derived
   *  from `webUrl` when not given. */
  url?: string;
  /** Web base that clone URLs start with; derived from `url` when not given. */
  webUrl?: string;
  token: string;
  /** The forge's key under `forges:` in the config, so messages say which setting to fix. */
  name?: string;
}

const DEFAULT_API = 'https://api.github.com';
const REQUEST_TIMEOUT_MS = 30_000;
const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export function createGitHubHost(opts: GitHubHostOptions): GitHost {
  const apiBase = (opts.url ?? apiBaseFor(opts.webUrl)).replace(/\/+$/, '');
  const web = new URL(opts.webUrl ?? webBaseFor(apiBase));
  const name = opts.name ?? 'github';
  const ctx: ErrorContext = {
    label: `github "${name}"`,
    name,
    token: opts.token,
    scope:
      'the repo scope (classic token) or Contents and Pull requests read/write (fine-grained token)',
  };
  // No retry or throttling plugins: finalize retries forge errors itself, with backoff. Octokit's
  // own request log goes to the console; failures reach the caller as ForgeErrors instead.
  const octokit = new Octokit({
    auth: opts.token,
    baseUrl: apiBase,
    userAgent: 'forge',
    log: SILENT,
  });

  /** Runs one API call with a timeout; every failure becomes a ForgeError. */
  async function call<T>(
    where: string,
    signal: AbortSignal,
    fn: (request: { signal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    try {
      return await fn({
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (cause) {
      if (signal.aborted) throw signal.reason; // the caller's own abort is not a forge failure
      throw toForgeError(cause, where, ctx, apiBase);
    }
  }

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

/** https://github.com (or nothing) → https://api.github.com; https://HOST → https://HOST/api/v3. */
function apiBaseFor(webUrl: string | undefined): string {
  if (!webUrl) return DEFAULT_API;
  const url = new URL(webUrl);
  return url.hostname === 'github.com'
    ? DEFAULT_API
    : `${url.origin}${url.pathname.replace(/\/+$/, '')}/api/v3`;
}

/** https://api.github.com → https://github.com; https://HOST/api/v3 → https://HOST. */
function webBaseFor(apiBase: string): string {
  const url = new URL(apiBase);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.origin}${url.pathname.replace(/\/api\/v3\/?$/, '')}`;
}

interface HttpFailure {
  status: number;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

function isHttpFailure(err: unknown): err is HttpFailure {
  return (
    typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number'
  );
}

function toForgeError(err: unknown, where: string, ctx: ErrorContext, apiBase: string): ForgeError {
  // Octokit reports network failures and timeouts as status 500 without a response.
  if (!isHttpFailure(err) || !err.response) {
    const reason = err instanceof Error ? err.message : String(err);
    return new ForgeError('unavailable', `${ctx.label} is unreachable at ${apiBase}: ${reason}`, {
      cause: err,
    });
  }
  const message = githubMessage(err.response.data);
  // A spent rate limit is a 403 on GitHub, but waiting fixes it: treat it like a 429.
  const limited =
    err.status === 403 &&
    (err.response.headers?.['x-ratelimit-remaining'] === '0' || /rate limit/i.test(message));
  return httpError(limited ? 429 : err.status, message, where, ctx, err);
}

/** GitHub puts the useful part of a 422 in `errors[].message`. */
function githubMessage(data: unknown): string {
  const top = forgeMessage(data);
  if (
    typeof data !== 'object' ||
    data === null ||
    !('errors' in data) ||
    !Array.isArray(data.errors)
  )
    return top;
  const details = (data.errors as unknown[]).map(forgeMessage).filter(Boolean);
  return details.length ? `${top}: ${details.join('; ')}` : top;
}

function alreadyExists(cause: unknown): boolean {
  return (
    isHttpFailure(cause) &&
    cause.status === 422 &&
    /pull request already exists/i.test(githubMessage(cause.response?.data))
  );
}
