/**
 * One remote attempt as Forge sees it while it runs: what the worker fetches, the output it sent,
 * whether Forge wants it cancelled, its result and its exit. The worker routes (http/routes/
 * worker.ts) call in here; the remote sandbox (remote-sandbox.ts) turns it into a SandboxRun.
 *
 * It ends exactly once (`exited` resolves), for the first of: the worker's exit report; a cancel
 * the worker did not answer within the grace; the worker not calling home by the start deadline;
 * heartbeats missing for three intervals; the launcher reporting the worker failed. A result that
 * arrived is applied to the workspace before `exited` resolves; once ended, the attempt refuses
 * everything (the routes answer 410).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxExit, SandboxLabels } from '../../../ports/sandbox.ts';
import { OutputQueue } from './output-queue.ts';
import { placeOutput } from './output-window.ts';
import type { AttemptSpec, ExitReport } from './protocol.ts';

export interface LiveAttemptOptions {
  labels: SandboxLabels;
  spec: AttemptSpec;
  /** The workspace bundle to serve; null: a job without a repository. */
  workspaceBundle: string | null;
  /** A directory of Forge's own for this attempt (uploads land here). */
  scratchDir: string;
  /** Applies an uploaded result bundle to the workspace; rejects when it is not one. */
  applyResult: (file: string) => Promise<void>;
  heartbeatMs: number;
  /** How long a cancelled worker gets to upload its work and report its exit. */
  cancelGraceMs: number;
}

/** In the scratch dir: how many bytes of output the core has taken in. */
export const TAKEN_FILE = 'output-taken';
/** In the scratch dir: the attempt's spec as the worker fetches it, kept for re-attaching. */
export const SPEC_FILE = 'attempt.json';

export type OutputReceipt =
  { ok: true; acked: number; cancel: boolean } | { ok: false; acked: number };

export class LiveAttempt {
  readonly labels: SandboxLabels;
  readonly spec: AttemptSpec;
  readonly workspaceBundle: string | null;
  readonly scratchDir: string;
  /** Where a server restarted mid-attempt asks the worker to resend from (remote-sandbox.ts
   *  `adopt`), kept in the scratch dir (TAKEN_FILE): the end of the last whole line the core took
   *  in. The core holds a line's start until its end arrives, so a line cut by the restart is
   *  sent whole again rather than lost (a line longer than the core's 64 KiB pieces may repeat a
   *  piece). */
  readonly output = new OutputQueue((chunk) => {
    const newline = chunk.lastIndexOf(0x0a);
    this.taken += chunk.length;
    if (newline < 0) return;
    this.resumeAt = this.taken - chunk.length + newline + 1;
    try {
      writeFileSync(join(this.scratchDir, TAKEN_FILE), String(this.resumeAt));
    } catch {
      // The scratch dir is gone (the attempt is being cleaned up): nothing left to resume.
    }
  });
  /** Bytes of output the core has taken in (from the worker's first byte). */
  private taken: number;
  /** The end of the last whole line among them. */
  private resumeAt: number;
  readonly exited: Promise<SandboxExit>;
  /** Bytes of output received so far. */
  acked = 0;
  cancelRequested = false;
  /** When the worker last called (0: never). */
  lastSeen = 0;
  ended = false;
  private resolveExit!: (exit: SandboxExit) => void;
  private cancelWaiters = new Set<() => void>();
  private applying: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly opts: LiveAttemptOptions;
  private readonly onEnd: (() => void)[] = [];

