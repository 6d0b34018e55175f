/**
 * A real git smart-HTTP server on loopback: node:http in front of `git http-backend` (CGI), with
 * HTTP basic auth on every request, as a forge would have. Repositories are bare directories under
 * `root`; tests create them (and move their branches, as another person would) with
 * `git fast-import`, which makes a 20,000-file repository in a couple of seconds.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitServerOptions {
  username?: string;
  token?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path below the server, e.g. `/app.git/info/refs`. */
  path: string;
  /** `git-upload-pack` (fetch) or `git-receive-pack` (push), from the path or query. */
  service: string | null;
  /** Whether an Authorization header came, and whether it was right (the token is not kept). */
  auth: 'none' | 'ok' | 'wrong';
}

export interface RepoOptions {
  branch?: string;
  /** Named files of the first commit (default: a README). */
  files?: Record<string, string>;
  /** Adds this many generated files (`src/d<i % 100>/f<i>.txt`) to the first commit. */
  generatedFiles?: number;
  /** Commits in all (default 1); each after the first appends a line to CHANGES.md. */
  commits?: number;
}

export interface GitServer {
  root: string;
  username: string;
  token: string;
  credentials: { username: string; password: string };
  /** Clone URL of `<name>.git`, without credentials. */
  url(name: string): string;
  requests: RecordedRequest[];
  /** Creates `<name>.git`; returns the branch's head commit. */
  createRepo(name: string, opts?: RepoOptions): Promise<string>;
  /** Commits `files` on top of `branch` server-side (someone else pushing); returns the commit. */
  commit(
    name: string,
    branch: string,
    files: Record<string, string>,
    message?: string,
  ): Promise<string>;
  /** Runs git in `<name>.git` and returns its trimmed stdout. */
  git(name: string, args: string[]): Promise<string>;
  close(): Promise<void>;
}

const GIT_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' };
const AUTHOR = 'Test <test@example.com> 1700000000 +0000';

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const username = opts.username ?? 'forge-bot';
  const token = opts.token ?? 'tok-3c1f9a7e5b2d4c68';
  const root = await mkdtemp(join(tmpdir(), 'forge-git-server-'));
  const env = { ...GIT_ENV, HOME: root };
  const backend = join(
    execFileSync('git', ['--exec-path'], { env }).toString().trim(),
    'git-http-backend',
  );
  const expected = `Basic ${Buffer.from(`${username}:${token}`).toString('base64')}`;
  const requests: RecordedRequest[] = [];
  const children = new Set<ReturnType<typeof spawn>>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = req.headers.authorization;
    const auth = header === undefined ? 'none' : header === expected ? 'ok' : 'wrong';
    const service = /git-(upload|receive)-pack/.exec(url.pathname + url.search)?.[0] ?? null;
    requests.push({ method: req.method ?? 'GET', path: url.pathname, service, auth });
    if (auth !== 'ok') {
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="forge-test"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    const child = spawn(backend, [], {
      env: cgiEnv(req, url, root, username, env),
      stdio: ['pipe', 'pipe', 'ignore'], // git learns what went wrong from the HTTP response
    });
    children.add(child);
    child.once('close', () => children.delete(child));
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    relayCgi(child.stdout, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const git = async (name: string, args: string[], input?: string): Promise<string> =>
    run(['--git-dir', join(root, `${name}.git`), ...args], env, input);

  return {
    root,
    username,
    token,
    credentials: { username, password: token },
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    requests,
    async createRepo(name, repo = {}) {
      const branch = repo.branch ?? 'main';
      await run(
        ['init', '--quiet', '--bare', `--initial-branch=${branch}`, join(root, `${name}.git`)],
        env,
      );
      await git(name, ['config', 'http.receivepack', 'true']);
      await git(name, ['fast-import', '--quiet'], importStream(branch, repo));
      return git(name, ['rev-parse', `refs/heads/${branch}`]);
    },
    async commit(name, branch, files, message = 'someone else') {
      const stream = commitCommand(branch, files, message, `refs/heads/${branch}^0`);
      await git(name, ['fast-import', '--quiet'], stream);
      return git(name, ['rev-parse', `refs/heads/${branch}`]);
    },
    git: (name, args) => git(name, args),
    async close() {
      for (const child of children) child.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

function cgiEnv(
  req: IncomingMessage,
  url: URL,
  root: string,
  user: string,
  base: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {
    ...base,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: user,
    REMOTE_ADDR: '127.0.0.1',
  };
  // Large pushes come chunked (no length): the backend then reads to end of input.
  if (req.headers['content-length'] !== undefined)
    env.CONTENT_LENGTH = req.headers['content-length'];
  // git gzips big request bodies; the backend inflates them itself when told.
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;
  return env;
}

/** Turns the CGI response (headers, a blank line, the body) into the HTTP response. */
function relayCgi(stdout: NodeJS.ReadableStream, res: ServerResponse): void {
  let head = Buffer.alloc(0);
  let headersDone = false;
  stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const end = /\r?\n\r?\n/.exec(text);
    if (!end) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of text.slice(0, end.index).split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[key] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end.index + end[0].length));
  });
  stdout.on('end', () => {
    if (!headersDone) res.writeHead(502).end('git http-backend sent no headers\n');
    else res.end();
  });
}

function importStream(branch: string, repo: RepoOptions): string {
  const files: Record<string, string> = {
    ...(repo.files ?? { 'README.md': '# test repository\n' }),
  };
  for (let i = 0; i < (repo.generatedFiles ?? 0); i++)
    files[`src/d${i % 100}/f${i}.txt`] = `file ${i}\n`;
  const parts = [commitCommand(branch, files, 'initial commit', null)];
  let changes = '';
  for (let n = 2; n <= (repo.commits ?? 1); n++) {
    changes += `change ${n}\n`;
    parts.push(commitCommand(branch, { 'CHANGES.md': changes }, `change ${n}`, null));
  }
  return parts.join('');
}

function commitCommand(
  branch: string,
  files: Record<string, string>,
  message: string,
  from: string | null,
): string {
  const lines = [
    `commit refs/heads/${branch}`,
    `author ${AUTHOR}`,
    `committer ${AUTHOR}`,
    data(message),
  ];
  if (from) lines.push(`from ${from}`);
  for (const [path, content] of Object.entries(files))
    lines.push(`M 100644 inline ${path}`, data(content));
  return `${lines.join('\n')}\n\n`;
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}`;
}

function run(args: string[], env: Record<string, string>, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout.trim());
      },
    );
    child.stdin?.on('error', () => {}); // git need not read its input; its exit status tells
    child.stdin?.end(input ?? '');
  });
}
