/**
 * Issues, labels, comments, collaborator permissions and `GET /user` of the fake GitHub, in
 * GitHub's REST shapes (docs.github.com/rest/issues), with request bodies and query parameters
 * checked against the documented fields; and the webhooks GitHub sends when a person acts:
 * `issues` (opened, closed, reopened, and one `labeled`/`unlabeled` per label, naming it) and
 * `issue_comment`, signed in X-Hub-Signature-256 as `sha256=<hex>`.
 *
 * Behaviour copied from GitHub: the issue list includes pull requests (with `pull_request`) and
 * filters labels by "all of"; adding a label the repository lacks creates it (colour ededed);
 * creating a label that exists is a 422; the permission endpoint answers 404 for a login that is
 * no user; apps act as `name[bot]` with `type: "Bot"`.
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

export type GitHubPermission = 'none' | 'read' | 'triage' | 'write' | 'maintain' | 'admin';

export interface GitHubIssueActions {
  /** Registers a webhook on `repo`; every later event there is delivered to `url`. */
  addWebhook(hook: { repo: string; url: string; secret: string }): void;
  /** A person opens an issue: `opened`, then one `labeled` per label, as GitHub sends them. */
  createIssue(issue: {
    repo: string;
    title: string;
    body: string;
    author: string;
    labels?: string[];
    at?: Date | string;
  }): Promise<{ number: number; deliveries: Delivery[] }>;
  /** A person sets the issue's labels to exactly `labels`: one `unlabeled`/`labeled` per change. */
  setLabels(repo: string, number: number, labels: string[], sender: string): Promise<Delivery[]>;
  comment(
    repo: string,
    number: number,
    body: string,
    author: string,
    at?: Date | string,
  ): Promise<{ id: number; deliveries: Delivery[] }>;
  setState(
    repo: string,
    number: number,
    state: 'open' | 'closed',
    sender: string,
  ): Promise<Delivery[]>;
  setPermission(repo: string, login: string, permission: GitHubPermission): void;
}

/** Body fields GitHub documents per endpoint, with their JSON types. */
const BODIES: Record<string, Record<string, string>> = {
  'PATCH issue': {
    title: 'string',
    body: 'string',
    state: 'string',
    state_reason: 'string',
    milestone: 'number',
    labels: 'object',
    assignees: 'object',
    assignee: 'string',
    type: 'string',
  },
  'POST comment': { body: 'string' },
  'PATCH comment': { body: 'string' },
  'POST issue labels': { labels: 'object' },
  'PUT issue labels': { labels: 'object' },
  'POST labels': { name: 'string', color: 'string', description: 'string' },
};
const QUERIES: Record<string, string[]> = {
  issues: [
    'milestone',
    'state',
    'assignee',
    'type',
    'creator',
    'mentioned',
    'labels',
    'sort',
    'direction',
    'since',
    'per_page',
    'page',
  ],
  comments: ['since', 'per_page', 'page'],
  labels: ['per_page', 'page'],
};
const DOCS = 'https://docs.github.com/rest/issues';

