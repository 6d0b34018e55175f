/**
 * The SandboxClaim controller: binds a claim to a Sandbox (one it already owns, else the oldest
 * Ready Sandbox of its warm pool, else a cold one named as the claim and built from the pool's
 * template), forwards the Sandbox's Ready condition with status.sandbox.name, reports a missing
 * pool or template with the real reasons, and acts on lifecycle.shutdownTime. The known defects
 * (defects.ts) bend each step.
 */
import type { OwnerReference } from '../resources.ts';
import { findCondition, isTrue, withCondition, type NewCondition } from './conditions.ts';
import type { ControllerContext } from './context.ts';
import { blueprintOf } from './blueprint.ts';
import { recordAssignment } from './assignment.ts';
import { doubleAdopt, flap, remember, seen } from './claim-defects.ts';
import {
  CLAIM_UID_LABEL,
  LAUNCH_TYPE_LABEL,
  nameHash,
  POD_NAME_ANNOTATION,
  READY,
  REASON,
  TEMPLATE_REF_ANNOTATION,
  TEMPLATE_REF_HASH_LABEL,
  WARM_POOL_LABEL,
} from './names.ts';
import { SANDBOX_CLAIMS, SANDBOX_TEMPLATES, SANDBOX_WARM_POOLS, SANDBOXES } from './resources.ts';
import type { Sandbox, SandboxClaim, SandboxTemplate, SandboxWarmPool } from './types.ts';
import { poolSandboxes } from './warm-pool-controller.ts';

type Binding = { sandbox: Sandbox | null; error?: NewCondition };

export function reconcileClaim(ctx: ControllerContext, claim: SandboxClaim): void {
  const uid = claim.metadata.uid ?? '';
  if (!seen(ctx, claim)) remember(ctx, uid);
  const gen = claim.metadata.generation ?? 1;
  if (ctx.memo.stuck.has(uid)) {
    return writeStatus(
      ctx,
      claim,
      {
        type: READY,
        status: 'False',
        reason: REASON.sandboxNotReady,
        message: 'Sandbox is not ready',
        observedGeneration: gen,
      },
      null,
    );
  }
  if (expired(claim)) return expire(ctx, claim);
  const { sandbox, error } = bind(ctx, claim);
  writeStatus(ctx, claim, error ?? readyOf(ctx, claim, sandbox), sandbox);
}

/** The soonest future shutdownTime among claims, for the controller's timer. */
export function nextShutdown(claims: SandboxClaim[]): number | undefined {
  const times = claims
    .map((c) => Date.parse(c.spec.lifecycle?.shutdownTime ?? ''))
    .filter((t) => Number.isFinite(t) && t > Date.now());
  return times.length ? Math.min(...times) : undefined;
}

function expired(claim: SandboxClaim): boolean {
  const t = Date.parse(claim.spec.lifecycle?.shutdownTime ?? '');
  return Number.isFinite(t) && t <= Date.now();
}

/** Delete policies remove the claim (and so, by ownership, its Sandbox and pod); Retain removes only the Sandbox. */
function expire(ctx: ControllerContext, claim: SandboxClaim): void {
  const { namespace = 'default', name } = claim.metadata;
  const policy = claim.spec.lifecycle?.shutdownPolicy ?? 'Retain';
  if (policy !== 'Retain') {
    const propagation = policy === 'DeleteForeground' ? 'Foreground' : 'Background';
    return ctx.deleteObject(SANDBOX_CLAIMS, namespace, name, propagation);
  }
  const sandbox = owned(ctx, claim, claim.status?.sandbox?.name ?? name);
  if (sandbox) ctx.deleteObject(SANDBOXES, namespace, sandbox.metadata.name);
  writeStatus(
    ctx,
    claim,
    {
      type: READY,
      status: 'False',
      reason: REASON.claimExpired,
      message: 'Claim expired. Sandbox cleanup initiated.',
      observedGeneration: claim.metadata.generation ?? 1,
    },
    null,
  );
}

