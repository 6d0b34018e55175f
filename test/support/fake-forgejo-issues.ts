/**
 * Issues, labels, comments, collaborator permissions and `GET /user` of the fake Forgejo/Gitea, in
 * their API's shapes (the fake checks these answers against the swagger), and the webhooks a real
 * Forgejo/Gitea sends when a person acts: `issues` (opened, closed, reopened, and `label_updated`
 * / `label_cleared` carrying the whole label set, with X-*-Event-Type `issue_label`) and
 * `issue_comment`, signed as hex HMAC-SHA256 of the raw body.
 *
 * Behaviour copied from the forges: the issue list filters labels by "any of", silently drops a
 * label name that does not exist (and with it the whole filter when none exists); adding labels by
 * name skips names the repository does not have; the permission endpoint answers 404 for a login
 * that is no user; the forge's own Actions account has id -2.
 */
import { signatureFor } from '../../src/intake/webhook-signature.ts';
import {
  stamp,
  type Delivery,
  type FakeComment,
  type FakeIssue,
  type FakeLabel,
  type IssueBook,
} from './fake-forge-issues.ts';

export type GiteaPermission = 'none' | 'read' | 'write' | 'admin' | 'owner';

export interface GiteaIssueActions {
  /** Registers a webhook on `repo`; every later event there is delivered to `url`. */
  addWebhook(hook: { repo: string; url: string; secret: string }): void;
  /** A person opens an issue (event `issues`, action `opened`, the labels in the payload). */
  createIssue(issue: {
    repo: string;
    title: string;
    body: string;
    author: string;
    labels?: string[];
    at?: Date | string;
  }): Promise<{ number: number; deliveries: Delivery[] }>;
  /** A person sets the issue's labels to exactly `labels` (`label_updated`/`label_cleared`). */
  setLabels(repo: string, number: number, labels: string[], sender: string): Promise<Delivery[]>;
  /** A person comments (event `issue_comment`, action `created`). */
  comment(
    repo: string,
    number: number,
    body: string,
    author: string,
    at?: Date | string,
  ): Promise<{ id: number; deliveries: Delivery[] }>;
  /** A person closes or reopens the issue. */
  setState(
    repo: string,
    number: number,
    state: 'open' | 'closed',
    sender: string,
  ): Promise<Delivery[]>;
  setPermission(repo: string, login: string, permission: GiteaPermission): void;
}

const NOT_FOUND = "The target couldn't be found.";

