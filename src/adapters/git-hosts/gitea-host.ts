import { ForgeError, type ErrorCode } from '../../domain/errors.ts';
import { createGiteaApi, repoPath, trimSlash, type GiteaApiOptions } from './gitea-api.ts';
import type {
  GitCredentials,
  GitHost,
  PullRequest,
  PullRequestRequest,
  RepoCoordinates,
} from '../../ports/git-host.ts';

export type GiteaHostOptions = GiteaApiOptions;

/** Forgejo and Gitea have no `draft` field on CreatePullRequestOption (checked against both
 *  swaggers): a title starting with a work-in-progress prefix is what makes a PR a draft. */
const DRAFT_PREFIX = 'WIP: ';
/** Gitea's default MAX_RESPONSE_ITEMS; an instance may cap pages lower. */
const PAGE_SIZE = 50;
const MAX_PAGES = 20;

interface ApiPullRequest {
  number: number;
  html_url: string;
  head?: { ref?: string; repo_id?: number };
  base?: { ref?: string; repo_id?: number };
}

export function createGiteaHost(opts: GiteaHostOptions): GitHost {
  const { web, ctx, call } = createGiteaApi(opts, 'the write:repository scope');

  async function findOpen(
    req: PullRequestRequest,
    signal: AbortSignal,
  ): Promise<ApiPullRequest | null> {
    const { owner, name } = req.repo;
    // The base filter's name differs (Forgejo `base`, Gitea `base_branch`); Gitea has no head filter
    // and older versions ignore both, so the match below is what decides.
    const baseParam = opts.kind === 'forgejo' ? 'base' : 'base_branch';
    for (let page = 1; page <= MAX_PAGES; page++) {
      const query = new URLSearchParams({
        state: 'open',
        [baseParam]: req.base,
        page: String(page),
        limit: String(PAGE_SIZE),
      });
      const res = await call<ApiPullRequest[]>(
        'GET',
        `${repoPath(req.repo)}/pulls?${query.toString()}`,
        undefined,
        signal,
      );
      if (res.status !== 200) throw httpError(res.status, res.data, `${owner}/${name}`, ctx);
      const found = res.data.find(
        (pr) => pr.head?.ref === req.head && pr.base?.ref === req.base && sameRepo(pr),
      );
      if (found) return found;
      // Stop at an empty page, not a short one: the forge may cap pages below what was asked.
      if (res.data.length === 0) return null;
    }
    return null;
  }

  return {
    kind: opts.kind,

    async openPullRequest(req, signal): Promise<PullRequest> {
      const where = `${req.repo.owner}/${req.repo.name}`;
      const title =
        req.draft && !req.title.startsWith(DRAFT_PREFIX)
          ? `${DRAFT_PREFIX}${req.title}`
          : req.title;
      const created = await call<ApiPullRequest>(
        'POST',
        `${repoPath(req.repo)}/pulls`,
        { head: req.head, base: req.base, title, body: req.body },
        signal,
      );
      if (created.status === 201)
        return { number: created.data.number, url: created.data.html_url, created: true };
      // Gitea and Forgejo answer 409 "pull request already exists for these targets [… issue_id: N …]";
      // the list is used rather than parsing that text, which is no API contract.
      if (!alreadyExists(created.status, created.data))
        throw httpError(created.status, created.data, where, ctx);
      const open = await findOpen(req, signal);
      if (!open) {
        throw new ForgeError(
          'unavailable',
          `${ctx.label} says a pull request from ${req.head} to ${req.base} exists in ${where}, but none is open; try again`,
        );
      }
      const edited = await call<ApiPullRequest>(
        'PATCH',
        `${repoPath(req.repo)}/pulls/${open.number}`,
        { title, body: req.body },
        signal,
      );
      if (edited.status !== 200 && edited.status !== 201)
        throw httpError(edited.status, edited.data, where, ctx);
      return { number: edited.data.number, url: edited.data.html_url, created: false };
    },

    repoFor: (cloneUrl) => repoFromCloneUrl(web, cloneUrl),

    // Gitea and Forgejo take a token as the basic-auth password and ignore the username (only old,
    // pre-chi Gitea releases insisted it be the token's owner).
    gitCredentials: (): GitCredentials => ({ username: 'forge', password: opts.token }),
  };
}

