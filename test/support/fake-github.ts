/**
 * A GitHub REST API on loopback with the pull-request endpoints Forge uses (create, list, get,
 * update), and reviews as a person submits them (webhook `pull_request_review`),
 * PRs kept in memory, and the issue endpoints and webhooks of fake-github-issues.ts. There is no GitHub schema under ../shared/reference (the description is
 * too large to vendor), so requests are checked against the fields GitHub documents for these
 * endpoints (docs.github.com/rest/pulls/pulls) and problems are recorded in `violations`.
 * Serves under any prefix, so it doubles as a GitHub Enterprise Server at /api/v3.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createIssueBook,
  type Delivery,
  type FakeComment,
  type FakeIssue,
  type FakeLabel,
  type ReviewState,
} from './fake-forge-issues.ts';
import { createGitHubIssues, type GitHubIssueActions } from './fake-github-issues.ts';
import { listenOnLoopback } from './loopback.ts';

export interface FakeGitHubPull {
  number: number;
  /** Branch name; the head repository is always the base repository here. */
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  state: 'open' | 'closed';
}
export interface RecordedGitHubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}
export interface FakeGitHub extends GitHubIssueActions {
  /** A person submits a review of pull request `number` (event `pull_request_review`,
   *  action `submitted`); returns the review's id and the deliveries. */
  review(
    repo: string,
    number: number,
    review: { state: ReviewState; body: string },
    author: string,
  ): Promise<{ id: number; deliveries: Delivery[] }>;
  /** API base (pass as the host's `url`); web URLs of PRs are under `webUrl`. */
  url: string;
  webUrl: string;
  requests: RecordedGitHubRequest[];
  violations: string[];
  pulls(repo: string): FakeGitHubPull[];
  /** An issue (or pull request) with its labels and state, as the forge holds it; null: none. */
  issue(repo: string, number: number): FakeIssue | null;
  /** Comments on an issue, oldest first. */
  comments(repo: string, number: number): FakeComment[];
  /** The repository's labels. */
  labels(repo: string): FakeLabel[];
  /** Every webhook delivery so far, redeliveries included, in order. */
  deliveries: Delivery[];
  /** Sends a delivery again: the same id, headers and body. Resolves with Forge's answer. */
  redeliver(deliveryId: string): Promise<Delivery>;
  /** While on, deliveries are recorded (`dropped: true`) but never sent, as when a hook fails. */
  dropDeliveries(on: boolean): void;
  /** Resolves when every delivery started so far was answered (Forge's own changes fire hooks too). */
  idle(): Promise<void>;
  /** The next `times` requests answer `status` with GitHub's error shape; `headers` e.g. rate limits. */
  failNext(
    status: number,
    message?: string,
    times?: number,
    headers?: Record<string, string>,
  ): void;
  close(): Promise<void>;
}
export interface FakeGitHubOptions {
  token: string;
  repos: string[];
  /** Path the API is served under, e.g. `/api/v3` for Enterprise Server; default none. */
  prefix?: string;
  /** Login of the token's account (`GET /user`, author of what Forge posts); default forge-bot. */
  selfLogin?: string;
}

/** Body fields GitHub documents, with their JSON types; `required` must be present. */
const BODIES: Record<string, { fields: Record<string, string>; required: string[] }> = {
  create: {
    fields: {
      title: 'string',
      head: 'string',
      head_repo: 'string',
      base: 'string',
      body: 'string',
      maintainer_can_modify: 'boolean',
      draft: 'boolean',
      issue: 'number',
    },
    required: ['head', 'base'],
  },
  update: {
    fields: {
      title: 'string',
      body: 'string',
      state: 'string',
      base: 'string',
      maintainer_can_modify: 'boolean',
    },
    required: [],
  },
};
const LIST_QUERY = new Set(['state', 'head', 'base', 'sort', 'direction', 'per_page', 'page']);
const DOCS = 'https://docs.github.com/rest/pulls/pulls';