function bind(ctx: ControllerContext, claim: SandboxClaim): Binding {
  const { namespace = 'default', name, uid = '' } = claim.metadata;
  const doubled = ctx.memo.doubled.get(uid);
  if (doubled)
    return { sandbox: (ctx.store.get(SANDBOXES, namespace, doubled) as Sandbox) ?? null };
  const mine = owned(ctx, claim, claim.status?.sandbox?.name ?? name);
  if (mine) return { sandbox: mine };
  const gen = claim.metadata.generation ?? 1;
  const poolName = claim.spec.warmPoolRef.name;
  const pool = ctx.store.get(SANDBOX_WARM_POOLS, namespace, poolName) as
    SandboxWarmPool | undefined;
  if (!pool) {
    return {
      sandbox: null,
      error: {
        type: READY,
        status: 'False',
        reason: REASON.warmPoolNotFound,
        message: `SandboxWarmPool "${poolName}" not found`,
        observedGeneration: gen,
      },
    };
  }
  const stolen = ctx.defects.doubleAdopt ? doubleAdopt(ctx, claim) : null;
  if (stolen) return { sandbox: stolen };
  const candidate = pickWarm(ctx, pool);
  if (candidate) return { sandbox: adopt(ctx, claim, candidate) };
  const templateName = pool.spec.sandboxTemplateRef.name;
  const template = ctx.store.get(SANDBOX_TEMPLATES, namespace, templateName) as
    SandboxTemplate | undefined;
  if (!template) {
    return {
      sandbox: null,
      error: {
        type: READY,
        status: 'False',
        reason: REASON.templateNotFound,
        message: `SandboxTemplate "${templateName}" not found`,
        observedGeneration: gen,
      },
    };
  }
  if (ctx.store.get(SANDBOXES, namespace, name)) {
    return {
      sandbox: null,
      error: {
        type: READY,
        status: 'False',
        reason: REASON.reconcilerError,
        message: `Error seen: sandbox "${name}" already exists and is not controlled by this claim: delete it or name the claim differently`,
        observedGeneration: gen,
      },
    };
  }
  return { sandbox: createCold(ctx, claim, template) };
}

function owned(ctx: ControllerContext, claim: SandboxClaim, name: string): Sandbox | null {
  const s = ctx.store.get(SANDBOXES, claim.metadata.namespace ?? 'default', name) as
    Sandbox | undefined;
  const controlled = s?.metadata.ownerReferences?.some(
    (r) => r.controller && r.uid === claim.metadata.uid,
  );
  return s && controlled ? s : null;
}

/** Oldest Ready first, as the real candidate queue; with adoptNotReady, a not-Ready one first. */
function pickWarm(ctx: ControllerContext, pool: SandboxWarmPool): Sandbox | undefined {
  const all = poolSandboxes(ctx, pool);
  const ready = all.filter((s) => isTrue(s.status?.conditions, READY));
  if (!ctx.defects.adoptNotReady) return ready[0];
  return all.find((s) => !isTrue(s.status?.conditions, READY)) ?? ready[0];
}