export function createGiteaIssues(opts: {
  kind: 'forgejo' | 'gitea';
  book: IssueBook;
  url: () => string;
  selfLogin: string;
  maxPageSize: number;
}) {
  const { kind, book } = opts;
  const ids = new Map<string, number>();
  const known = new Set<string>([opts.selfLogin]);
  const userId = (login: string): number => {
    if (login === `${kind}-actions`) return -2; // the forge's built-in Actions account
    let id = ids.get(login);
    if (id === undefined) ids.set(login, (id = 100 + ids.size));
    return id;
  };
  const user = (login: string) => {
    known.add(login);
    return {
      id: userId(login),
      login,
      login_name: '',
      source_id: 0,
      full_name: '',
      email: `${login}@noreply.example`,
      avatar_url: `${opts.url()}/avatars/${login}`,
      html_url: `${opts.url()}/${login}`,
      language: '',
      is_admin: false,
      last_login: '2025-01-01T00:00:00Z',
      created: '2025-01-01T00:00:00Z',
      restricted: false,
      active: true,
      prohibit_login: false,
      location: '',
      website: '',
      description: '',
      visibility: 'public',
      followers_count: 0,
      following_count: 0,
      starred_repos_count: 0,
    };
  };
  const labelJson = (repo: string, l: FakeLabel) => ({
    id: l.id,
    name: l.name,
    exclusive: false,
    is_archived: false,
    color: l.color,
    description: l.description,
    url: `${opts.url()}/api/v1/repos/${repo}/labels/${l.id}`,
  });
  const labelsOf = (repo: string, issue: FakeIssue) =>
    issue.labels.map((name) => labelJson(repo, book.label(repo, name)!));
  const issueJson = (repo: string, i: FakeIssue) => {
    const [owner = '', name = ''] = repo.split('/');
    const page = `${opts.url()}/${repo}/${i.pull ? 'pulls' : 'issues'}/${i.number}`;
    return {
      id: i.number + 2000,
      url: `${opts.url()}/api/v1/repos/${repo}/issues/${i.number}`,
      html_url: page,
      number: i.number,
      user: user(i.author),
      original_author: '',
      original_author_id: 0,
      title: i.title,
      body: i.body,
      ref: '',
      assets: [],
      labels: labelsOf(repo, i),
      assignees: [],
      state: i.state,
      is_locked: false,
      comments: book.repo(repo).comments.filter((c) => c.issue === i.number).length,
      created_at: i.created_at,
      updated_at: i.updated_at,
      ...(i.state === 'closed' ? { closed_at: i.updated_at } : {}),
      ...(i.pull ? { pull_request: { merged: false, draft: false, html_url: page } } : {}),
      repository: { id: 1, name, owner, full_name: repo },
      pin_order: 0,
    };
  };
  const commentJson = (repo: string, c: FakeComment) => ({
    id: c.id,
    html_url: `${opts.url()}/${repo}/issues/${c.issue}#issuecomment-${c.id}`,
    pull_request_url: '',
    issue_url: `${opts.url()}/${repo}/issues/${c.issue}`,
    user: user(c.author),
    original_author: '',
    original_author_id: 0,
    body: c.body,
    assets: [],
    created_at: c.created_at,
    updated_at: c.updated_at,
  });
  const repositoryJson = (repo: string) => {
    const [owner = '', name = ''] = repo.split('/');
    return {
      id: 1,
      owner: user(owner),
      name,
      full_name: repo,
      private: false,
      html_url: `${opts.url()}/${repo}`,
      clone_url: `${opts.url()}/${repo}.git`,
      default_branch: 'main',
    };
  };

  /** One event to every hook on `repo`, with the headers this kind of forge sends. */
  function emit(
    repo: string,
    event: string,
    eventType: string,
    payload: Record<string, unknown>,
  ): Promise<Delivery[]> {
    const action = String(payload.action);
    return book.deliver(repo, event, action, (hook, id) => {
      const body = JSON.stringify(payload);
      const signature = signatureFor(kind, hook.secret, Buffer.from(body));
      const names = kind === 'forgejo' ? ['Forgejo', 'Gitea', 'Gogs'] : ['Gitea', 'Gogs'];
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'Go-http-client/1.1',
        'x-hub-signature-256': `sha256=${signature}`,
      };
      for (const n of names) {
        headers[`x-${n.toLowerCase()}-delivery`] = id;
        headers[`x-${n.toLowerCase()}-event`] = event;
        headers[`x-${n.toLowerCase()}-event-type`] = eventType;
        headers[`x-${n.toLowerCase()}-signature`] = signature;
      }
      return { headers, body };
    });
  }

  const issuesEvent = (repo: string, issue: FakeIssue, action: string, sender: string) =>
    emit(repo, 'issues', action.startsWith('label_') ? 'issue_label' : 'issues', {
      action,
      number: issue.number,
      issue: issueJson(repo, issue),
      repository: repositoryJson(repo),
      sender: user(sender),
      commit_id: '',
    });
  const commentEvent = (
    repo: string,
    issue: FakeIssue,
    c: FakeComment,
    action: string,
    sender = c.author,
  ) =>
    emit(repo, 'issue_comment', issue.pull ? 'pull_request_comment' : 'issue_comment', {
      action,
      issue: issueJson(repo, issue),
      comment: commentJson(repo, c),
      repository: repositoryJson(repo),
      sender: user(sender),
      is_pull: issue.pull,
    });
  const labelsChanged = (repo: string, issue: FakeIssue, before: string[], sender: string) => {
    book.touch(issue);
    if (before.join('\n') === issue.labels.join('\n')) return Promise.resolve([]);
    return issuesEvent(
      repo,
      issue,
      issue.labels.length ? 'label_updated' : 'label_cleared',
      sender,
    );
  };
  const existing = (repo: string, names: readonly string[]) =>
    names.filter((n) => book.label(repo, n) !== null);

  const actions: GiteaIssueActions = {
    addWebhook: (hook) => void book.hooks.push(hook),
    async createIssue({ repo, title, body, author, labels = [], at }) {
      labels.forEach((l) => book.label(repo, l, 'e4e669'));
      const issue = book.addIssue(repo, { title, body, author, labels }, at);
      return { number: issue.number, deliveries: await issuesEvent(repo, issue, 'opened', author) };
    },
    async setLabels(repo, number, labels, sender) {
      const issue = mustFind(repo, number);
      labels.forEach((l) => book.label(repo, l, 'e4e669'));
      const before = issue.labels;
      issue.labels = [...new Set(labels)];
      return labelsChanged(repo, issue, before, sender);
    },
    async comment(repo, number, body, author, at) {
      const issue = mustFind(repo, number);
      const c = book.addComment(repo, issue, body, author, at);
      return { id: c.id, deliveries: await commentEvent(repo, issue, c, 'created') };
    },
    async setState(repo, number, state, sender) {
      const issue = mustFind(repo, number);
      if (issue.state === state) return [];
      issue.state = state;
      book.touch(issue);
      return issuesEvent(repo, issue, state === 'closed' ? 'closed' : 'reopened', sender);
    },
    setPermission: (repo, login, permission) => {
      known.add(login);
      book.repo(repo).permissions.set(login, permission);
    },
  };
  function mustFind(repo: string, number: number): FakeIssue {
    const issue = book.issue(repo, number);
    if (!issue) throw new Error(`fake ${kind}: no issue ${repo}#${number}`);
    return issue;
  }

  const notFound = (): [number, unknown] => [
    404,
    { message: NOT_FOUND, url: `${opts.url()}/api/swagger`, errors: [] },
  ];

  /** The API's answer, or null when `path` is none of the issue endpoints. */
  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): [number, unknown] | null {
    if (method === 'GET' && path === '/user') return [200, user(opts.selfLogin)];
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/(?:issues|labels|collaborators)(?:\/.*)?)$/.exec(path);
    if (!m) return null;
    const repo = `${decodeURIComponent(m[1] ?? '')}/${decodeURIComponent(m[2] ?? '')}`;
    if (!book.has(repo)) return notFound();
    const rest = m[3] ?? '';
    const fields = (body ?? {}) as Record<string, unknown>;
    const self = opts.selfLogin;

    const perm = /^\/collaborators\/([^/]+)\/permission$/.exec(rest);
    if (perm && method === 'GET') {
      const login = decodeURIComponent(perm[1] ?? '');
      if (!known.has(login))
        return [404, { message: `user redirect does not exist [name: ${login}]`, url: '' }];
      const permission = book.repo(repo).permissions.get(login) ?? 'none';
      return [200, { permission, role_name: permission, user: user(login) }];
    }
    if (rest === '/labels') {
      const labels = book.repo(repo).labels;
      if (method === 'GET') return [200, page(labels, query).map((l) => labelJson(repo, l))];
      if (method === 'POST') {
        const color = str(fields.color).replace(/^#/, '');
        if (!/^[0-9a-f]{6}$/i.test(color) || !fields.name)
          return [422, { message: 'Color: invalid color', url: `${opts.url()}/api/swagger` }];
        // Gitea does not refuse a second label with the same name; it creates one.
        const label = { id: book.newId(), name: str(fields.name), color, description: '' };
        labels.push(label);
        return [201, labelJson(repo, label)];
      }
    }
    if (rest === '/issues' && method === 'GET') return [200, listIssues(repo, query)];
    const c = /^\/issues\/comments\/(\d+)$/.exec(rest);
    if (c) {
      const comment = book.repo(repo).comments.find((x) => x.id === Number(c[1]));
      if (!comment) return notFound();
      if (method === 'PATCH') {
        comment.body = str(fields.body);
        comment.updated_at = stamp();
        const issue = book.issue(repo, comment.issue)!;
        void commentEvent(repo, issue, comment, 'edited', self);
      }
      return [200, commentJson(repo, comment)];
    }
    const i = /^\/issues\/(\d+)(\/comments|\/labels)?$/.exec(rest);
    const issue = i ? book.issue(repo, Number(i[1])) : null;
    if (!i || !issue) return notFound();
    if (i[2] === '/comments') {
      if (method === 'POST') {
        const comment = book.addComment(repo, issue, str(fields.body), self);
        void commentEvent(repo, issue, comment, 'created');
        return [201, commentJson(repo, comment)];
      }
      const since = query.get('since');
      const list = book
        .repo(repo)
        .comments.filter(
          (x) => x.issue === issue.number && (!since || x.updated_at >= stamp(since)),
        );
      return [200, list.map((x) => commentJson(repo, x))];
    }
    if (i[2] === '/labels') {
      const before = issue.labels;
      const names = ((fields.labels ?? []) as unknown[]).map(String);
      if (method === 'PUT') issue.labels = existing(repo, names);
      if (method === 'POST') issue.labels = [...new Set([...before, ...existing(repo, names)])];
      if (method !== 'GET') void labelsChanged(repo, issue, before, self);
      return [200, labelsOf(repo, issue)];
    }
    if (method === 'PATCH') {
      const state = fields.state;
      if (state === 'open' || state === 'closed') {
        if (state !== issue.state) {
          issue.state = state;
          void issuesEvent(repo, issue, state === 'closed' ? 'closed' : 'reopened', self);
        }
        book.touch(issue);
      }
      return [201, issueJson(repo, issue)];
    }
    return method === 'GET' ? [200, issueJson(repo, issue)] : null;
  }

  function listIssues(repo: string, query: URLSearchParams) {
    const state = query.get('state') ?? 'open';
    const type = query.get('type');
    const since = query.get('since');
    // "Non existent labels are discarded": with none left, the filter is gone.
    const wanted = existing(repo, (query.get('labels') ?? '').split(',').filter(Boolean));
    const hits = book
      .repo(repo)
      .issues.filter(
        (x) =>
          (state === 'all' || x.state === state) &&
          (!type || (type === 'pulls') === x.pull) &&
          (!since || x.updated_at >= stamp(since)) &&
          (wanted.length === 0 || wanted.some((l) => x.labels.includes(l))),
      )
      .reverse(); // newest first, Gitea's default order
    return page(hits, query).map((x) => issueJson(repo, x));
  }

  function page<T>(list: T[], query: URLSearchParams): T[] {
    const limit = Math.min(Number(query.get('limit') ?? 30) || 30, opts.maxPageSize);
    const n = Number(query.get('page') ?? 1) || 1;
    return list.slice((n - 1) * limit, n * limit);
  }

  return { route, actions, user, emit, repositoryJson };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
