/**
 * The core Sandbox controller: one pod per Sandbox, named as the Sandbox, made from
 * spec.podTemplate with the Sandbox's name-hash label and owned by the Sandbox; template label
 * changes (a claim's uid after adoption) are carried onto the running pod; the Sandbox's Ready
 * condition follows the pod as the real computeReadyCondition does.
 */
import type { Pod } from '../pod-types.ts';
import { PODS } from '../resources.ts';
import { withCondition } from './conditions.ts';
import type { ControllerContext } from './context.ts';
import { nameHash, READY, REASON, SANDBOX_NAME_HASH_LABEL } from './names.ts';
import { SANDBOXES } from './resources.ts';
import type { Condition, Sandbox } from './types.ts';

export function reconcileSandbox(ctx: ControllerContext, sandbox: Sandbox): void {
  const { namespace = 'default', name } = sandbox.metadata;
  let pod = ctx.store.get(PODS, namespace, name) as Pod | undefined;
  const owned = pod?.metadata.ownerReferences?.some((r) => r.uid === sandbox.metadata.uid);
  let refused: string[] = [];
  if (!pod) {
    const made = podFor(sandbox);
    // The apiserver would refuse the pod; the real controller reports its error on Ready.
    refused = PODS.validate(made);
    if (refused.length === 0) pod = ctx.store.create(PODS, made) as Pod;
  } else if (owned) syncPodLabels(ctx, sandbox, pod);
  const next: Sandbox['status'] = {
    ...sandbox.status,
    conditions: withCondition(
      sandbox.status?.conditions,
      refused.length
        ? {
            type: READY,
            status: 'False',
            reason: REASON.reconcilerError,
            message: `Error seen: Pod "${name}" is invalid: ${refused.join('; ')}`,
            observedGeneration: sandbox.metadata.generation ?? 1,
          }
        : readyCondition(sandbox, owned === false ? undefined : pod),
    ),
    selector: `${SANDBOX_NAME_HASH_LABEL}=${nameHash(name)}`,
    ...(pod?.status?.podIPs ? { podIPs: pod.status.podIPs.map((p) => p.ip) } : {}),
    ...(pod?.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
  };
  if (JSON.stringify(next) === JSON.stringify(sandbox.status)) return;
  ctx.store.mutate(SANDBOXES, namespace, name, (o) => (o.status = next));
}

function podFor(sandbox: Sandbox): Pod {
  const { namespace = 'default', name, uid = '' } = sandbox.metadata;
  const template = sandbox.spec.podTemplate;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: { ...template.metadata?.labels, [SANDBOX_NAME_HASH_LABEL]: nameHash(name) },
      ...(template.metadata?.annotations
        ? { annotations: { ...template.metadata.annotations } }
        : {}),
      ownerReferences: [
        {
          apiVersion: sandbox.apiVersion,
          kind: 'Sandbox',
          name,
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec),
  };
}

/** As updatePodMetadata: the pod carries the template's labels (so a claim's uid after adoption). */
function syncPodLabels(ctx: ControllerContext, sandbox: Sandbox, pod: Pod): void {
  const want = sandbox.spec.podTemplate.metadata?.labels ?? {};
  if (Object.entries(want).every(([k, v]) => pod.metadata.labels?.[k] === v)) return;
  ctx.store.mutate(PODS, pod.metadata.namespace ?? 'default', pod.metadata.name, (o) => {
    o.metadata.labels = { ...o.metadata.labels, ...want };
  });
}

function readyCondition(
  sandbox: Sandbox,
  pod: Pod | undefined,
): Omit<Condition, 'lastTransitionTime'> {
  const base = { type: READY, observedGeneration: sandbox.metadata.generation ?? 1 };
  const notReady = (reason: string, message: string) => ({
    ...base,
    status: 'False' as const,
    reason,
    message,
  });
  if (!pod) return notReady(REASON.dependenciesNotReady, 'Pod does not exist');
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Succeeded') return notReady(REASON.podSucceeded, 'Pod completed successfully');
  if (phase === 'Failed') return notReady(REASON.podFailed, 'Pod failed');
  if (phase !== 'Running')
    return notReady(REASON.dependenciesNotReady, `Pod exists with phase: ${phase}`);
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (!ready || pod.metadata.deletionTimestamp)
    return notReady(REASON.dependenciesNotReady, 'Pod is Running but not Ready');
  if (!pod.status?.podIPs?.length)
    return notReady(REASON.dependenciesNotReady, 'Pod is Ready but has no podIPs yet');
  return { ...base, status: 'True', reason: REASON.dependenciesReady, message: 'Pod is Ready' };
}
