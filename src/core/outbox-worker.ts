/**
 * Delivers what the outbox holds: takes due deliveries under a lease, runs a few at once through
 * their sink, and settles each one. A sink that is down is tried again with exponential back-off
 * and jitter; one that refuses for good (or is not configured) gives the delivery up at once. A
 * receiver that hangs is cut off after a timeout, so it never blocks the others.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { formatDuration } from '../domain/duration.ts';
import { ForgeError, isForgeError } from '../domain/errors.ts';
import type { Delivery, DeliveryOutcome, Outbox } from '../ports/outbox.ts';
import { untilAborted } from './with-retries.ts';

/**
 * Delivers one delivery. Resolving means delivered. Throw ForgeError('unavailable') (or any
 * error that is not a ForgeError, such as a network TypeError) for what a later try may fix; any
 * other ForgeError code gives the delivery up, with its message kept as the reason. Aborting
 * `signal` (shutdown, timeout) must end the request.
 */
export type DeliverFn = (delivery: Delivery, signal: AbortSignal) => Promise<void>;

export interface Backoff {
  /** Wait before the second try; doubled for each one after. */
  baseMs: number;
  /** The longest wait. */
  maxMs: number;
  /** Tries before a delivery is given up. */
  maxAttempts: number;
}

export interface OutboxWorkerOptions {
  outbox: Outbox;
  /** The sink's deliver function, or null when no sink of that name is configured. */
  deliver: (sink: string) => DeliverFn | null;
  /** This server's lease owner name. */
  owner: string;
  logger: Logger;
  /** Epoch ms; must be the store's clock, on which `next_at` is judged. */
  clock?: () => number;
  /** How long a taken delivery stays leased; must outlast `timeoutMs`. */
  leaseMs?: number;
  /** How often the outbox is looked at without a `wake()`. */
  pollMs?: number;
  /** Most deliveries in flight at once. */
  batch?: number;
  /** Longest one delivery may take before it is aborted and tried again later. */
  timeoutMs?: number;
  /** How long `stop()` lets deliveries in flight finish before it aborts them. */
  graceMs?: number;
  backoff?: Partial<Backoff>;
}

export interface OutboxWorker {
  start(): void;
  /** Looks at the outbox now instead of at the next poll (call it when a job changes). */
  wake(): void;
  /** Stops taking deliveries, lets those in flight finish for a grace period, then aborts them
   *  (they are settled to be tried again at once, by this server or another). */
  stop(): Promise<void>;
  /** Resolves once nothing due is left and nothing is in flight (or the worker stopped). */
  idle(): Promise<void>;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1000, maxMs: 5 * 60_000, maxAttempts: 50 };
const LAST_ERROR_MAX = 1000;

/** When to try a delivery again after its `attempts`-th try failed: doubling from `baseMs`, capped
 *  at `maxMs`, with the upper half jittered so deliveries that failed together spread out. */
