/** An Octokit client for one configured GitHub (or GitHub Enterprise Server), shared by the
 *  pull-request and issue adapters: a timeout per call and every failure as a ForgeError. */
import { Octokit } from '@octokit/rest';
import { ForgeError } from '../../domain/errors.ts';
import { forgeMessage, httpError, type ErrorContext } from './gitea-host.ts';

export interface GitHubApiOptions {
  /** API base: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server; derived
   *  from `webUrl` when not given. */
  url?: string;
  /** Web base that clone URLs start with; derived from `url` when not given. */
  webUrl?: string;
  token: string;
  /** The forge's key under `forges:` in the config, so messages say which setting to fix. */
  name?: string;
}

export interface GitHubApi {
  octokit: Octokit;
  apiBase: string;
  web: URL;
  ctx: ErrorContext;
  /** Runs one API call with a timeout; every failure becomes a ForgeError (404 says `missing`). */
  call: <T>(
    where: string,
    signal: AbortSignal,
    fn: (request: { signal: AbortSignal }) => Promise<T>,
    missing?: string,
  ) => Promise<T>;
}

const DEFAULT_API = 'https://api.github.com';
const REQUEST_TIMEOUT_MS = 30_000;
const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** `scope` is what the token needs for this adapter's calls, in GitHub's own words. */
export function createGitHubApi(opts: GitHubApiOptions, scope: string): GitHubApi {
  const apiBase = (opts.url ?? apiBaseFor(opts.webUrl)).replace(/\/+$/, '');
  const web = new URL(opts.webUrl ?? webBaseFor(apiBase));
  const name = opts.name ?? 'github';
  const ctx: ErrorContext = { label: `github "${name}"`, name, token: opts.token, scope };
  // No retry or throttling plugins: callers retry forge errors themselves, with backoff. Octokit's
  // own request log goes to the console; failures reach the caller as ForgeErrors instead.
  const octokit = new Octokit({
    auth: opts.token,
    baseUrl: apiBase,
    userAgent: 'forge',
    log: SILENT,
  });

  async function call<T>(
    where: string,
    signal: AbortSignal,
    fn: (request: { signal: AbortSignal }) => Promise<T>,
    missing?: string,
  ): Promise<T> {
    try {
      return await fn({
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (cause) {
      if (signal.aborted) throw signal.reason; // the caller's own abort is not a forge failure
      throw toForgeError(cause, where, ctx, apiBase, missing);
    }
  }

  return { octokit, apiBase, web, ctx, call };
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

export function isHttpFailure(err: unknown): err is HttpFailure {
  return (
    typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number'
  );
}

function toForgeError(
  err: unknown,
  where: string,
  ctx: ErrorContext,
  apiBase: string,
  missing?: string,
): ForgeError {
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
  return httpError(limited ? 429 : err.status, message, where, ctx, err, missing);
}

/** GitHub puts the useful part of a 422 in `errors[].message`. */
export function githubMessage(data: unknown): string {
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
