/**
 * IssueTracker for Forgejo and Gitea (their issue APIs are the same as far as Forge uses them;
 * checked against both swaggers).
 *
 * Bots: the User object of these APIs has no account type (no `type`, no `is_bot`), and a login
 * ending in `-bot` or `[bot]` is just a name anyone may register. The one account the forge itself
 * marks is its built-in Actions user (`forgejo-actions` / `gitea-actions`, id -2), so that is the
 * only one reported as a bot; other automation must be kept out by `allowed_users` or permissions.
 */
import { ForgeError } from '../../domain/errors.ts';
import type { RepoCoordinates } from '../../ports/git-host.ts';
import type {
  ForgeUser,
  IssueComment,
  IssueTracker,
  RepoPermission,
  TrackedIssue,
  TrackedPull,
} from '../../ports/issue-tracker.ts';
import { createGiteaApi, repoPath, type GiteaApiOptions } from './gitea-api.ts';
import { httpError } from './gitea-host.ts';
import { LABEL_COLOR, nextLabels, notBefore } from './issue-labels.ts';

export type GiteaIssuesOptions = GiteaApiOptions;

/** The id Gitea and Forgejo give their built-in Actions account. */
const ACTIONS_USER_ID = -2;
/** Gitea's default MAX_RESPONSE_ITEMS; an instance may cap pages lower. */
const PAGE_SIZE = 50;

interface ApiUser {
  id?: number;
  login?: string;
}
interface ApiLabel {
  name?: string;
}
interface ApiIssue {
  number: number;
  title?: string;
  body?: string | null;
  labels?: ApiLabel[] | null;
  state?: string;
  user?: ApiUser | null;
  html_url?: string;
  updated_at?: string;
  pull_request?: unknown;
}
interface ApiPull {
  number: number;
  body?: string | null;
  state?: string;
  html_url?: string;
  head?: { ref?: string } | null;
}
interface ApiComment {
  id: number;
  body?: string;
  user?: ApiUser | null;
  created_at?: string;
}