function claimOwner(claim: SandboxClaim): OwnerReference {
  return {
    apiVersion: claim.apiVersion,
    kind: 'SandboxClaim',
    name: claim.metadata.name,
    uid: claim.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** As completeAdoption: off the pool, owned by the claim, pod-name annotation, claim uid on the template (and so the pod). */
function adopt(ctx: ControllerContext, claim: SandboxClaim, candidate: Sandbox): Sandbox {
  const uid = claim.metadata.uid ?? '';
  const { namespace = 'default', name } = candidate.metadata;
  if (ctx.defects.adoptNotReady && !isTrue(candidate.status?.conditions, READY))
    ctx.memo.forcedReady.add(uid);
  ctx.memo.lastAdopted = { sandbox: name, namespace, claimUid: uid };
  recordAssignment(ctx, claim, name);
  return ctx.store.mutate(SANDBOXES, namespace, name, (o) => {
    const s = o as Sandbox;
    const labels = { ...s.metadata.labels };
    delete labels[WARM_POOL_LABEL];
    s.metadata.labels = { ...labels, [LAUNCH_TYPE_LABEL]: 'warm', [CLAIM_UID_LABEL]: uid };
    s.metadata.annotations = { ...s.metadata.annotations, [POD_NAME_ANNOTATION]: name };
    s.metadata.ownerReferences = [claimOwner(claim)];
    const tmpl = s.spec.podTemplate;
    const podLabels: Record<string, string> = { ...tmpl.metadata?.labels, [CLAIM_UID_LABEL]: uid };
    delete podLabels[WARM_POOL_LABEL];
    tmpl.metadata = { ...tmpl.metadata, labels: podLabels };
  }) as Sandbox;
}

function createCold(
  ctx: ControllerContext,
  claim: SandboxClaim,
  template: SandboxTemplate,
): Sandbox {
  const { namespace = 'default', name, uid = '' } = claim.metadata;
  const podTemplate = structuredClone(template.spec.podTemplate);
  const templateHash = nameHash(template.metadata.name);
  podTemplate.metadata = {
    ...podTemplate.metadata,
    labels: {
      ...podTemplate.metadata?.labels,
      [CLAIM_UID_LABEL]: uid,
      [TEMPLATE_REF_HASH_LABEL]: templateHash,
    },
  };
  return ctx.store.create(SANDBOXES, {
    apiVersion: 'agents.x-k8s.io/v1beta1',
    kind: 'Sandbox',
    metadata: {
      name,
      namespace,
      labels: {
        [CLAIM_UID_LABEL]: uid,
        [LAUNCH_TYPE_LABEL]: 'cold',
        [TEMPLATE_REF_HASH_LABEL]: templateHash,
      },
      annotations: { [TEMPLATE_REF_ANNOTATION]: template.metadata.name },
      ownerReferences: [claimOwner(claim)],
    },
    spec: { ...blueprintOf(template), podTemplate },
  }) as Sandbox;
}

function readyOf(
  ctx: ControllerContext,
  claim: SandboxClaim,
  sandbox: Sandbox | null,
): NewCondition {
  const gen = claim.metadata.generation ?? 1;
  const uid = claim.metadata.uid ?? '';
  if (!sandbox) {
    return {
      type: READY,
      status: 'False',
      reason: REASON.sandboxMissing,
      message: 'Sandbox does not exist',
      observedGeneration: gen,
    };
  }
  if (ctx.memo.forcedReady.has(uid)) {
    return {
      type: READY,
      status: 'True',
      reason: REASON.dependenciesReady,
      message: 'Pod is Ready',
      observedGeneration: gen,
    };
  }
  const forwarded = findCondition(sandbox.status?.conditions, READY);
  const cond: NewCondition = forwarded
    ? {
        type: READY,
        status: forwarded.status,
        reason: forwarded.reason,
        message: forwarded.message,
        observedGeneration: gen,
      }
    : {
        type: READY,
        status: 'False',
        reason: REASON.sandboxNotReady,
        message: 'Sandbox is not ready',
        observedGeneration: gen,
      };
  return cond.status === 'True' ? flap(ctx, claim, cond) : cond;
}

function writeStatus(
  ctx: ControllerContext,
  claim: SandboxClaim,
  ready: NewCondition,
  sandbox: Sandbox | null,
): void {
  const status: SandboxClaim['status'] = {
    conditions: withCondition(claim.status?.conditions, ready),
    sandbox: sandbox
      ? {
          name: sandbox.metadata.name,
          ...(sandbox.status?.podIPs ? { podIPs: sandbox.status.podIPs } : {}),
        }
      : {},
  };
  if (JSON.stringify(status) === JSON.stringify(claim.status)) return;
  ctx.store.mutate(
    SANDBOX_CLAIMS,
    claim.metadata.namespace ?? 'default',
    claim.metadata.name,
    (o) => {
      o.status = status;
    },
  );
}
