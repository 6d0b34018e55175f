/**
 * The world the intake end-to-end tests run in: a real git smart-HTTP server, a fake forge
 * (Forgejo, Gitea or GitHub) holding the task issues, both behind one loopback origin as on a real
 * forge, and the Forge config that watches the issues and works on the repository `app`.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeForgejo, type FakeForgejo } from './fake-forgejo.ts';
import { startFakeGitHub, type FakeGitHub } from './fake-github.ts';
import type { ForgeProcess, JobJson } from './forge-server.ts';
import { startGitServer, type GitServer } from './git-http-server.ts';

export const WEBHOOK_SECRET = 'webhook-secret-for-tests';
export const TASKS = 'me/tasks';

export type IssueForge = FakeForgejo | FakeGitHub;

export interface IntakeWorld {
  kind: 'forgejo' | 'gitea' | 'github';
  git: GitServer;
  forge: IssueForge;
  /** The web origin (git under /, a Forgejo/Gitea API under /api/). */
  origin: string;
  /** forges:, repos: and intake: for a source named `name` working on repository `app`. */
  config(name: string, intake?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

/** One origin: /api/* → `apiUrl` (when given), everything else → the git HTTP server. */
export function startFront(gitUrl: string, apiUrl: string | null): Promise<Server> {
  const front = createServer((req, res) => {
    const api = apiUrl !== null && (req.url ?? '/').startsWith('/api/');
    const target = new URL(api ? apiUrl : gitUrl);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => front.listen(0, '127.0.0.1', () => resolve(front)));
}

export async function startIntakeWorld(kind: IntakeWorld['kind']): Promise<IntakeWorld> {
  // What each forge's host sends as the git user with its token.
  const git = await startGitServer({ username: kind === 'github' ? 'x-access-token' : 'forge' });
  await git.createRepo('me/app', { files: { 'README.md': '# app\n' } });
  const forge: IssueForge =
    kind === 'github'
      ? await startFakeGitHub({ token: git.token, repos: ['me/app', TASKS] })
      : await startFakeForgejo({ kind, token: git.token, repos: ['me/app', TASKS] });
  const gitRoot = git.url('x').replace(/\/x\.git$/, '');
  const front = await startFront(gitRoot, kind === 'github' ? null : forge.url);
  const origin = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  return {
    kind,
    git,
    forge,
    origin,
    config: (name, intake = {}) => ({
      forges: {
        home:
          kind === 'github'
            ? { kind, url: origin, api_url: forge.url, token: git.token }
            : { kind, url: origin, token: git.token },
      },
      repos: { app: { url: `${origin}/me/app.git`, forge: 'home', base_branch: 'main' } },
      intake: {
        [name]: {
          kind: 'issues',
          forge: 'home',
          repo: TASKS,
          label: 'forge:queued',
          target_repo: 'app',
          poll: '1s',
          webhook_secret: WEBHOOK_SECRET,
          allowed_users: ['me'],
          comment_interval: '1s',
          ...intake,
        },
      },
      outbox: {
        poll_interval: '100ms',
        max_backoff: '300ms',
        delivery_timeout: '2s',
        max_attempts: 1000,
      },
    }),
    async close() {
      await forge.close();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await git.close();
    },
  };
}

/** Polls `read` until `done` holds for its value; fails with the last value after `timeoutMs`. */
export async function until<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last: ${JSON.stringify(value).slice(0, 3000)}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The jobs Forge filed for an issue of source `name`, newest first. */
export async function jobsOfIssue(
  forge: ForgeProcess,
  name: string,
  number: number,
): Promise<JobJson[]> {
  const res = await forge.api<{ jobs: JobJson[] }>(
    'GET',
    `/jobs?tags=${encodeURIComponent(`issue:${name}#${number}`)}`,
  );
  return res.body.jobs;
}
