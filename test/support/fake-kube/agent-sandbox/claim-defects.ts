/**
 * Where the fake claim controller goes wrong on purpose (defects.ts): which claims a switch
 * affects, binding a claim to another claim's Sandbox, and Ready flapping.
 */
import { recordAssignment } from './assignment.ts';
import { isTrue, type NewCondition } from './conditions.ts';
import type { ControllerContext } from './context.ts';
import { FLAP_COUNT, FLAP_INTERVAL_MS } from './defects.ts';
import { READY, REASON } from './names.ts';
import { SANDBOXES } from './resources.ts';
import type { Sandbox, SandboxClaim } from './types.ts';

/** A claim is new until the controller first writes its status. */
export function seen(ctx: ControllerContext, claim: SandboxClaim): boolean {
  return claim.status !== undefined || ctx.memo.doubled.has(claim.metadata.uid ?? '');
}

/** Switches that mark a claim when first seen, so turning one off later leaves that claim as it was. */
export function remember(ctx: ControllerContext, uid: string): void {
  if (ctx.defects.stuckNotReady) ctx.memo.stuck.add(uid);
  if (ctx.defects.flapReady) ctx.memo.flapsLeft.set(uid, FLAP_COUNT);
}

/** The Sandbox another claim adopted last, recorded as this claim's too (ownership unchanged). */
export function doubleAdopt(ctx: ControllerContext, claim: SandboxClaim): Sandbox | null {
  const last = ctx.memo.lastAdopted;
  if (!last || last.namespace !== claim.metadata.namespace || last.claimUid === claim.metadata.uid)
    return null;
  const s = ctx.store.get(SANDBOXES, last.namespace, last.sandbox) as Sandbox | undefined;
  if (!s) return null;
  ctx.memo.doubled.set(claim.metadata.uid ?? '', s.metadata.name);
  recordAssignment(ctx, claim, s.metadata.name);
  return s;
}

/** flapReady: answers False while dips remain and the claim last showed True, then True again. */
export function flap(
  ctx: ControllerContext,
  claim: SandboxClaim,
  ready: NewCondition,
): NewCondition {
  const uid = claim.metadata.uid ?? '';
  const left = ctx.memo.flapsLeft.get(uid) ?? 0;
  if (left === 0) return ready;
  ctx.requeueAfter(FLAP_INTERVAL_MS);
  if (!isTrue(claim.status?.conditions, READY)) return ready;
  ctx.memo.flapsLeft.set(uid, left - 1);
  return {
    ...ready,
    status: 'False',
    reason: REASON.dependenciesNotReady,
    message: 'Pod is Running but not Ready',
  };
}
