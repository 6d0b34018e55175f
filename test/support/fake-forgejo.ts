/**
 * A Forgejo/Gitea API on loopback with the pull-request endpoints Forge uses (create, list, get,
 * edit), PRs kept in memory, reviews as a person submits them (their webhooks), and the issue endpoints and webhooks of fake-forgejo-issues.ts. Every request is checked against the forge's published swagger
 * (../shared/reference/<kind>/swagger.v1.json): the path template and method exist, query
 * parameters are declared and well-typed, the JSON body fits the referenced definition (no unknown
 * fields — Go silently drops them, which is how a wrong field would go unnoticed on a real forge).
 * Its own responses are checked too, so the simulation cannot drift from the real API either.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createIssueBook,
  type Delivery,
  type FakeComment,
  type FakeIssue,
  type FakeLabel,
  type ReviewState,
} from './fake-forge-issues.ts';
import { createGiteaIssues, type GiteaIssueActions } from './fake-forgejo-issues.ts';
import { listenOnLoopback } from './loopback.ts';

export type GiteaKind = 'forgejo' | 'gitea';

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  additionalProperties?: unknown;
  items?: Schema;
  required?: string[];
}
interface Parameter extends Schema {
  name: string;
  in: string;
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  responses: Record<string, { $ref?: string; schema?: Schema }>;
}
interface Swagger {
  basePath: string;
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
  responses: Record<string, { schema?: Schema }>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The published swagger; a missing file is an error, never a reason to skip the check. */
