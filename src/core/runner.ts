import { setTimeout as sleep } from 'node:timers/promises';
import type { AttemptDeps } from './run-attempt.ts';
import type { AttemptControl, StopReason } from './stop-reason.ts';
import { runAttempt } from './run-attempt.ts';
import { collectOrphans, recoverAbandoned } from './recovery.ts';
import { resumeAttempt } from './resume-attempt.ts';
import type { AttemptKey, Claim } from '../ports/store.ts';

export interface RunnerOptions {
  maxConcurrent: number;
  leaseMs: number;
  pollIntervalMs: number;
  /** Recover foreign leases at start-up: safe only when this process owns the data dir alone. */
  exclusive: boolean;
}

interface Running {
  key: AttemptKey;
  control: AttemptControl;
  done: Promise<void>;
}

/** Running attempts are keyed by job and attempt: a job's next attempt may start while the
 *  clean-up of its previous one is still running, and neither may touch the other's entry. */
const keyOf = (key: AttemptKey) => `${key.job_id}/${key.attempt}`;

/**
 * Claims jobs in FIFO order up to `maxConcurrent`, runs each attempt, renews their leases, stops
 * attempts whose job was cancelled, and periodically recovers jobs whose runner died.
 */
export class Runner {
  private readonly deps: AttemptDeps;
  private readonly opts: RunnerOptions;
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  /** Set by a wake-up that arrives while the loop is busy, so it is not lost. */
  private woken = false;
  private loopDone: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private lastRecovery = 0;

  constructor(deps: AttemptDeps, opts: RunnerOptions) {
    this.deps = deps;
    this.opts = opts;
  }

  /** Number of attempts running now. */
  get active(): number {
    return this.running.size;
  }

  start(): void {
    this.unsubscribe = this.deps.bus.subscribe((event) => {
      if (event.type === 'job.created') this.wake();
      if (event.type === 'job.status' && event.status === 'CANCELLED') {
        for (const r of this.running.values()) {
          if (r.key.job_id === event.jobId) withdraw(r.control, 'cancelled');
        }
      }
    });
    this.loopDone = this.loop();
  }

  /** Two-phase shutdown: stop claiming, give running attempts `graceMs` to finish, then stop them;
   *  their jobs go back to PENDING (retries left) to be picked up on the next start. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const grace = AbortSignal.timeout(graceMs);
    await Promise.race([all, sleep(graceMs, undefined, { signal: grace }).catch(() => {})]);
    for (const r of this.running.values()) r.control.stop.abort('shutdown' satisfies StopReason);
    await all;
    this.unsubscribe?.();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    const log = this.deps.logger;
    let first = true;
    while (!this.stopping) {
      try {
        const now = Date.now();
        if (first || now - this.lastRecovery > this.opts.leaseMs / 2) {
          this.lastRecovery = now;
          // Attempts that outlive their server are taken over first; recovery leaves them alone.
          if (this.deps.sandbox.adopt) {
            const adopted = await this.deps.store.adopt({
              self: this.deps.owner,
              foreignOwners: first && this.opts.exclusive,
              sandbox: this.deps.sandbox.label,
              leaseMs: this.opts.leaseMs,
            });
            for (const a of adopted) {
              this.deps.logger.info({ jobId: a.job.id, attempt: a.attempt }, 're-attaching');
              this.launch(a, (control) => resumeAttempt(this.deps, a, control));
            }
          }
          const running = [...this.running.values()].map((r) => r.key);
          await recoverAbandoned(this.deps, {
            foreignOwners: first && this.opts.exclusive,
            running,
          });
          await collectOrphans(this.deps);
          first = false;
        }
        while (!this.stopping && this.running.size < this.opts.maxConcurrent) {
          const claim = await this.deps.store.claim(
            this.deps.owner,
            this.opts.leaseMs,
            this.deps.sandbox.label,
          );
          if (!claim) break;
          this.launch(claim);
        }
      } catch (err) {
        log.error({ err }, 'runner loop error; retrying');
      }
      await this.idle(this.opts.pollIntervalMs);
    }
  }

  private launch(
    claim: Claim,
    run: (control: AttemptControl) => Promise<void> = (control) =>
      runAttempt(this.deps, claim, control),
  ): void {
    const jobId = claim.job.id;
    const key: AttemptKey = { job_id: jobId, attempt: claim.attempt };
    const control: AttemptControl = {
      stop: new AbortController(),
      withdrawn: new AbortController(),
    };
    this.deps.bus.publish({
      type: 'job.status',
      jobId,
      status: 'RUNNING',
      attempt: claim.attempt,
      failure: null,
    });
    const renew = setInterval(
      () => {
        this.deps.store
          .renew(key, this.deps.owner, this.opts.leaseMs)
          .then((held) => {
            if (!held) withdraw(control, 'lease_lost');
          })
          .catch((err: unknown) => this.deps.logger.warn({ err, jobId }, 'lease renewal failed'));
      },
      Math.max(100, Math.floor(this.opts.leaseMs / 3)),
    );
    const done = run(control)
      .catch((err: unknown) => this.deps.logger.error({ err, jobId }, 'attempt crashed'))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(keyOf(key));
        this.wake();
      });
    this.running.set(keyOf(key), { key, control, done });
  }

  /** Waits for a wake-up (new job, finished attempt) or the poll interval, whichever comes first. */
  private async idle(ms: number): Promise<void> {
    if (this.stopping || this.woken) {
      this.woken = false;
      return;
    }
    // A plain timer, not an aborted sleep: every wake-up would make (and throw) an AbortError.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = null;
    this.woken = false;
  }
}

/** The job is no longer this attempt's to complete: stop the agent, and open no pull request. */
function withdraw(control: AttemptControl, reason: StopReason): void {
  control.withdrawn.abort(reason);
  control.stop.abort(reason);
}
