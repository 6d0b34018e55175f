/** The agent's work going home: a result bundle (result-bundle.ts) uploaded with PUT result. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createResultBundle } from '../adapters/sandbox/remote/result-bundle.ts';
import { ForgeUnreachable, TokenRefused, type WorkerClient } from './worker-client.ts';

/** Bundles the agent's work and uploads it; a bundle Forge refuses is logged, not fatal (the exit
 *  and the output are still worth reporting). */
export async function uploadResult(
  client: WorkerClient,
  cwd: string,
  startHead: string,
  scratch: string,
  gitPath: string,
  log: (line: string) => void,
): Promise<void> {
  const file = join(scratch, 'result.bundle');
  try {
    await createResultBundle(cwd, startHead, file, join(scratch, 'snapshot-index'), {
      path: gitPath,
    });
  } catch (err) {
    log(`could not bundle the agent's work: ${(err as Error).message}`);
    return;
  }
  const size = (await stat(file)).size;
  try {
    await client.call('/result', {
      method: 'PUT',
      bodyFactory: () => Readable.toWeb(createReadStream(file)),
      headers: { 'content-type': 'application/x-git-bundle', 'content-length': String(size) },
      timeoutMs: 30 * 60_000,
    });
  } catch (err) {
    if (err instanceof ForgeUnreachable || err instanceof TokenRefused) throw err;
    // Refused as malformed: the exit is still worth reporting, with the output.
    log(`Forge did not take the agent's work: ${(err as Error).message}`);
  }
}
