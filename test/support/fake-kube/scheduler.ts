/**
 * The scheduler of a one-node cluster: a pod fits when its requests (as the real scheduler sums
 * them: containers added, init containers' maximum) fit in what running pods leave of the node's
 * capacity, its nodeSelector matches the node's labels, it tolerates the node's taints, and the
 * node is schedulable. The
 * messages are the scheduler's FailedScheduling wording.
 */
import type { Pod } from './pod-types.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === '' || t.effect === taint.effect) &&
      (t.operator === 'Exists'
        ? t.key === undefined || t.key === '' || t.key === taint.key
        : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
  );
}

export interface NodeShape {
  capacity: { cpu: number; memory: number };
  labels: Record<string, string>;
  taints: Taint[];
  schedulable: boolean;
}

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A quantity ("500m", "2Gi", "1e3", 3) in base units (cores, bytes). */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(
    q,
  );
  if (!m)
    throw new Error(
      `not a Kubernetes quantity: ${JSON.stringify(q)} (write e.g. "512Mi", "2", "500m")`,
    );
  const [, number = '0', suffix = ''] = m;
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : (SUFFIX[suffix] ?? 1);
  return Number(number) * factor;
}

export function podRequests(pod: Pod): { cpu: number; memory: number } {
  const of = (c: Pod['spec']['containers'][number], r: 'cpu' | 'memory'): number => {
    const v = c.resources?.requests?.[r] ?? c.resources?.limits?.[r];
    return v === undefined ? 0 : parseQuantity(v);
  };
  const total = { cpu: 0, memory: 0 };
  for (const r of ['cpu', 'memory'] as const) {
    const sum = pod.spec.containers.reduce((n, c) => n + of(c, r), 0);
    const init = Math.max(0, ...(pod.spec.initContainers ?? []).map((c) => of(c, r)));
    total[r] = Math.max(sum, init);
  }
  return total;
}

const NO_PREEMPTION =
  'preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.';

/** Why `pod` cannot be placed next to `running` pods, or null when it fits. */
export function unschedulableReason(pod: Pod, running: Pod[], node: NodeShape): string | null {
  if (!node.schedulable)
    return `0/1 nodes are available: 1 node(s) were unschedulable. ${NO_PREEMPTION}`;
  const selector = pod.spec.nodeSelector ?? {};
  if (Object.entries(selector).some(([k, v]) => node.labels[k] !== v)) {
    return `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. ${NO_PREEMPTION}`;
  }
  const tolerations = (pod.spec.tolerations ?? []) as Toleration[];
  const untolerated = node.taints.filter(
    (t) => t.effect !== 'PreferNoSchedule' && !tolerates(tolerations, t),
  );
  if (untolerated.length > 0) {
    const shown = untolerated.map((t) => `{${t.key}: ${t.value ?? ''}}`).join(', ');
    return `0/1 nodes are available: 1 node(s) had untolerated taint ${shown}. ${NO_PREEMPTION}`;
  }
  const want = podRequests(pod);
  const used = running
    .map(podRequests)
    .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), {
      cpu: 0,
      memory: 0,
    });
  const short = (['cpu', 'memory'] as const).filter(
    (r) => used[r] + want[r] > node.capacity[r] + 1e-9,
  );
  if (short.length === 0) return null;
  return `0/1 nodes are available: ${short.map((r) => `1 Insufficient ${r}`).join(', ')}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`;
}