export function createGiteaIssues(opts: GiteaIssuesOptions): IssueTracker {
  const { ctx, call } = createGiteaApi(
    opts,
    'the write:issue scope (and read:repository, read:user)',
  );

  /** One request whose status must be one of `ok`; anything else is a ForgeError. */
  async function callOk<T>(
    method: string,
    path: string,
    body: unknown,
    where: string,
    signal: AbortSignal,
    ok: readonly number[] = [200],
  ): Promise<T> {
    const res = await call<T>(method, path, body, signal);
    if (!ok.includes(res.status))
      throw httpError(res.status, res.data, where, ctx, undefined, `${where} was not found`);
    return res.data;
  }

  /** Every page of a list, until an empty page or one with nothing new (a forge that ignores
   *  `page` would otherwise be read forever). */
  async function allPages<T>(
    path: string,
    query: URLSearchParams,
    key: (item: T) => number,
    where: string,
    signal: AbortSignal,
  ): Promise<T[]> {
    const seen = new Map<number, T>();
    for (let page = 1; ; page++) {
      query.set('page', String(page));
      query.set('limit', String(PAGE_SIZE));
      const items = await callOk<T[]>(
        'GET',
        `${path}?${query.toString()}`,
        undefined,
        where,
        signal,
      );
      if (!Array.isArray(items)) throw unexpected(where);
      const before = seen.size;
      for (const item of items) seen.set(key(item), item);
      if (items.length === 0 || seen.size === before) return [...seen.values()];
    }
  }

  function unexpected(where: string): ForgeError {
    return new ForgeError('unavailable', `${ctx.label} gave an unexpected answer for ${where}`);
  }

  async function issueLabels(repo: RepoCoordinates, number: number, signal: AbortSignal) {
    const where = `${at(repo)}#${number}`;
    const labels = await callOk<ApiLabel[]>(
      'GET',
      `${repoPath(repo)}/issues/${number}/labels`,
      undefined,
      where,
      signal,
    );
    return labels.map((l) => l.name ?? '');
  }

  /** Creates those of `names` the repository does not have yet. */
  async function ensureLabels(repo: RepoCoordinates, names: string[], signal: AbortSignal) {
    const where = `${at(repo)} labels`;
    const existing = await allPages<ApiLabel & { id: number }>(
      `${repoPath(repo)}/labels`,
      new URLSearchParams(),
      (l) => l.id,
      where,
      signal,
    );
    const have = new Set(existing.map((l) => l.name));
    for (const name of names.filter((n) => !have.has(n)))
      await callOk(
        'POST',
        `${repoPath(repo)}/labels`,
        { name, color: `#${LABEL_COLOR}` },
        where,
        signal,
        [201],
      );
  }

  return {
    async listLabelledIssues(repo, label, since, signal) {
      const query = new URLSearchParams({ type: 'issues', state: 'open', labels: label });
      if (since) query.set('since', since);
      const issues = await allPages<ApiIssue>(
        `${repoPath(repo)}/issues`,
        query,
        (i) => i.number,
        `${at(repo)} issues`,
        signal,
      );
      // The forge drops a label filter naming no existing label, and older ones ignore `type`.
      return issues
        .map(toTracked)
        .filter(
          (i): i is TrackedIssue => i !== null && i.state === 'open' && i.labels.includes(label),
        );
    },

    async getIssue(repo, number, signal) {
      const res = await call<ApiIssue>(
        'GET',
        `${repoPath(repo)}/issues/${number}`,
        undefined,
        signal,
      );
      if (res.status === 404) return null;
      const where = `${at(repo)}#${number}`;
      if (res.status !== 200) throw httpError(res.status, res.data, where, ctx);
      return toTracked(res.data);
    },

    async getPull(repo, number, signal) {
      const res = await call<ApiPull>(
        'GET',
        `${repoPath(repo)}/pulls/${number}`,
        undefined,
        signal,
      );
      if (res.status === 404) return null;
      const where = `${at(repo)} pull request #${number}`;
      if (res.status !== 200) throw httpError(res.status, res.data, where, ctx);
      if (typeof res.data?.head?.ref !== 'string') throw unexpected(where);
      const pull: TrackedPull = {
        number: res.data.number,
        head: res.data.head.ref,
        body: res.data.body ?? '',
        state: res.data.state === 'closed' ? 'closed' : 'open',
        url: res.data.html_url ?? '',
      };
      return pull;
    },

    async listComments(repo, number, since, signal) {
      // Gitea's `since` compares the time a comment was last updated; the port promises creation.
      const query = since ? `?${new URLSearchParams({ since }).toString()}` : '';
      const comments = await callOk<ApiComment[]>(
        'GET',
        `${repoPath(repo)}/issues/${number}/comments${query}`,
        undefined,
        `${at(repo)}#${number}`,
        signal,
      );
      if (!Array.isArray(comments)) throw unexpected(`${at(repo)}#${number}`);
      return comments
        .map(toComment)
        .filter((c) => since === null || notBefore(c.created_at, since))
        .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
    },

    async createComment(repo, number, body, signal) {
      const created = await callOk<ApiComment>(
        'POST',
        `${repoPath(repo)}/issues/${number}/comments`,
        { body },
        `${at(repo)}#${number}`,
        signal,
        [201],
      );
      return created.id;
    },

    async editComment(repo, commentId, body, signal) {
      // 204: the forge saw no change.
      await callOk(
        'PATCH',
        `${repoPath(repo)}/issues/comments/${commentId}`,
        { body },
        `comment ${commentId} in ${at(repo)}`,
        signal,
        [200, 201, 204],
      );
    },

    async setManagedLabels(repo, number, managed, wanted, signal) {
      const path = `${repoPath(repo)}/issues/${number}/labels`;
      const where = `${at(repo)}#${number}`;
      const change = nextLabels(await issueLabels(repo, number, signal), managed, wanted);
      if (!change) return;
      if (change.added.length) await ensureLabels(repo, change.added, signal);
      // Label names are accepted where ids are (IssueLabelsOption): adding is one POST, any
      // removal one PUT of the whole set.
      if (change.removed.length === 0)
        await callOk('POST', path, { labels: change.added }, where, signal);
      else await callOk('PUT', path, { labels: change.next }, where, signal);
    },

    async setIssueState(repo, number, state, signal) {
      await callOk(
        'PATCH',
        `${repoPath(repo)}/issues/${number}`,
        { state },
        `${at(repo)}#${number}`,
        signal,
        [201],
      );
    },

    async permission(repo, login, signal) {
      const res = await call<{ permission?: string }>(
        'GET',
        `${repoPath(repo)}/collaborators/${encodeURIComponent(login)}/permission`,
        undefined,
        signal,
      );
      if (res.status === 404) return 'none'; // no such user
      if (res.status === 403)
        // Only a site admin, a repository admin, or the person themselves may ask.
        throw new ForgeError(
          'forbidden',
          `${ctx.label} does not let the account of forges.${ctx.name}.token read ${login}'s permission on ${at(repo)}: it must be an administrator of the repository (or list the people in the intake source's allowed_users)`,
        );
      if (res.status !== 200) throw httpError(res.status, res.data, at(repo), ctx);
      return toPermission(res.data.permission);
    },

    async self(signal) {
      const me = await callOk<ApiUser>('GET', '/user', undefined, 'the token', signal);
      return toUser(me);
    },
  };
}

function at(repo: RepoCoordinates): string {
  return `${repo.owner}/${repo.name}`;
}

function toUser(user: ApiUser | null | undefined): ForgeUser {
  return { login: user?.login ?? '', bot: user?.id === ACTIONS_USER_ID };
}

function toTracked(issue: ApiIssue): TrackedIssue | null {
  if (issue.pull_request) return null;
  return {
    number: issue.number,
    title: issue.title ?? '',
    body: issue.body ?? '',
    labels: (issue.labels ?? []).map((l) => l.name ?? ''),
    state: issue.state === 'closed' ? 'closed' : 'open',
    author: toUser(issue.user),
    url: issue.html_url ?? '',
    updated_at: issue.updated_at ?? '',
  };
}

function toComment(comment: ApiComment): IssueComment {
  return {
    id: comment.id,
    body: comment.body ?? '',
    author: toUser(comment.user),
    created_at: comment.created_at ?? '',
  };
}

/** `owner` is Gitea's word for the owner of a personal repository. */
function toPermission(value: string | undefined): RepoPermission {
  if (value === 'owner' || value === 'admin') return 'admin';
  if (value === 'write' || value === 'read') return value;
  return 'none';
}
