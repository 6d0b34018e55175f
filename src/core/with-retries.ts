/** Trying again what the network or a forge may fix, without outliving a cancel or a deadline. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isForgeError } from '../domain/errors.ts';

const TRIES = 3;

/** Runs `fn` up to three times while it fails with `unavailable` or `conflict` (a branch moved by
 *  a concurrent push may settle), doubling `delayMs` between tries. The back-off ends when
 *  `signal` aborts; then the last error is thrown. */
export async function withRetries<T>(
  logger: Logger,
  what: string,
  delayMs: number,
  signal: AbortSignal,
  fn: () => Promise<T>,
): Promise<T> {
  let delay = delayMs;
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await fn();
    } catch (err) {
      const retryable =
        isForgeError(err) && (err.code === 'unavailable' || err.code === 'conflict');
      if (!retryable || tryNo >= TRIES || signal.aborted) throw err;
      logger.warn({ err, tryNo, what }, 'retrying');
      await sleep(delay, undefined, { signal }).catch(() => {}); // an abort ends the wait, not the run
      if (signal.aborted) throw err;
      delay *= 2;
    }
  }
}

/** `work`, or a rejection as soon as `signal` aborts: a forge client that ignores its signal
 *  cannot hold finalizing past a cancel or the deadline. */
export function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      work.catch(() => {}); // settled after the abort: nobody waits for it any more
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