export function retryDelay(attempts: number, backoff: Backoff, random = Math.random): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export function createOutboxWorker(opts: OutboxWorkerOptions): OutboxWorker {
  const { outbox, owner, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const leaseMs = opts.leaseMs ?? 60_000;
  const pollMs = opts.pollMs ?? 1000;
  const limit = opts.batch ?? 4;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const graceMs = opts.graceMs ?? 5000;
  const backoff: Backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  if (timeoutMs >= leaseMs)
    throw new ForgeError(
      'config',
      `outbox worker: the lease (${leaseMs} ms) must outlast a delivery's timeout (${timeoutMs} ms)`,
    );

  const shutdown = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let loop: Promise<void> | null = null;
  let stopping = false;
  // Set by wake() and by every settle: look again before napping, and not idle yet.
  let woken = false;
  let poke: (() => void) | null = null;
  let isIdle = false;
  const idleWaiters: (() => void)[] = [];

  const markIdle = () => {
    isIdle = true;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const wake = () => {
    woken = true;
    isIdle = false;
    poke?.();
  };

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        poke = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      poke = done;
    });

  async function settle(delivery: Delivery, outcome: DeliveryOutcome): Promise<void> {
    try {
      await outbox.settle(delivery.id, owner, outcome);
    } catch (err) {
      // Its lease runs out and it is taken again: delivered twice at worst, never lost.
      logger.error({ err, ...about(delivery) }, 'settling a delivery failed');
    }
  }

  function outcomeOf(delivery: Delivery, err: unknown, signal: AbortSignal): DeliveryOutcome {
    const ids = about(delivery);
    if (shutdown.signal.aborted) {
      logger.info(ids, 'delivery interrupted by shutdown; it will be tried again');
      return { ok: false, error: 'interrupted: Forge was shutting down', retry_at: clock() };
    }
    const message = signal.aborted
      ? `no answer within ${formatDuration(timeoutMs)}`
      : err instanceof Error
        ? err.message
        : String(err);
    if (isForgeError(err) && err.code !== 'unavailable') {
      logger.error({ ...ids, code: err.code, error: message }, 'delivery refused; giving up');
      return { ok: false, error: cap(message), retry_at: null };
    }
    if (delivery.attempts >= backoff.maxAttempts) {
      logger.error({ ...ids, error: message }, 'delivery kept failing; giving up');
      return {
        ok: false,
        error: cap(`gave up after ${delivery.attempts} tries: ${message}`),
        retry_at: null,
      };
    }
    const delay = retryDelay(delivery.attempts, backoff);
    // A ForgeError's message is written for people; anything else may be a bug: keep its stack.
    const detail = isForgeError(err) || signal.aborted ? { error: message } : { err };
    logger.warn({ ...ids, ...detail, retryInMs: delay }, 'delivery failed; will retry');
    return { ok: false, error: cap(message), retry_at: clock() + delay };
  }

  async function run(delivery: Delivery): Promise<void> {
    const deliverFn = opts.deliver(delivery.sink);
    if (deliverFn === null) {
      const error = `no sink named ${delivery.sink} is configured`;
      logger.error({ ...about(delivery), error }, 'delivery has no sink; giving up');
      return settle(delivery, { ok: false, error, retry_at: null });
    }
    const signal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(timeoutMs)]);
    let outcome: DeliveryOutcome;
    try {
      // untilAborted: a sink that ignores its signal still cannot hold the delivery past it.
      await untilAborted(signal, deliverFn(delivery, signal));
      outcome = { ok: true };
    } catch (err) {
      outcome = outcomeOf(delivery, err, signal);
    }
    await settle(delivery, outcome);
  }

  function launch(delivery: Delivery): void {
    const running: Promise<void> = run(delivery)
      .catch((err: unknown) => logger.error({ err, ...about(delivery) }, 'delivery crashed'))
      .finally(() => {
        inFlight.delete(running);
        wake(); // a slot is free, and the next delivery of its job may now be due
      });
    inFlight.add(running);
  }

  async function takeSome(free: number): Promise<Delivery[]> {
    try {
      return await outbox.take(owner, leaseMs, free);
    } catch (err) {
      logger.error({ err }, 'taking deliveries from the outbox failed');
      return [];
    }
  }

  async function work(): Promise<void> {
    while (!stopping) {
      const free = limit - inFlight.size;
      woken = false;
      const taken = free > 0 ? await takeSome(free) : [];
      if (stopping) {
        // Taken while stop() was called: hand them back untried.
        for (const d of taken)
          await settle(d, { ok: false, error: 'not tried', retry_at: clock() });
        break;
      }
      for (const delivery of taken) launch(delivery);
      if (free > 0 && taken.length === free) continue; // more may be due
      if (inFlight.size === 0 && taken.length === 0 && !woken) markIdle();
      await nap(pollMs);
    }
  }

  return {
    start() {
      if (loop !== null || stopping) return;
      loop = work();
    },
    wake,
    async stop() {
      if (stopping) return;
      stopping = true;
      poke?.();
      await loop;
      const all = Promise.all(inFlight);
      const grace = new AbortController();
      await Promise.race([
        all,
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => {}),
      ]);
      grace.abort();
      shutdown.abort();
      await all;
      markIdle();
    },
    idle() {
      if (isIdle) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** What a log line says about a delivery: never its payload, which may hold what people wrote. */
function about(delivery: Delivery) {
  return { deliveryId: delivery.id, sink: delivery.sink, jobId: delivery.job_id };
}

function cap(message: string): string {
  return message.length > LAST_ERROR_MAX ? `${message.slice(0, LAST_ERROR_MAX - 1)}…` : message;
}
