/**
 * The `forge worker` process's composition: where its token comes from (FORGE_WORKER_TOKEN, put
 * there by the launcher from a per-attempt Secret, or --token-file — never argv, never a URL),
 * its own environment (the token removed, so the agent cannot inherit it), its log (stderr lines,
 * which a launcher shows when the worker never got through), and its stop on SIGTERM (the agent's
 * process group killed and the work uploaded if Forge is still there).
 */
import { readFile } from 'node:fs/promises';
import { runWorker, WORKER_EXIT } from './run-worker.ts';
import { waitForAssignment } from './warm-assignment.ts';

export interface WorkerCommandOptions {
  url: string;
  dir: string;
  tokenFile?: string;
  giveUpAfterMs: number;
  /** A warm pod: wait for Forge to offer an attempt to this pod (FORGE_POD_NAME, else HOSTNAME),
   *  asking with the pool token (FORGE_POOL_TOKEN). */
  warm?: boolean;
}

export async function workerCommand(opts: WorkerCommandOptions): Promise<number> {
  const log = (line: string) => process.stderr.write(`forge worker: ${line}\n`);
  const fromEnv = process.env.FORGE_WORKER_TOKEN;
  delete process.env.FORGE_WORKER_TOKEN;
  const pool = process.env.FORGE_POOL_TOKEN;
  delete process.env.FORGE_POOL_TOKEN;
  const stop = new AbortController();
  let token = opts.tokenFile
    ? (await readFile(opts.tokenFile, 'utf8')).trim()
    : (fromEnv ?? '').trim();
  if (opts.warm) {
    const pod = process.env.FORGE_POD_NAME ?? process.env.HOSTNAME;
    if (!pool || !pod) {
      log('a warm worker needs FORGE_POOL_TOKEN and its pod name (FORGE_POD_NAME or HOSTNAME)');
      return WORKER_EXIT.refused;
    }
    log(`warm pod ${pod}: waiting for an attempt`);
    try {
      token =
        (await waitForAssignment({
          url: opts.url,
          poolToken: pool,
          pod,
          log,
          signal: stop.signal,
        })) ?? '';
    } catch (err) {
      log((err as Error).message);
      return WORKER_EXIT.refused;
    }
  }
  if (!token) {
    log('no attempt token: set FORGE_WORKER_TOKEN or pass --token-file (the launcher provides it)');
    return WORKER_EXIT.refused;
  }
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(WORKER_EXIT.failed);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await runWorker({
      url: opts.url,
      token,
      dir: opts.dir,
      env: { ...process.env },
      giveUpAfterMs: opts.giveUpAfterMs,
      log,
      signal: stop.signal,
    });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
