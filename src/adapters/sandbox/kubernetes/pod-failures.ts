/**
 * Why an attempt's worker will never run or stopped, from its Job and pods as Kubernetes shows
 * them: a LaunchFailure a person can act on, or null while nothing is (yet) wrong. Pure, and
 * total: any object shape gives an answer, never a throw.
 *
 * What is a failure and what is only waiting:
 * - Failures at once: the image cannot be pulled or is not a valid name; the container cannot
 *   be created (a missing Secret or key); the container stopped with a non-zero exit; the pod was
 *   evicted, disrupted or deleted; the Job failed or passed its deadline; the Job was deleted.
 *   The kubelet would keep retrying an image pull or a missing Secret, but someone has to fix
 *   something first, and a `sandbox` failure is retried by Forge anyway when retries remain.
 * - Only waiting (see pod-waiting.ts, for `describe()`): an unschedulable pod. A cluster
 *   autoscaler adding a node shows exactly the same condition, so it is left to the remote
 *   sandbox's start timeout, whose message quotes the scheduler.
 *
 * Categories: `sandbox` for what someone must fix in the configuration or the cluster; an OOM
 * kill is `sandbox` too — the agent needed more memory than `resources.limits.memory`, and
 * running it again with the same limit would fail the same way, so the message says to raise it.
 * `interrupted` for what happened to the worker from outside (eviction, preemption, deletion, a
 * lost node, a crash). `max_duration` for the Job's deadline.
 */
import type { LaunchFailure } from '../remote/worker-launcher.ts';
import { CONTAINER } from './job-manifest.ts';
import { condition, count, field, list, nameOf, reasonAndMessage, text } from './object-fields.ts';

/** What the watches know of one attempt. */
export interface AttemptObjects {
  /** The Job as last seen; null when it has been deleted (or never seen). */
  job: unknown;
  /** Its pods as last seen. */
  pods: readonly unknown[];
  /** Pods that were deleted, as last seen before that. */
  deletedPods: readonly unknown[];
  /** The Job was seen and then deleted, not by Forge. */
  jobDeleted: boolean;
  namespace: string;
}

export function launchFailure(state: AttemptObjects): LaunchFailure | null {
  return (
    podsFailure(state) ??
    firstOf(state.deletedPods, (pod) => deletedPodFailure(pod, state.namespace)) ??
    jobFailure(state.job) ??
    (state.jobDeleted ? jobDeletedFailure(state.job) : null)
  );
}

/** The failures that say all there is to say: the Job's deadline, or what a pod shows. The
 *  others (a deletion, a Job failed for a reason its pod would explain) may be explained better
 *  by a change still on its way over the other watch. */
export function podsFailure(state: AttemptObjects): LaunchFailure | null {
  return (
    deadlineFailure(state.job) ?? firstOf(state.pods, (pod) => podFailure(pod, state.namespace))
  );
}

function firstOf(
  items: readonly unknown[],
  judge: (item: unknown) => LaunchFailure | null,
): LaunchFailure | null {
  for (const item of Array.isArray(items) ? items : []) {
    const found = judge(item);
    if (found) return found;
  }
  return null;
}

/** Failed (or about to: FailureTarget) conditions of a Job. */
function jobFailedCondition(job: unknown): unknown {
  return condition(job, 'Failed') ?? condition(job, 'FailureTarget');
}

function deadlineFailure(job: unknown): LaunchFailure | null {
  const failed = jobFailedCondition(job);
  if (text(failed, 'reason') !== 'DeadlineExceeded') return null;
  const seconds = count(job, 'spec', 'activeDeadlineSeconds');
  return {
    category: 'max_duration',
    message: `Kubernetes stopped the worker: Job ${nameOf(job)} ran past its activeDeadlineSeconds${seconds ? ` (${seconds}s)` : ''}, the attempt's max duration plus a margin; raise max_duration for jobs that need longer`,
  };
}

function jobFailure(job: unknown): LaunchFailure | null {
  const failed = jobFailedCondition(job);
  if (!failed) return null;
  return {
    category: 'interrupted',
    message: `Kubernetes Job ${nameOf(job)} failed (${reasonAndMessage(failed) || 'no reason given'}); see kubectl describe job ${nameOf(job)}`,
  };
}

function jobDeletedFailure(job: unknown): LaunchFailure {
  const name = job ? `Kubernetes Job ${nameOf(job)}` : "the worker's Kubernetes Job";
  return {
    category: 'interrupted',
    message: `${name} was deleted by someone other than Forge, which stopped the worker`,
  };
}

function podFailure(pod: unknown, namespace: string): LaunchFailure | null {
  const name = nameOf(pod);
  const reason = text(pod, 'status', 'reason');
  if (reason === 'Evicted')
    return {
      category: 'interrupted',
      message: `pod ${name} was evicted from node ${text(pod, 'spec', 'nodeName') ?? '(unknown)'}: ${text(pod, 'status', 'message') ?? 'no message'}; the node ran short of a resource, not the attempt's fault`,
    };
  if (reason === 'DeadlineExceeded')
    return {
      category: 'max_duration',
      message: `Kubernetes stopped pod ${name} at its deadline: ${text(pod, 'status', 'message') ?? 'no message'}`,
    };
  const disrupted = condition(pod, 'DisruptionTarget');
  if (disrupted)
    return {
      category: 'interrupted',
      message: `pod ${name} was stopped by Kubernetes (${reasonAndMessage(disrupted) || 'disrupted'})`,
    };
  const container = workerContainer(pod);
  if (container) {
    const found = waitingFailure(pod, container, namespace) ?? terminatedFailure(pod, container);
    if (found) return found;
  }
  if (text(pod, 'status', 'phase') === 'Failed')
    return {
      category: 'interrupted',
      message: `pod ${name} failed (${reasonAndMessage(field(pod, 'status')) || 'no reason given'}); see kubectl describe pod ${name}`,
    };
  return null;
}

