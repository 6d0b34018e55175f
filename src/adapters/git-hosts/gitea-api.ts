/** One request to a Forgejo/Gitea API, shared by the pull-request and issue adapters: token auth,
 *  a timeout, JSON both ways, and a network failure as ForgeError('unavailable'). */
import { ForgeError } from '../../domain/errors.ts';
import type { RepoCoordinates } from '../../ports/git-host.ts';
import type { ErrorContext } from './gitea-host.ts';

export interface GiteaApiOptions {
  kind: 'forgejo' | 'gitea';
  /** Web URL of the forge, including any sub-path it is installed under (https://example.com/git). */
  url: string;
  token: string;
  /** The forge's key under `forges:` in the config, so messages say which setting to fix. */
  name?: string;
}

export interface GiteaApi {
  apiBase: string;
  web: URL;
  ctx: ErrorContext;
  /** Any HTTP status resolves; only an unreachable forge (or the caller's abort) rejects. */
  call: <T>(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ) => Promise<{ status: number; data: T }>;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** `scope` is what the token needs for this adapter's calls, in the forge's own words. */
export function createGiteaApi(opts: GiteaApiOptions, scope: string): GiteaApi {
  const web = new URL(opts.url);
  const apiBase = `${web.origin}${trimSlash(web.pathname)}/api/v1`;
  const ctx: ErrorContext = {
    label: `${opts.kind} "${opts.name ?? opts.kind}"`,
    name: opts.name ?? opts.kind,
    token: opts.token,
    scope,
  };

  async function call<T>(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<{ status: number; data: T }> {
    try {
      const res = await fetch(`${apiBase}${path}`, {
        method,
        headers: {
          Authorization: `token ${opts.token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      // Error bodies may be a proxy's HTML rather than JSON; forgeMessage() copes with both.
      return { status: res.status, data: parseJson(await res.text()) as T };
    } catch (cause) {
      if (signal.aborted) throw signal.reason; // the caller's own abort is not a forge failure
      throw new ForgeError(
        'unavailable',
        `${ctx.label} is unreachable at ${apiBase}: ${reasonOf(cause)}`,
        { cause },
      );
    }
  }

  return { apiBase, web, ctx, call };
}

export function repoPath(repo: RepoCoordinates): string {
  return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;
}

export function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof Error)
    return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
  return String(err);
}