  constructor(opts: LiveAttemptOptions) {
    this.opts = opts;
    this.labels = opts.labels;
    this.spec = opts.spec;
    this.workspaceBundle = opts.workspaceBundle;
    this.scratchDir = opts.scratchDir;
    // A re-attached attempt continues from what the previous server took in.
    this.acked = opts.spec.output_acked;
    this.taken = opts.spec.output_acked;
    this.resumeAt = opts.spec.output_acked;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** Runs `fn` once the attempt ended (after `exited` resolved). */
  whenEnded(fn: () => void): void {
    if (this.ended) fn();
    else this.onEnd.push(fn);
  }

  /** The worker called: it is alive. */
  seen(): void {
    this.lastSeen = Date.now();
  }

  get calledHome(): boolean {
    return this.lastSeen !== 0;
  }

  /** Takes output starting at byte `offset`; refuses a piece that would leave a hole. */
  receiveOutput(offset: number, bytes: Buffer): OutputReceipt {
    const placed = placeOutput(this.acked, offset, bytes.length);
    if (!placed.ok) return placed;
    if (placed.acked > this.acked) this.output.push(Buffer.from(bytes.subarray(placed.skip)));
    this.acked = placed.acked;
    return { ok: true, acked: this.acked, cancel: this.cancelRequested };
  }

  /** Resolves true as soon as a cancel is requested, false after `ms` or when `signal` aborts. */
  waitForCancel(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.cancelRequested || this.ended) return Promise.resolve(this.cancelRequested);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.cancelWaiters.delete(done);
        resolve(this.cancelRequested);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.cancelWaiters.add(done);
    });
  }

  /** Applies an uploaded result (one at a time; a repeated upload is applied again, harmlessly). */
  async receiveResult(file: string): Promise<void> {
    if (this.ended) throw new Error('the attempt has ended; its result comes too late');
    const applied = this.applying.then(() => this.opts.applyResult(file));
    this.applying = applied.catch(() => undefined);
    await applied;
  }

  /** The worker's exit report; refused (false) while output it reports is still missing. */
  receiveExit(report: ExitReport & { output_bytes: number }): boolean {
    if (report.output_bytes > this.acked) return false;
    const exit: SandboxExit = { exitCode: report.exit_code, signal: report.signal };
    if (report.error)
      exit.failure = { category: report.error.category, message: report.error.message };
    void this.end(exit);
    return true;
  }

  /** Forge wants the attempt stopped: tells the worker (its control long-poll answers at once)
   *  and ends the attempt after the grace even if the worker never answers. */
  cancel(): void {
    if (this.cancelRequested || this.ended) return;
    this.cancelRequested = true;
    for (const wake of [...this.cancelWaiters]) wake();
    this.later(this.opts.cancelGraceMs, () => void this.end({ exitCode: null, signal: 'SIGKILL' }));
  }

  /** Ends the attempt after `ms` unless the worker called home by then: as `sandbox` (it never
   *  ran), or as `interrupted` for a re-attached attempt whose worker did not call back. */
  startDeadline(
    ms: number,
    failure: () => Promise<string>,
    category: 'sandbox' | 'interrupted' = 'sandbox',
  ): void {
    this.later(ms, () => {
      if (this.calledHome || this.ended) return;
      void failure().then((message) =>
        this.end({ exitCode: null, signal: null, failure: { category, message } }),
      );
    });
  }

  /** Ends the attempt as interrupted once the worker, having called, goes quiet for three
   *  heartbeat intervals. */
  watchHeartbeats(): void {
    const every = this.opts.heartbeatMs;
    const check = () => {
      if (this.ended) return;
      const quiet = Date.now() - this.lastSeen;
      if (this.calledHome && quiet > 3 * every) {
        const seconds = Math.round(quiet / 1000);
        void this.end({
          exitCode: null,
          signal: null,
          failure: {
            category: 'interrupted',
            message: `the worker stopped calling home (nothing for ${seconds}s); its pod may have died or lost the network`,
          },
        });
        return;
      }
      this.later(every, check);
    };
    this.later(every, check);
  }

  /** Ends the attempt: waits for a result being applied, ends the output, resolves `exited`. */
  async end(exit: SandboxExit): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const wake of [...this.cancelWaiters]) wake();
    await this.applying;
    this.output.end();
    this.resolveExit(exit);
    for (const fn of this.onEnd.splice(0)) fn();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}