export async function startFakeGitHub(opts: FakeGitHubOptions): Promise<FakeGitHub> {
  const prefix = opts.prefix ?? '';
  const requests: RecordedGitHubRequest[] = [];
  const violations: string[] = [];
  const pulls = new Map<string, FakeGitHubPull[]>(opts.repos.map((r) => [r, []]));
  const failures: Array<{ status: number; message: string; headers: Record<string, string> }> = [];
  let origin = '';
  const selfLogin = opts.selfLogin ?? 'forge-bot';
  const book = createIssueBook(opts.repos);
  const issues = createGitHubIssues({
    book,
    origin: () => origin,
    apiUrl: () => `${origin}${prefix}`,
    selfLogin,
    violations,
  });

  const toJson = (repo: string, p: FakeGitHubPull): Record<string, unknown> => ({
    id: p.number + 5000,
    number: p.number,
    html_url: `${origin}/${repo}/pull/${p.number}`,
    url: `${origin}${prefix}/repos/${repo}/pulls/${p.number}`,
    state: p.state,
    draft: p.draft,
    title: p.title,
    body: p.body,
    head: {
      ref: p.head,
      label: `${repo.split('/')[0] ?? ''}:${p.head}`,
      repo: { full_name: repo },
    },
    base: {
      ref: p.base,
      label: `${repo.split('/')[0] ?? ''}:${p.base}`,
      repo: { full_name: repo },
    },
  });

  function checkBody(kind: 'create' | 'update', body: unknown, where: string): void {
    const spec = BODIES[kind];
    if (!spec || typeof body !== 'object' || body === null)
      return void violations.push(`${where}: body must be a JSON object`);
    for (const key of spec.required)
      if (!(key in body)) violations.push(`${where}: ${key} is required`);
    for (const [key, value] of Object.entries(body)) {
      const type = spec.fields[key];
      if (!type) violations.push(`${where}: ${key} is not a documented field`);
      else if (typeof value !== type) violations.push(`${where}: ${key} must be a ${type}`);
    }
  }

  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): [number, unknown] {
    const issueAnswer = issues.route(method, path, query, body);
    if (issueAnswer) return issueAnswer;
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls(?:\/(\d+))?$/.exec(path);
    const repo = m ? `${m[1] ?? ''}/${m[2] ?? ''}` : '';
    const list = pulls.get(repo);
    if (!m || !list) return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];
    const where = `${method} /repos/{owner}/{repo}/pulls${m[3] ? '/{pull_number}' : ''}`;
    const fields = (body ?? {}) as Partial<FakeGitHubPull>;
    if (method === 'POST' && !m[3]) {
      checkBody('create', body, where);
      const owner = m[1] ?? '';
      if (
        list.some((p) => p.state === 'open' && p.head === fields.head && p.base === fields.base)
      ) {
        const error = {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for ${owner}:${fields.head ?? ''}.`,
        };
        return [
          422,
          {
            message: 'Validation Failed',
            errors: [error],
            documentation_url: `${DOCS}#create-a-pull-request`,
            status: '422',
          },
        ];
      }
      const created: FakeGitHubPull = {
        // Pull requests and issues share one sequence of numbers, as on GitHub.
        number: book.addIssue(repo, {
          title: fields.title ?? '',
          body: fields.body ?? '',
          author: selfLogin,
          pull: true,
        }).number,
        head: fields.head ?? '',
        base: fields.base ?? '',
        title: fields.title ?? '',
        body: fields.body ?? '',
        draft: fields.draft ?? false,
        state: 'open',
      };
      list.push(created);
      return [201, toJson(repo, created)];
    }
    if (method === 'GET' && !m[3]) {
      for (const key of query.keys())
        if (!LIST_QUERY.has(key)) violations.push(`${where}: unknown query parameter ${key}`);
      const head = query.get('head');
      if (head !== null && !head.includes(':'))
        violations.push(`${where}: head must be user:ref-name`);
      const state = query.get('state') ?? 'open';
      const base = query.get('base');
      const perPage = Math.min(Number(query.get('per_page') ?? 30), 100);
      const page = Number(query.get('page') ?? 1);
      const hits = list.filter(
        (p) =>
          (state === 'all' || p.state === state) &&
          (!base || p.base === base) &&
          (!head || `${m[1] ?? ''}:${p.head}` === head),
      );
      return [200, hits.slice((page - 1) * perPage, page * perPage).map((p) => toJson(repo, p))];
    }
    const pull = list.find((p) => p.number === Number(m[3]));
    if (method === 'GET' && pull) {
      if ([...query.keys()].length > 0) violations.push(`${where}: takes no query parameters`);
      return [200, toJson(repo, pull)];
    }
    if (method === 'PATCH' && pull) {
      checkBody('update', body, where);
      Object.assign(
        pull,
        Object.fromEntries(
          ['title', 'body', 'state', 'base']
            .filter((k) => k in fields)
            .map((k) => [k, fields[k as keyof FakeGitHubPull]]),
        ),
      );
      return [200, toJson(repo, pull)];
    }
    return [404, { message: 'Not Found', documentation_url: DOCS, status: '404' }];
  }

  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const parsed = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const path = parsed.pathname.startsWith(`${prefix}/`)
        ? parsed.pathname.slice(prefix.length)
        : parsed.pathname;
      let body: unknown = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        violations.push(`${method} ${path}: body is not JSON`);
      }
      requests.push({ method, path, query: parsed.searchParams, headers: req.headers, body });
      const failure = failures.shift();
      if (failure)
        return send(
          res,
          failure.status,
          { message: failure.message, documentation_url: DOCS, status: String(failure.status) },
          failure.headers,
        );
      // GitHub takes a token as `token X` or `Bearer X`.
      const auth = req.headers.authorization ?? '';
      if (auth !== `token ${opts.token}` && auth !== `Bearer ${opts.token}`) {
        return send(res, 401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
      }
      const [status, out] = route(method, path, parsed.searchParams, body);
      send(res, status, out);
    });
  });
  async function review(
    repo: string,
    number: number,
    { state, body }: { state: ReviewState; body: string },
    author: string,
  ) {
    const pull = pulls.get(repo)?.find((p) => p.number === number);
    if (!pull) throw new Error(`fake github: no pull request ${repo}#${number}`);
    const id = book.newId();
    const deliveries = await issues.emit(repo, 'pull_request_review', {
      action: 'submitted',
      review: {
        id,
        node_id: `PRR_${id}`,
        user: issues.user(author),
        body: body || null,
        commit_id: '0'.repeat(40),
        submitted_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        state,
        html_url: `${origin}/${repo}/pull/${number}#pullrequestreview-${id}`,
        pull_request_url: `${origin}${prefix}/repos/${repo}/pulls/${number}`,
        author_association: 'COLLABORATOR',
      },
      pull_request: toJson(repo, pull),
      repository: issues.repositoryJson(repo),
      sender: issues.user(author),
    });
    return { id, deliveries };
  }

  const listening = await listenOnLoopback(server);
  origin = listening.url;
  return {
    url: `${origin}${prefix}`,
    webUrl: origin,
    requests,
    violations,
    pulls: (repo) => pulls.get(repo) ?? [],
    ...issues.actions,
    review,
    issue: (repo, number) => book.issue(repo, number),
    comments: (repo, number) => book.repo(repo).comments.filter((c) => c.issue === number),
    labels: (repo) => book.repo(repo).labels,
    deliveries: book.deliveries,
    redeliver: (id) => book.redeliver(id),
    dropDeliveries: (on) => book.setDropping(on),
    idle: () => book.idle(),
    failNext(status, message = `fake ${status}`, times = 1, headers = {}) {
      for (let i = 0; i < times; i++) failures.push({ status, message, headers });
    },
    close: async () => {
      await book.idle();
      await listening.close();
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
