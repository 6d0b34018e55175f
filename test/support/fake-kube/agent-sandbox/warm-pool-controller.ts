/**
 * The SandboxWarmPool controller: keeps spec.replicas unclaimed Sandboxes (named
 * `<pool>-<suffix>`, labelled with the pool's name hash, owned by the pool) built from the pool's
 * SandboxTemplate; an adopted Sandbox loses the label and the owner, so the pool makes another.
 * With the template missing it makes nothing (claims then report TemplateNotFound).
 */
import { SANDBOX_TEMPLATES, SANDBOX_WARM_POOLS, SANDBOXES } from './resources.ts';
import type { ControllerContext } from './context.ts';
import { blueprintOf } from './blueprint.ts';
import { isTrue } from './conditions.ts';
import {
  CREATED_BY_LABEL,
  LAUNCH_TYPE_LABEL,
  nameHash,
  READY,
  TEMPLATE_REF_ANNOTATION,
  TEMPLATE_REF_HASH_LABEL,
  WARM_POOL_LABEL,
} from './names.ts';
import type { Sandbox, SandboxTemplate, SandboxWarmPool } from './types.ts';

/** The pool's unclaimed Sandboxes, oldest first. */
export function poolSandboxes(ctx: ControllerContext, pool: SandboxWarmPool): Sandbox[] {
  const hash = nameHash(pool.metadata.name);
  return (ctx.store.list(SANDBOXES, pool.metadata.namespace) as Sandbox[]).filter(
    (s) =>
      s.metadata.labels?.[WARM_POOL_LABEL] === hash &&
      s.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid) &&
      !s.metadata.deletionTimestamp,
  );
}

export function reconcileWarmPool(ctx: ControllerContext, pool: SandboxWarmPool): void {
  const { namespace = 'default', name } = pool.metadata;
  const want = pool.spec.replicas ?? 1;
  const have = poolSandboxes(ctx, pool);
  const template = ctx.store.get(
    SANDBOX_TEMPLATES,
    namespace,
    pool.spec.sandboxTemplateRef.name,
  ) as SandboxTemplate | undefined;
  if (template) for (let i = have.length; i < want; i++) createWarmSandbox(ctx, pool, template);
  // Surplus goes newest first, keeping the ones most likely to be Ready.
  for (const extra of have.slice(want).reverse())
    ctx.deleteObject(SANDBOXES, namespace, extra.metadata.name);
  const current = poolSandboxes(ctx, pool);
  const status: SandboxWarmPool['status'] = {
    replicas: current.length,
    readyReplicas: current.filter((s) => isTrue(s.status?.conditions, READY)).length,
    selector: `${WARM_POOL_LABEL}=${nameHash(name)}`,
    observedGeneration: pool.metadata.generation ?? 1,
  };
  if (JSON.stringify(status) === JSON.stringify(pool.status)) return;
  ctx.store.mutate(SANDBOX_WARM_POOLS, namespace, name, (o) => (o.status = status));
}

function createWarmSandbox(
  ctx: ControllerContext,
  pool: SandboxWarmPool,
  template: SandboxTemplate,
): void {
  const { namespace = 'default', name, uid = '' } = pool.metadata;
  const hash = nameHash(name);
  const templateHash = nameHash(template.metadata.name);
  const podTemplate = structuredClone(template.spec.podTemplate);
  podTemplate.metadata = {
    ...podTemplate.metadata,
    labels: {
      ...podTemplate.metadata?.labels,
      [WARM_POOL_LABEL]: hash,
      [TEMPLATE_REF_HASH_LABEL]: templateHash,
    },
  };
  ctx.store.create(SANDBOXES, {
    apiVersion: 'agents.x-k8s.io/v1beta1',
    kind: 'Sandbox',
    metadata: {
      name: '',
      generateName: `${name}-`,
      namespace,
      labels: {
        [WARM_POOL_LABEL]: hash,
        [TEMPLATE_REF_HASH_LABEL]: templateHash,
        [LAUNCH_TYPE_LABEL]: 'warm',
        [CREATED_BY_LABEL]: 'controller',
      },
      annotations: { [TEMPLATE_REF_ANNOTATION]: template.metadata.name },
      ownerReferences: [
        {
          apiVersion: pool.apiVersion,
          kind: 'SandboxWarmPool',
          name,
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...blueprintOf(template), podTemplate },
  });
}
