/**
 * The worker's workspace: Forge's bundle of the prepared checkout, made into a repository at the
 * same head, on the same branch, with the same `origin` (its URL only: the worker never holds
 * credentials for it) and the identity Forge would commit with. A job without a repository gets
 * an empty directory. A workspace already there (a worker restarted in the same directory) is
 * kept: it holds the agent's work so far.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { git } from '../adapters/sandbox/remote/git-run.ts';
import type { AttemptSpec } from '../adapters/sandbox/remote/protocol.ts';
import type { WorkerClient } from './worker-client.ts';

export async function fetchWorkspace(
  client: WorkerClient,
  spec: AttemptSpec,
  dir: string,
  scratch: string,
  gitPath: string,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const ws = spec.workspace;
  if (!ws) return;
  if (
    await stat(join(dir, '.git')).then(
      () => true,
      () => false,
    )
  )
    return;
  const bundle = join(scratch, 'workspace.bundle');
  const res = await client.call('/workspace', { timeoutMs: 30 * 60_000 });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(bundle));
  const run = (args: string[]) => git(args, { cwd: dir, path: gitPath });
  await run(['init', '--quiet']);
  await run([
    'fetch',
    '--quiet',
    '--update-head-ok',
    '--no-tags',
    '--end-of-options',
    bundle,
    '+refs/heads/*:refs/heads/*',
    '+refs/remotes/*:refs/remotes/*',
  ]);
  if (ws.branch) await run(['symbolic-ref', 'HEAD', `refs/heads/${ws.branch}`]);
  else await run(['update-ref', '--no-deref', 'HEAD', ws.head]);
  await run(['reset', '--quiet', '--hard', ws.head]);
  if (ws.origin) await run(['remote', 'add', 'origin', ws.origin]);
  if (ws.identity) {
    await run(['config', 'user.name', ws.identity.name]);
    await run(['config', 'user.email', ws.identity.email]);
  }
  await rm(bundle, { force: true });
}