export function createGitHubIssues(opts: {
  book: IssueBook;
  origin: () => string;
  apiUrl: () => string;
  selfLogin: string;
  violations: string[];
}) {
  const { book } = opts;
  const ids = new Map<string, number>();
  const known = new Set<string>([opts.selfLogin]);
  const user = (login: string) => {
    known.add(login);
    let id = ids.get(login);
    if (id === undefined) ids.set(login, (id = 9000 + ids.size));
    return {
      login,
      id,
      node_id: `U_${id}`,
      avatar_url: `https://avatars.example/u/${id}`,
      html_url: `${opts.origin()}/${login.replace(/\[bot\]$/, '')}`,
      type: login.endsWith('[bot]') ? 'Bot' : 'User',
      site_admin: false,
    };
  };
  const labelJson = (repo: string, l: FakeLabel) => ({
    id: l.id,
    node_id: `LA_${l.id}`,
    url: `${opts.apiUrl()}/repos/${repo}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: false,
    description: l.description || null,
  });
  const labelsOf = (repo: string, i: FakeIssue) =>
    i.labels.map((name) => labelJson(repo, book.label(repo, name)!));
  const issueJson = (repo: string, i: FakeIssue) => {
    const api = `${opts.apiUrl()}/repos/${repo}/issues/${i.number}`;
    return {
      id: i.number + 7000,
      node_id: `I_${i.number}`,
      url: api,
      repository_url: `${opts.apiUrl()}/repos/${repo}`,
      comments_url: `${api}/comments`,
      html_url: `${opts.origin()}/${repo}/${i.pull ? 'pull' : 'issues'}/${i.number}`,
      number: i.number,
      state: i.state,
      state_reason: i.state === 'closed' ? 'completed' : null,
      title: i.title,
      body: i.body || null,
      user: user(i.author),
      labels: labelsOf(repo, i),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      comments: book.repo(repo).comments.filter((c) => c.issue === i.number).length,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.state === 'closed' ? i.updated_at : null,
      author_association: 'NONE',
      ...(i.pull
        ? {
            pull_request: {
              url: `${opts.apiUrl()}/repos/${repo}/pulls/${i.number}`,
              html_url: `${opts.origin()}/${repo}/pull/${i.number}`,
              merged_at: null,
            },
          }
        : {}),
    };
  };
  const commentJson = (repo: string, c: FakeComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${opts.apiUrl()}/repos/${repo}/issues/comments/${c.id}`,
    html_url: `${opts.origin()}/${repo}/issues/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${opts.apiUrl()}/repos/${repo}/issues/${c.issue}`,
    body: c.body,
    user: user(c.author),
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: 'NONE',
  });
  const repositoryJson = (repo: string) => {
    const [owner = '', name = ''] = repo.split('/');
    return {
      id: 1,
      name,
      full_name: repo,
      owner: user(owner),
      private: false,
      html_url: `${opts.origin()}/${repo}`,
      clone_url: `${opts.origin()}/${repo}.git`,
      default_branch: 'main',
    };
  };

  function emit(repo: string, event: string, payload: Record<string, unknown>) {
    return book.deliver(repo, event, String(payload.action), (hook, id) => {
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/fake',
          'x-github-event': event,
          'x-github-delivery': id,
          'x-github-hook-id': '1',
          'x-github-hook-installation-target-type': 'repository',
          'x-github-hook-installation-target-id': '1',
          'x-hub-signature-256': signatureFor('github', hook.secret, Buffer.from(body)),
        },
      };
    });
  }
  const issuesEvent = (
    repo: string,
    issue: FakeIssue,
    action: string,
    sender: string,
    label?: string,
  ) =>
    emit(repo, 'issues', {
      action,
      issue: issueJson(repo, issue),
      ...(label ? { label: labelJson(repo, book.label(repo, label)!) } : {}),
      repository: repositoryJson(repo),
      sender: user(sender),
    });
  const commentEvent = (
    repo: string,
    issue: FakeIssue,
    c: FakeComment,
    action: string,
    sender = c.author,
  ) =>
    emit(repo, 'issue_comment', {
      action,
      issue: issueJson(repo, issue),
      comment: commentJson(repo, c),
      repository: repositoryJson(repo),
      sender: user(sender),
    });

  /** Moves the issue's labels to `next` one label at a time, one event per change, as GitHub
   *  does; each payload shows the labels after its own change. The change itself is immediate. */
  async function relabel(repo: string, issue: FakeIssue, next: string[], sender: string) {
    const sent: Array<Promise<Delivery[]>> = [];
    const target = [...new Set(next)];
    book.touch(issue);
    for (const name of issue.labels.filter((l) => !target.includes(l))) {
      issue.labels = issue.labels.filter((l) => l !== name);
      sent.push(issuesEvent(repo, issue, 'unlabeled', sender, name));
    }
    for (const name of target.filter((l) => !issue.labels.includes(l))) {
      book.label(repo, name, 'ededed');
      issue.labels = [...issue.labels, name];
      sent.push(issuesEvent(repo, issue, 'labeled', sender, name));
    }
    return (await Promise.all(sent)).flat();
  }
  function mustFind(repo: string, number: number): FakeIssue {
    const issue = book.issue(repo, number);
    if (!issue) throw new Error(`fake github: no issue ${repo}#${number}`);
    return issue;
  }

  const actions: GitHubIssueActions = {
    addWebhook: (hook) => void book.hooks.push(hook),
    async createIssue({ repo, title, body, author, labels = [], at }) {
      labels.forEach((l) => book.label(repo, l, 'ededed'));
      const issue = book.addIssue(repo, { title, body, author, labels: [...new Set(labels)] }, at);
      // `opened` already shows the labels; a `labeled` per label follows it.
      const opened = await issuesEvent(repo, issue, 'opened', author);
      const labelled = await Promise.all(
        issue.labels.map((l) => issuesEvent(repo, issue, 'labeled', author, l)),
      );
      return { number: issue.number, deliveries: [...opened, ...labelled.flat()] };
    },
    setLabels: (repo, number, labels, sender) =>
      relabel(repo, mustFind(repo, number), labels, sender),
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

  function checkBody(kind: string, body: unknown): void {
    const fields = BODIES[kind] ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return void opts.violations.push(`${kind}: body must be a JSON object`);
    for (const [key, value] of Object.entries(body)) {
      const type = fields[key];
      if (!type) opts.violations.push(`${kind}: ${key} is not a documented field`);
      else if (typeof value !== type) opts.violations.push(`${kind}: ${key} must be a ${type}`);
    }
  }
  function checkQuery(kind: string, query: URLSearchParams): void {
    for (const key of query.keys())
      if (!QUERIES[kind]?.includes(key))
        opts.violations.push(`GET ${kind}: unknown query parameter ${key}`);
  }
  const notFound = (): [number, unknown] => [
    404,
    { message: 'Not Found', documentation_url: DOCS, status: '404' },
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
      if (!known.has(login)) return notFound();
      const permission = book.repo(repo).permissions.get(login) ?? 'none';
      // `permission` is the legacy four-level value; `role_name` the fine one.
      const legacy = { maintain: 'write', triage: 'read' }[permission] ?? permission;
      return [200, { permission: legacy, role_name: permission, user: user(login) }];
    }
    if (rest === '/labels') {
      if (method === 'GET') {
        checkQuery('labels', query);
        return [200, page(book.repo(repo).labels, query).map((l) => labelJson(repo, l))];
      }
      if (method === 'POST') {
        checkBody('POST labels', body);
        const name = str(fields.name);
        if (!/^[0-9a-f]{6}$/i.test(str(fields.color)))
          opts.violations.push('POST labels: color must be six hex digits without #');
        if (book.label(repo, name))
          return [
            422,
            {
              message: 'Validation Failed',
              errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }],
              documentation_url: `${DOCS}/labels#create-a-label`,
              status: '422',
            },
          ];
        return [201, labelJson(repo, book.label(repo, name, str(fields.color))!)];
      }
    }
    if (rest === '/issues' && method === 'GET') {
      checkQuery('issues', query);
      return [200, listIssues(repo, query)];
    }
    const c = /^\/issues\/comments\/(\d+)$/.exec(rest);
    if (c) {
      const comment = book.repo(repo).comments.find((x) => x.id === Number(c[1]));
      if (!comment) return notFound();
      if (method === 'PATCH') {
        checkBody('PATCH comment', body);
        comment.body = str(fields.body);
        comment.updated_at = stamp();
        void commentEvent(repo, book.issue(repo, comment.issue)!, comment, 'edited', self);
      }
      return [200, commentJson(repo, comment)];
    }
    const i = /^\/issues\/(\d+)(?:\/(comments|labels)(?:\/([^/]+))?)?$/.exec(rest);
    const issue = i ? book.issue(repo, Number(i[1])) : null;
    if (!i || !issue) return notFound();
    if (i[2] === 'comments') {
      if (method === 'POST') {
        checkBody('POST comment', body);
        const comment = book.addComment(repo, issue, str(fields.body), self);
        void commentEvent(repo, issue, comment, 'created');
        return [201, commentJson(repo, comment)];
      }
      checkQuery('comments', query);
      const since = query.get('since');
      const list = book
        .repo(repo)
        .comments.filter(
          (x) => x.issue === issue.number && (!since || x.updated_at >= stamp(since)),
        );
      return [200, page(list, query).map((x) => commentJson(repo, x))];
    }
    if (i[2] === 'labels') {
      const names = ((fields.labels ?? []) as unknown[]).map(String);
      if (method === 'POST' || method === 'PUT') {
        checkBody(`${method} issue labels`, body);
        const next = method === 'PUT' ? names : [...issue.labels, ...names];
        void relabel(repo, issue, next, self);
      }
      if (method === 'DELETE') {
        const name = decodeURIComponent(i[3] ?? '');
        if (!issue.labels.includes(name))
          return [404, { message: 'Label does not exist', documentation_url: DOCS, status: '404' }];
        void relabel(
          repo,
          issue,
          issue.labels.filter((l) => l !== name),
          self,
        );
      }
      return [200, labelsOf(repo, issue)];
    }
    if (method === 'PATCH') {
      checkBody('PATCH issue', body);
      const state = fields.state;
      if ((state === 'open' || state === 'closed') && state !== issue.state) {
        issue.state = state;
        void issuesEvent(repo, issue, state === 'closed' ? 'closed' : 'reopened', self);
      }
      book.touch(issue);
      return [200, issueJson(repo, issue)];
    }
    return method === 'GET' ? [200, issueJson(repo, issue)] : null;
  }

  function listIssues(repo: string, query: URLSearchParams) {
    const state = query.get('state') ?? 'open';
    const since = query.get('since');
    const labels = (query.get('labels') ?? '').split(',').filter(Boolean);
    const hits = book
      .repo(repo)
      .issues.filter(
        (x) =>
          (state === 'all' || x.state === state) &&
          (!since || x.updated_at >= stamp(since)) &&
          labels.every((l) => x.labels.includes(l)),
      )
      .reverse(); // newest first, GitHub's default order
    return page(hits, query).map((x) => issueJson(repo, x));
  }

  function page<T>(list: T[], query: URLSearchParams): T[] {
    const perPage = Math.min(Number(query.get('per_page') ?? 30) || 30, 100);
    const n = Number(query.get('page') ?? 1) || 1;
    return list.slice((n - 1) * perPage, n * perPage);
  }

  return { route, actions, emit, user, repositoryJson };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
