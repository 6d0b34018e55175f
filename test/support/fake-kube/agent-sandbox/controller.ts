/**
 * The fake agent-sandbox controller: level-triggered like the real one, it reconciles every
 * Sandbox, SandboxWarmPool and SandboxClaim in one pass after any change to those kinds or to a
 * pod (coalesced to one pass per tick), and again when a claim's shutdownTime comes.
 */
import { PODS, type ResourceType } from '../resources.ts';
import { nextShutdown, reconcileClaim } from './claim-controller.ts';
import type { ClaimMemo, ControllerContext } from './context.ts';
import { SANDBOX_CLAIMS, SANDBOX_TEMPLATES, SANDBOX_WARM_POOLS, SANDBOXES } from './resources.ts';
import { reconcileSandbox } from './sandbox-controller.ts';
import type { Sandbox, SandboxClaim, SandboxWarmPool } from './types.ts';
import { reconcileWarmPool } from './warm-pool-controller.ts';

const WATCHED = new Set<ResourceType>([
  PODS,
  SANDBOXES,
  SANDBOX_TEMPLATES,
  SANDBOX_WARM_POOLS,
  SANDBOX_CLAIMS,
]);

export type ControllerOptions = Pick<ControllerContext, 'store' | 'deleteObject' | 'defects'>;

export class AgentSandboxController {
  private scheduled = false;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private readonly ctx: ControllerContext;

  constructor(opts: ControllerOptions) {
    const memo: ClaimMemo = {
      stuck: new Set(),
      flapsLeft: new Map(),
      doubled: new Map(),
      forcedReady: new Set(),
    };
    this.ctx = {
      store: opts.store,
      deleteObject: (type, namespace, name, policy) =>
        opts.deleteObject(type, namespace, name, policy),
      defects: opts.defects,
      memo,
      requeueAfter: (ms) => this.after(ms),
    };
    this.unsubscribe = opts.store.onChange((c) => {
      if (WATCHED.has(c.resource)) this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed) return;
      try {
        this.pass();
      } catch (err) {
        // A real controller logs and requeues; so does this one, so a bug shows in the test output.
        console.error('fake agent-sandbox controller:', err);
        this.after(100);
      }
    });
  }

  private after(ms: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.schedule();
    }, ms);
    this.timers.add(timer);
  }

  private pass(): void {
    const { store } = this.ctx;
    for (const s of store.list(SANDBOXES) as Sandbox[]) reconcileSandbox(this.ctx, s);
    for (const p of store.list(SANDBOX_WARM_POOLS) as SandboxWarmPool[])
      reconcileWarmPool(this.ctx, p);
    const claims = store.list(SANDBOX_CLAIMS) as SandboxClaim[];
    for (const c of claims) {
      // Earlier claims in this pass may have adopted or deleted; read each afresh.
      const current = store.get(SANDBOX_CLAIMS, c.metadata.namespace ?? 'default', c.metadata.name);
      if (current?.metadata.uid === c.metadata.uid)
        reconcileClaim(this.ctx, current as SandboxClaim);
    }
    this.wakeAt(nextShutdown(claims));
  }

  private shutdownTimer: { at: number; timer: NodeJS.Timeout } | undefined;

  /** One timer for the soonest shutdownTime (a little after it, as the check is `<= now`). */
  private wakeAt(at: number | undefined): void {
    if (this.shutdownTimer?.at === at || this.closed) return;
    if (this.shutdownTimer) clearTimeout(this.shutdownTimer.timer);
    this.shutdownTimer = undefined;
    if (at === undefined) return;
    const timer = setTimeout(
      () => {
        this.shutdownTimer = undefined;
        this.schedule();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.shutdownTimer = { at, timer };
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    if (this.shutdownTimer) clearTimeout(this.shutdownTimer.timer);
    this.timers.clear();
  }
}
