/**
 * What an attempt's worker is waiting for, in one line for `describe()`: the message the remote
 * sandbox gives when the worker never called home in time. Pure and total, like pod-failures.ts.
 */
import { CONTAINER } from './job-manifest.ts';
import {
  condition,
  count,
  field,
  list,
  nameOf,
  reasonAndMessage,
  text,
  time,
} from './object-fields.ts';

/** The newest pod, or the Job's own state when it has none; null when there is nothing. */
export function waitingReason(job: unknown, pods: readonly unknown[]): string | null {
  const pod = newest(pods);
  if (pod) return podState(pod);
  if (!job) return null;
  if (field(job, 'spec', 'suspend') === true)
    return `Job ${nameOf(job)} is still suspended: Forge did not get to resume it`;
  return `Job ${nameOf(job)} has no pod yet`;
}

function newest(pods: readonly unknown[]): unknown {
  let found: unknown = undefined;
  let foundAt = -Infinity;
  for (const pod of Array.isArray(pods) ? pods : []) {
    const at = time(pod, 'metadata', 'creationTimestamp') ?? 0;
    if (found === undefined || at >= foundAt) {
      found = pod;
      foundAt = at;
    }
  }
  return found;
}

function podState(pod: unknown): string {
  const phase = text(pod, 'status', 'phase') ?? 'Pending';
  const head = `pod ${nameOf(pod)} ${phase}`;
  const unscheduled = condition(pod, 'PodScheduled', 'False');
  if (unscheduled) {
    const said = text(unscheduled, 'message') ?? text(unscheduled, 'reason') ?? 'not scheduled';
    return `${head}: ${said}; ${schedulingHint(said)}`;
  }
  const status = list(pod, 'status', 'containerStatuses').find(
    (s) => text(s, 'name') === CONTAINER,
  );
  const waiting = field(status, 'state', 'waiting');
  if (waiting) return `${head}: container ${CONTAINER} waiting (${reasonAndMessage(waiting)})`;
  const terminated = field(status, 'state', 'terminated');
  if (terminated)
    return `${head}: container ${CONTAINER} terminated (${reasonAndMessage(terminated) || `exit code ${count(terminated, 'exitCode') ?? '?'}`})`;
  const node = text(pod, 'spec', 'nodeName');
  return node ? `${head} on node ${node}` : head;
}

/** What to change, from the scheduler's (or the quota admission's) words. */
export function schedulingHint(message: string): string {
  const hints: string[] = [];
  if (/insufficient (cpu|memory|ephemeral-storage)|too many pods/i.test(message))
    hints.push(
      'lower sandbox.resources.requests or add nodes with room (a cluster autoscaler may be adding one)',
    );
  if (/untolerated taint|had taint/i.test(message))
    hints.push('add sandbox.tolerations for those taints, or pick other nodes');
  if (/node affinity|node selector|nodeselector/i.test(message))
    hints.push("check sandbox.node_selector against the nodes' labels");
  if (/exceeded quota|quota/i.test(message))
    hints.push("raise the namespace's ResourceQuota or lower sandbox.resources");
  if (/persistentvolumeclaim|volume/i.test(message)) hints.push('check the volumes');
  if (hints.length === 0)
    hints.push(
      "check sandbox.resources.requests, node_selector and tolerations against the cluster's nodes",
    );
  return hints.join('; ');
}