export function loadSwagger(
  kind: GiteaKind,
  file = resolve(ROOT, '..', 'shared', 'reference', kind, 'swagger.v1.json'),
): Swagger {
  if (!existsSync(file)) {
    throw new Error(
      `the ${kind} API schema is missing: expected ${file} (see ../shared/reference/README.md); the fake forge cannot check requests without it`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Swagger;
}

export interface SwaggerValidator {
  /** Problems with a request (path below basePath); empty when it fits the schema. */
  request(method: string, path: string, query: URLSearchParams, body: unknown): string[];
  response(method: string, path: string, status: number, body: unknown): string[];
}

export function createSwaggerValidator(spec: Swagger): SwaggerValidator {
  const templates = Object.keys(spec.paths).map((t) => ({
    t,
    re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '([^/]+)')}$`),
    literal: t.replace(/\{[^}]+\}/g, '').length,
  }));
  const deref = (s: Schema): Schema =>
    s.$ref ? (spec.definitions[s.$ref.replace('#/definitions/', '')] ?? {}) : s;

  function find(
    method: string,
    path: string,
  ): { op: Operation; template: string; values: string[] } | string {
    // The most literal template wins (`/pulls/pinned` over `/pulls/{index}`), as in the forge's router.
    const hits = templates.filter((x) => x.re.test(path)).sort((a, b) => b.literal - a.literal);
    const hit = hits[0];
    if (!hit) return `${method} ${path}: no such path in the schema`;
    const op = spec.paths[hit.t]?.[method.toLowerCase()];
    if (!op) return `${method} ${hit.t}: the schema has no such method on this path`;
    return { op, template: hit.t, values: (hit.re.exec(path) ?? []).slice(1) };
  }

  function check(value: unknown, schema: Schema, at: string, out: string[]): void {
    const s = deref(schema);
    const type = s.type ?? (s.properties ? 'object' : undefined);
    if (value === null || value === undefined)
      return void out.push(`${at}: null where ${type ?? 'a value'} is expected`);
    if (s.enum && !s.enum.includes(value))
      out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    if (type === 'object') {
      if (typeof value !== 'object' || Array.isArray(value))
        return void out.push(`${at}: expected an object`);
      const record = value as Record<string, unknown>;
      for (const key of s.required ?? []) if (!(key in record)) out.push(`${at}.${key}: required`);
      for (const [key, v] of Object.entries(record)) {
        const prop = s.properties?.[key];
        if (prop) check(v, prop, `${at}.${key}`, out);
        else if (!s.additionalProperties) out.push(`${at}.${key}: not a field of this definition`);
      }
    } else if (type === 'array') {
      if (!Array.isArray(value)) return void out.push(`${at}: expected an array`);
      value.forEach((v, i) => s.items && check(v, s.items, `${at}[${i}]`, out));
    } else if (type) {
      if (!scalarFits(value, type, s.format))
        out.push(
          `${at}: ${JSON.stringify(value)} is not ${type}${s.format ? ` (${s.format})` : ''}`,
        );
    }
  }

  return {
    request(method, path, query, body) {
      const found = find(method, path);
      if (typeof found === 'string') return [found];
      const out: string[] = [];
      const where = `${method} ${found.template}`;
      const params = found.op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path');
      found.values.forEach((v, i) => {
        const p = pathParams[i];
        if (p?.type && !scalarFits(coerce(decodeURIComponent(v), p.type), p.type))
          out.push(`${where}: path ${p.name}=${v} is not ${p.type}`);
      });
      for (const name of new Set(query.keys())) {
        const p = params.find((x) => x.in === 'query' && x.name === name);
        if (!p) out.push(`${where}: unknown query parameter ${name}`);
        else
          for (const v of query.getAll(name))
            check(coerce(v, p.items?.type ?? p.type), p.items ?? p, `${where}?${name}`, out);
      }
      for (const p of params)
        if (p.in === 'query' && p.required && !query.has(p.name))
          out.push(`${where}: query ${p.name} required`);
      const bodyParam = params.find((p) => p.in === 'body');
      if (body !== undefined && !bodyParam?.schema) out.push(`${where}: takes no body`);
      else if (bodyParam?.schema && body !== undefined)
        check(body, bodyParam.schema, `${where} body`, out);
      return out;
    },
    response(method, path, status, body) {
      const found = find(method, path);
      if (typeof found === 'string') return [found];
      const declared = found.op.responses[String(status)];
      if (!declared)
        return [`${method} ${found.template}: status ${status} is not a documented response`];
      const schema = declared.$ref
        ? spec.responses[declared.$ref.replace('#/responses/', '')]?.schema
        : declared.schema;
      const out: string[] = [];
      if (schema) check(body, schema, `${method} ${found.template} ${status} response`, out);
      return out;
    },
  };
}

function coerce(v: string, type: string | undefined): unknown {
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (type === 'boolean') return v === 'true' ? true : v === 'false' ? false : v;
  return v;
}

function scalarFits(v: unknown, type: string, format?: string): boolean {
  if (type === 'integer') return Number.isInteger(v);
  if (type === 'number') return typeof v === 'number';
  if (type === 'boolean') return typeof v === 'boolean';
  if (type === 'string')
    return typeof v === 'string' && (format !== 'date-time' || !Number.isNaN(Date.parse(v)));
  return true;
}

export interface FakePull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}
export interface FakeForgejo extends GiteaIssueActions {
  /** A person submits a review of pull request `number`: X-*-Event `pull_request_approved`,
   *  `pull_request_rejected` (changes requested) or `pull_request_comment`, action `reviewed`,
   *  the review as `{type, content}` and no review id, as Forgejo/Gitea send it. */
  review(
    repo: string,
    number: number,
    review: { state: ReviewState; body: string },
    author: string,
  ): Promise<{ deliveries: Delivery[] }>;
  /** Web URL (what Forge is configured with); the API is under /api/v1. */
  url: string;
  requests: RecordedRequest[];
  /** Schema problems with requests and with the fake's own responses. */
  violations: string[];
  pulls(repo: string): FakePull[];
  addPull(repo: string, pull: Omit<FakePull, 'number'>): FakePull;
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
  /** The next `times` requests answer `status` with `message` (e.g. 500, 401). */
  failNext(status: number, message?: string, times?: number): void;
  /** While down, every API request answers 503, as a forge that is being restarted. */
  down(on: boolean): void;
  close(): Promise<void>;
}

export interface FakeForgejoOptions {
  kind: GiteaKind;
  token: string;
  /** owner/name of the repositories that exist. */
  repos: string[];
  /** Largest page the list endpoint returns (the forge's MAX_RESPONSE_ITEMS, 50 by default). */
  maxPageSize?: number;
  /** Login of the token's account (`GET /user`, author of what Forge posts); default forge-bot. */
  selfLogin?: string;
}

const DRAFT = /^\s*(WIP:|\[WIP\])/i; // Gitea's default WORK_IN_PROGRESS_PREFIXES

export async function startFakeForgejo(opts: FakeForgejoOptions): Promise<FakeForgejo> {
  const validator = createSwaggerValidator(loadSwagger(opts.kind));
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const pulls = new Map<string, FakePull[]>(opts.repos.map((r) => [r, []]));
  const failures: Array<{ status: number; message: string }> = [];
  let isDown = false;
  let url = '';
  const selfLogin = opts.selfLogin ?? 'forge-bot';
  const book = createIssueBook(opts.repos);
  const issues = createGiteaIssues({
    kind: opts.kind,
    book,
    url: () => url,
    selfLogin,
    maxPageSize: opts.maxPageSize ?? 50,
  });

  const addPull = (repo: string, pull: Omit<FakePull, 'number'>): FakePull => {
    const list = pulls.get(repo) ?? [];
    // Pull requests and issues share one sequence of numbers, as on the forge.
    const { number } = book.addIssue(repo, {
      title: pull.title,
      body: pull.body,
      author: selfLogin,
      pull: true,
      state: pull.state,
    });
    const created = { ...pull, number };
    list.push(created);
    pulls.set(repo, list);
    return created;
  };
  const toJson = (repo: string, p: FakePull): Record<string, unknown> => ({
    id: p.number + 1000,
    number: p.number,
    html_url: `${url}/${repo}/pulls/${p.number}`,
    url: `${url}/${repo}/pulls/${p.number}`,
    state: p.state,
    title: p.title,
    body: p.body,
    draft: DRAFT.test(p.title),
    merged: false,
    head: { ref: p.head, label: p.head, repo_id: 1 },
    base: { ref: p.base, label: p.base, repo_id: 1 },
    user: issues.user(selfLogin),
  });

  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): [number, unknown] {
    const issueAnswer = issues.route(method, path, query, body);
    if (issueAnswer) return issueAnswer;
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls(?:\/(\d+))?$/.exec(path);
    const repo = m ? `${decodeURIComponent(m[1] ?? '')}/${decodeURIComponent(m[2] ?? '')}` : '';
    const list = pulls.get(repo);
    if (!m || !list)
      return [
        404,
        { message: "The target couldn't be found.", url: `${url}/api/swagger`, errors: [] },
      ];
    const fields = (body ?? {}) as Partial<FakePull>;
    if (method === 'POST' && !m[3]) {
      if (!fields.head || !fields.base)
        return [422, { message: 'head and base are required', url: `${url}/api/swagger` }];
      const dup = list.find(
        (p) => p.state === 'open' && p.head === fields.head && p.base === fields.base,
      );
      if (dup) {
        const message = `pull request already exists for these targets [id: ${dup.number + 1000}, issue_id: ${dup.number}, head_repo_id: 1, base_repo_id: 1, head_branch: ${dup.head}, base_branch: ${dup.base}]`;
        return [409, { message, url: `${url}/api/swagger` }];
      }
      return [
        201,
        toJson(
          repo,
          addPull(repo, {
            head: fields.head,
            base: fields.base,
            title: fields.title ?? '',
            body: fields.body ?? '',
            state: 'open',
          }),
        ),
      ];
    }
    if (method === 'GET' && !m[3]) {
      const state = query.get('state') ?? 'open';
      const base = query.get(opts.kind === 'forgejo' ? 'base' : 'base_branch');
      const limit = Math.min(Number(query.get('limit') ?? 30) || 30, opts.maxPageSize ?? 50);
      const page = Number(query.get('page') ?? 1) || 1;
      const hits = list.filter(
        (p) => (state === 'all' || p.state === state) && (!base || p.base === base),
      );
      return [200, hits.slice((page - 1) * limit, page * limit).map((p) => toJson(repo, p))];
    }
    const pull = list.find((p) => p.number === Number(m[3]));
    if (!pull)
      return [
        404,
        { message: "The target couldn't be found.", url: `${url}/api/swagger`, errors: [] },
      ];
    if (method === 'PATCH') Object.assign(pull, pick(fields, ['title', 'body', 'base', 'state']));
    return [method === 'PATCH' ? 201 : 200, toJson(repo, pull)];
  }

  /** The forge's event name and hook event type for each review decision. */
  const REVIEW_EVENTS: Record<ReviewState, [event: string, type: string]> = {
    approved: ['pull_request_approved', 'pull_request_review_approved'],
    changes_requested: ['pull_request_rejected', 'pull_request_review_rejected'],
    commented: ['pull_request_comment', 'pull_request_review_comment'],
  };
  async function review(
    repo: string,
    number: number,
    { state, body }: { state: ReviewState; body: string },
    author: string,
  ) {
    const pull = pulls.get(repo)?.find((p) => p.number === number);
    if (!pull) throw new Error(`fake ${opts.kind}: no pull request ${repo}#${number}`);
    const [event, type] = REVIEW_EVENTS[state];
    const deliveries = await issues.emit(repo, event, type, {
      action: 'reviewed',
      number,
      pull_request: toJson(repo, pull),
      requested_reviewer: null,
      repository: issues.repositoryJson(repo),
      sender: issues.user(author),
      commit_id: '',
      review: { type, content: body },
    });
    return { deliveries };
  }

  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const parsed = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const path = parsed.pathname.startsWith('/api/v1/')
        ? parsed.pathname.slice('/api/v1'.length)
        : parsed.pathname;
      let body: unknown = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        violations.push(`${method} ${path}: body is not JSON`);
      }
      requests.push({ method, path, query: parsed.searchParams, headers: req.headers, body });
      violations.push(...validator.request(method, path, parsed.searchParams, body));
      if (body !== undefined && !String(req.headers['content-type']).startsWith('application/json'))
        violations.push(`${method} ${path}: body sent without Content-Type: application/json`);
      if (isDown)
        return send(res, 503, { message: 'the forge is down', url: `${url}/api/swagger` });
      const failure = failures.shift();
      if (failure)
        return send(res, failure.status, { message: failure.message, url: `${url}/api/swagger` });
      if (req.headers.authorization !== `token ${opts.token}`)
        return send(res, 401, {
          message: 'invalid username, password or token',
          url: `${url}/api/swagger`,
        });
      const [status, out] = route(method, path, parsed.searchParams, body);
      if (status < 400) violations.push(...validator.response(method, path, status, out));
      send(res, status, out);
    });
  });
  const listening = await listenOnLoopback(server);
  url = listening.url;
  return {
    url,
    requests,
    violations,
    pulls: (repo) => pulls.get(repo) ?? [],
    addPull,
    ...issues.actions,
    review,
    issue: (repo, number) => book.issue(repo, number),
    comments: (repo, number) => book.repo(repo).comments.filter((c) => c.issue === number),
    labels: (repo) => book.repo(repo).labels,
    deliveries: book.deliveries,
    redeliver: (id) => book.redeliver(id),
    dropDeliveries: (on) => book.setDropping(on),
    idle: () => book.idle(),
    failNext(status, message = `fake ${status}`, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ status, message });
    },
    down(on) {
      isDown = on;
    },
    close: async () => {
      await book.idle();
      await listening.close();
    },
  };
}

function pick<T extends object>(from: T, keys: Array<keyof T>): Partial<T> {
  return Object.fromEntries(
    keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]),
  ) as Partial<T>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
