/**
 * IssueTracker for GitHub and GitHub Enterprise Server, through Octokit. Bots are accounts GitHub
 * gives `type: "Bot"` (apps, which also act as `name[bot]`).
 */
import { ForgeError } from '../../domain/errors.ts';
import type { RepoCoordinates } from '../../ports/git-host.ts';
import type {
  ForgeUser,
  IssueComment,
  RepoPermission,
  IssueTracker,
  TrackedIssue,
  TrackedPull,
} from '../../ports/issue-tracker.ts';
import { createGitHubApi, isHttpFailure, type GitHubApiOptions } from './github-api.ts';
import { LABEL_COLOR, nextLabels, notBefore } from './issue-labels.ts';

export type GitHubIssuesOptions = GitHubApiOptions;

/** GitHub's largest page; a shorter page is the last. */
const PER_PAGE = 100;

interface ApiUser {
  login?: string;
  type?: string;
}
interface ApiIssue {
  number: number;
  title?: string;
  body?: string | null;
  labels?: Array<string | { name?: string }>;
  state?: string;
  user?: ApiUser | null;
  html_url?: string;
  updated_at?: string;
  pull_request?: unknown;
}

export function createGitHubIssues(opts: GitHubIssuesOptions): IssueTracker {
  const { octokit, call } = createGitHubApi(
    opts,
    'Issues: read and write and Metadata: read (fine-grained token) or the repo scope (classic token)',
  );
  const params = (repo: RepoCoordinates) => ({ owner: repo.owner, repo: repo.name });

  /** Every page of a list; a page shorter than PER_PAGE is the last. */
  async function allPages<T>(fetchPage: (page: number) => Promise<T[]>): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; ; page++) {
      const items = await fetchPage(page);
      out.push(...items);
      if (items.length < PER_PAGE) return out;
    }
  }

  /** Creates `name` on the repository unless it exists (GitHub would create it on use, grey). */
  async function ensureLabel(repo: RepoCoordinates, name: string, signal: AbortSignal) {
    try {
      await call(`${at(repo)} labels`, signal, (request) =>
        octokit.issues.createLabel({ ...params(repo), name, color: LABEL_COLOR, request }),
      );
    } catch (err) {
      if (!(err instanceof ForgeError && /already_exists/.test(causeText(err)))) throw err;
    }
  }

  return {
    async listLabelledIssues(repo, label, since, signal) {
      const issues = await allPages(async (page) => {
        const { data } = await call(`${at(repo)} issues`, signal, (request) =>
          octokit.issues.listForRepo({
            ...params(repo),
            state: 'open',
            labels: label,
            ...(since ? { since } : {}),
            per_page: PER_PAGE,
            page,
            request,
          }),
        );
        return data;
      });
      return issues
        .map(toTracked)
        .filter(
          (i): i is TrackedIssue => i !== null && i.state === 'open' && i.labels.includes(label),
        );
    },

    async getIssue(repo, number, signal) {
      try {
        const { data } = await call(`${at(repo)}#${number}`, signal, (request) =>
          octokit.issues.get({ ...params(repo), issue_number: number, request }),
        );
        return toTracked(data);
      } catch (err) {
        // 410: the issue was deleted.
        if (
          err instanceof ForgeError &&
          (err.code === 'not_found' || (isHttpFailure(err.cause) && err.cause.status === 410))
        )
          return null;
        throw err;
      }
    },

    async getPull(repo, number, signal) {
      try {
        const { data } = await call(`${at(repo)} pull request #${number}`, signal, (request) =>
          octokit.pulls.get({ ...params(repo), pull_number: number, request }),
        );
        const pull: TrackedPull = {
          number: data.number,
          head: data.head.ref,
          body: data.body ?? '',
          state: data.state === 'closed' ? 'closed' : 'open',
          url: data.html_url,
        };
        return pull;
      } catch (err) {
        if (err instanceof ForgeError && err.code === 'not_found') return null;
        throw err;
      }
    },

    async listComments(repo, number, since, signal) {
      // GitHub's `since` compares the time a comment was last updated; the port promises creation.
      const comments = await allPages(async (page) => {
        const { data } = await call(
          `${at(repo)}#${number}`,
          signal,
          (request) =>
            octokit.issues.listComments({
              ...params(repo),
              issue_number: number,
              ...(since ? { since } : {}),
              per_page: PER_PAGE,
              page,
              request,
            }),
          `${at(repo)}#${number} was not found`,
        );
        return data;
      });
      return comments
        .map((c): IssueComment => ({
          id: c.id,
          body: c.body ?? '',
          author: toUser(c.user),
          created_at: c.created_at,
        }))
        .filter((c) => since === null || notBefore(c.created_at, since))
        .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
    },

    async createComment(repo, number, body, signal) {
      const { data } = await call(
        `${at(repo)}#${number}`,
        signal,
        (request) =>
          octokit.issues.createComment({ ...params(repo), issue_number: number, body, request }),
        `${at(repo)}#${number} was not found`,
      );
      return data.id;
    },

    async editComment(repo, commentId, body, signal) {
      await call(
        `comment ${commentId} in ${at(repo)}`,
        signal,
        (request) =>
          octokit.issues.updateComment({ ...params(repo), comment_id: commentId, body, request }),
        `comment ${commentId} in ${at(repo)} was not found`,
      );
    },

    async setManagedLabels(repo, number, managed, wanted, signal) {
      const where = `${at(repo)}#${number}`;
      const missing = `${where} was not found`;
      const { data: current } = await call(
        where,
        signal,
        (request) =>
          octokit.issues.listLabelsOnIssue({
            ...params(repo),
            issue_number: number,
            per_page: PER_PAGE, // GitHub allows at most 100 labels on an issue
            request,
          }),
        missing,
      );
      const change = nextLabels(
        current.map((l) => l.name),
        managed,
        wanted,
      );
      if (!change) return;
      for (const name of change.added) await ensureLabel(repo, name, signal);
      // Adding is one POST; any removal one PUT of the whole set.
      await call(
        where,
        signal,
        (request) =>
          change.removed.length === 0
            ? octokit.issues.addLabels({
                ...params(repo),
                issue_number: number,
                labels: change.added,
                request,
              })
            : octokit.issues.setLabels({
                ...params(repo),
                issue_number: number,
                labels: change.next,
                request,
              }),
        missing,
      );
    },

    async setIssueState(repo, number, state, signal) {
      await call(
        `${at(repo)}#${number}`,
        signal,
        (request) =>
          octokit.issues.update({ ...params(repo), issue_number: number, state, request }),
        `${at(repo)}#${number} was not found`,
      );
    },

    async permission(repo, login, signal) {
      try {
        const { data } = await call(at(repo), signal, (request) =>
          octokit.repos.getCollaboratorPermissionLevel({
            ...params(repo),
            username: login,
            request,
          }),
        );
        // `permission` is the four-level value (maintain counts as write, triage as read).
        return toPermission(data.permission);
      } catch (err) {
        if (err instanceof ForgeError && err.code === 'not_found') return 'none'; // no such user
        throw err;
      }
    },

    async self(signal) {
      const { data } = await call('the token', signal, (request) =>
        octokit.users.getAuthenticated({ request }),
      );
      return toUser(data);
    },
  };
}

function at(repo: RepoCoordinates): string {
  return `${repo.owner}/${repo.name}`;
}

function toUser(user: ApiUser | null | undefined): ForgeUser {
  const login = user?.login ?? '';
  return { login, bot: user?.type === 'Bot' || login.endsWith('[bot]') };
}

function toTracked(issue: ApiIssue): TrackedIssue | null {
  if (issue.pull_request) return null;
  return {
    number: issue.number,
    title: issue.title ?? '',
    body: issue.body ?? '',
    labels: (issue.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))),
    state: issue.state === 'closed' ? 'closed' : 'open',
    author: toUser(issue.user),
    url: issue.html_url ?? '',
    updated_at: issue.updated_at ?? '',
  };
}

function toPermission(value: string | undefined): RepoPermission {
  if (value === 'admin' || value === 'write' || value === 'read') return value;
  if (value === 'maintain') return 'write';
  if (value === 'triage') return 'read';
  return 'none';
}

/** The text of the forge's answer behind a ForgeError (GitHub's 422 codes live there). */
function causeText(err: ForgeError): string {
  const cause = err.cause as { response?: { data?: unknown } } | undefined;
  return JSON.stringify(cause?.response?.data ?? '');
}