/** The worker container's status (init containers' first: one failing there blocks it). */
function workerContainer(pod: unknown): unknown {
  const statuses = [
    ...list(pod, 'status', 'initContainerStatuses'),
    ...list(pod, 'status', 'containerStatuses'),
  ];
  return (
    statuses.find((s) => text(s, 'name') === CONTAINER && !isFine(s)) ??
    statuses.find((s) => !isFine(s))
  );
}

function isFine(status: unknown): boolean {
  return !field(status, 'state', 'waiting') && !field(status, 'state', 'terminated');
}

function waitingFailure(pod: unknown, status: unknown, namespace: string): LaunchFailure | null {
  const reason = text(status, 'state', 'waiting', 'reason');
  const message = text(status, 'state', 'waiting', 'message') ?? '';
  const image = text(status, 'image') ?? imageOf(pod);
  switch (reason) {
    case 'InvalidImageName':
      return sandbox(
        `the worker image "${image}" is not a valid image reference (${message || reason}); fix sandbox.image`,
      );
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'ErrImageNeverPull':
      return sandbox(
        `the worker image "${image}" cannot be pulled (${reason}${message ? `: ${message}` : ''}); check the name and tag in sandbox.image, and that sandbox.image_pull_secrets names a Secret with credentials for its registry`,
      );
    case 'CreateContainerConfigError':
      return sandbox(configErrorMessage(message, namespace));
    case 'CreateContainerError':
    case 'RunContainerError':
    case 'PreCreateHookError':
    case 'PreStartHookError':
      return sandbox(
        `the worker container in pod ${nameOf(pod)} could not start (${reason}${message ? `: ${message}` : ''}); check sandbox.image and the cluster's runtime (sandbox.runtime_class)`,
      );
    default:
      return null;
  }
}

/** The kubelet's words for a missing Secret or key, turned into what to create. */
function configErrorMessage(message: string, namespace: string): string {
  const missingSecret = /secrets? "([^"]+)" not found/i.exec(message);
  if (missingSecret)
    return `the Secret "${missingSecret[1]}" does not exist in namespace ${namespace}; create it (kubectl -n ${namespace} create secret generic ${missingSecret[1]} --from-literal=<key>=<value>) or fix sandbox.secrets`;
  const missingKey = /couldn't find key (\S+) in Secret (?:[^/\s]+\/)?(\S+)/i.exec(message);
  if (missingKey)
    return `the Secret "${missingKey[2]}" in namespace ${namespace} has no key "${missingKey[1]}"; add it, or fix the key in sandbox.secrets`;
  return `the worker container cannot be configured (CreateContainerConfigError${message ? `: ${message}` : ''}); check sandbox.secrets and sandbox.service_account`;
}

function terminatedFailure(pod: unknown, status: unknown): LaunchFailure | null {
  const terminated = field(status, 'state', 'terminated');
  if (!terminated) return null;
  const reason = text(terminated, 'reason');
  const exitCode = count(terminated, 'exitCode');
  if (reason === 'OOMKilled')
    return sandbox(
      `the worker in pod ${nameOf(pod)} ran out of memory (OOMKilled at its limit of ${memoryLimit(pod) ?? 'no set limit'}); raise sandbox.resources.limits.memory`,
    );
  if (exitCode === 0 && reason !== 'ContainerStatusUnknown') return null;
  const signal = count(terminated, 'signal');
  const detail = [
    reason,
    exitCode !== undefined ? `exit code ${exitCode}` : null,
    signal ? `signal ${signal}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const said = text(terminated, 'message')?.trim();
  return {
    category: 'interrupted',
    message: `the worker in pod ${nameOf(pod)} stopped (${detail || 'no reason given'})${said ? `: ${said}` : ''}; see kubectl logs ${nameOf(pod)}`,
  };
}

function deletedPodFailure(pod: unknown, namespace: string): LaunchFailure | null {
  if (text(pod, 'status', 'phase') === 'Succeeded') return null;
  const found = podFailure(pod, namespace);
  if (found) return found;
  return {
    category: 'interrupted',
    message: `pod ${nameOf(pod)} was deleted before the worker finished (by someone other than Forge, or with its node)`,
  };
}

function sandbox(message: string): LaunchFailure {
  return { category: 'sandbox', message };
}

function imageOf(pod: unknown): string {
  const container = list(pod, 'spec', 'containers').find((c) => text(c, 'name') === CONTAINER);
  return text(container, 'image') ?? '(unknown image)';
}

function memoryLimit(pod: unknown): string | undefined {
  const container = list(pod, 'spec', 'containers').find((c) => text(c, 'name') === CONTAINER);
  const limit = field(container, 'resources', 'limits', 'memory');
  return typeof limit === 'string' || typeof limit === 'number' ? String(limit) : undefined;
}