function sameRepo(pr: ApiPullRequest): boolean {
  // A fork's PR can use the same branch name; Forge pushes to the base repository itself.
  const head = pr.head?.repo_id;
  const base = pr.base?.repo_id;
  return head === undefined || base === undefined || head === base;
}

function alreadyExists(status: number, data: unknown): boolean {
  return (status === 409 || status === 422) && /already exists/i.test(forgeMessage(data));
}

export interface ErrorContext {
  /** e.g. `gitea "work"`. */
  label: string;
  /** The config key under `forges:`. */
  name: string;
  token: string;
  /** What the token needs, in the forge's own words. */
  scope: string;
}

/** What a 404 may mean for a request; the default fits pull requests. */
const MISSING_PR = 'repository {where} or one of the branches was not found';

/** One mapping from a forge's HTTP status to Forge's error codes, shared by every forge adapter. */
export function httpError(
  status: number,
  data: unknown,
  where: string,
  ctx: ErrorContext,
  cause?: unknown,
  missing = MISSING_PR,
): ForgeError {
  const said = redact(forgeMessage(data), ctx.token);
  const answer = `${ctx.label} answered ${status}${said ? ` (${said})` : ''}`;
  const [code, advice] = adviceFor(status, where, ctx, missing);
  return new ForgeError(code, `${answer}: ${advice}`, { cause });
}

function adviceFor(
  status: number,
  where: string,
  ctx: ErrorContext,
  missing: string,
): [ErrorCode, string] {
  if (status === 401)
    return ['unauthorized', `check forges.${ctx.name}.token; it needs ${ctx.scope}`];
  if (status === 403)
    return [
      'forbidden',
      `the token in forges.${ctx.name}.token may not write to ${where}; it needs ${ctx.scope}`,
    ];
  if (status === 404)
    return [
      'not_found',
      `${missing.replace('{where}', where)}; check the repository URL and that the token can see it`,
    ];
  if (status === 409) return ['conflict', `${where} refused the change; see the forge's message`];
  if (status === 408 || status === 429 || status >= 500)
    return ['unavailable', 'the forge is having trouble; Forge will retry'];
  return ['invalid_request', `the forge refused the request for ${where}`];
}

/** `message` of Gitea's APIError and of GitHub's error bodies, or a plain-text body. */
export function forgeMessage(data: unknown): string {
  if (typeof data === 'string') return data.trim().slice(0, 300);
  if (
    typeof data === 'object' &&
    data !== null &&
    'message' in data &&
    typeof data.message === 'string'
  )
    return data.message;
  return '';
}

function redact(text: string, token: string): string {
  return token ? text.split(token).join('[redacted]') : text;
}

/**
 * owner/name of a clone URL served by the forge at `web` (same host and port, under its sub-path),
 * with or without `.git`; null for any other URL.
 */
export function repoFromCloneUrl(web: URL, cloneUrl: string): RepoCoordinates | null {
  let url: URL;
  try {
    url = new URL(cloneUrl);
  } catch {
    return null;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.host !== web.host) return null;
  const prefix = trimSlash(web.pathname);
  if (prefix && !url.pathname.startsWith(`${prefix}/`)) return null;
  const parts = trimSlash(url.pathname.slice(prefix.length)).split('/').filter(Boolean);
  const [owner, rawName] = parts;
  if (parts.length !== 2 || !owner || !rawName) return null;
  const name = rawName.endsWith('.git') ? rawName.slice(0, -'.git'.length) : rawName;
  return name ? { owner: decodeURIComponent(owner), name: decodeURIComponent(name) } : null;
}
