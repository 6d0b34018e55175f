/**
 * The words that go with a worker that never called home or failed: what its pod waits for, the
 * Job controller's complaint when it could not make a pod at all (a quota, a missing service
 * account), and the worker's last lines of output (which name the address it tried to reach).
 * Best effort: a read that fails leaves the words out. The attempt's token is cut from anything
 * the worker printed.
 */
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import type { LaunchFailure } from '../remote/worker-launcher.ts';
import { CONTAINER, jobName } from './job-manifest.ts';
import type { KubeClients } from './kube-client.ts';
import { field, list, nameOf, text, time } from './object-fields.ts';
import type { AttemptObjects } from './pod-failures.ts';
import { schedulingHint, waitingReason } from './pod-waiting.ts';

const TAIL_LINES = 5;
const MAX_TAIL_CHARS = 600;

export async function describeWorker(
  clients: KubeClients,
  namespace: string,
  objects: AttemptObjects,
  labels: SandboxLabels,
  token: string | null,
): Promise<string | null> {
  if (!objects.job && objects.pods.length === 0)
    return `Job ${jobName(labels)} no longer exists in namespace ${namespace}`;
  const said = waitingReason(objects.job, objects.pods);
  if (objects.pods.length === 0) {
    const complaint = await jobComplaint(clients, namespace, jobName(labels));
    return complaint ? `${said}; ${complaint}` : said;
  }
  const started = objects.pods.find((pod) => workerState(pod) !== 'waiting');
  const tail = started ? await logTail(clients, namespace, started, token) : null;
  return tail ? `${said}; the worker's last lines: ${tail}` : said;
}

/** Adds the worker's last lines to a failure of a worker that had started. */
export async function withLogTail(
  clients: KubeClients,
  namespace: string,
  failure: LaunchFailure,
  objects: AttemptObjects,
  token: string | null,
): Promise<LaunchFailure> {
  const pod = [...objects.pods, ...objects.deletedPods].find(
    (p) => workerState(p) === 'terminated',
  );
  if (!pod) return failure;
  const tail = await logTail(clients, namespace, pod, token);
  return tail ? { ...failure, message: `${failure.message}; its last lines: ${tail}` } : failure;
}

function workerState(pod: unknown): 'waiting' | 'running' | 'terminated' {
  const status = list(pod, 'status', 'containerStatuses').find(
    (s) => text(s, 'name') === CONTAINER,
  );
  if (field(status, 'state', 'terminated')) return 'terminated';
  if (field(status, 'state', 'running')) return 'running';
  return 'waiting';
}

async function logTail(
  clients: KubeClients,
  namespace: string,
  pod: unknown,
  token: string | null,
): Promise<string | null> {
  try {
    const log = await clients.core.readNamespacedPodLog({
      name: nameOf(pod),
      namespace,
      container: CONTAINER,
      tailLines: TAIL_LINES,
    });
    let lines = String(log)
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' | ');
    if (token) lines = lines.split(token).join('[token]');
    if (!lines) return null;
    return lines.length > MAX_TAIL_CHARS ? `…${lines.slice(-MAX_TAIL_CHARS)}` : lines;
  } catch {
    return null;
  }
}

/** The newest warning event about the Job (FailedCreate: forbidden by a quota, no such service
 *  account, …), with what to change. */
async function jobComplaint(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<string | null> {
  try {
    const events = await clients.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name}`,
    });
    const warnings = events.items
      .filter((e) => e.type === 'Warning' && e.involvedObject.kind === 'Job')
      .sort((a, b) => eventTime(b) - eventTime(a));
    const latest = warnings[0];
    if (!latest?.message) return null;
    const hint = /quota/i.test(latest.message) ? `; ${schedulingHint(latest.message)}` : '';
    return `Job ${name}: ${latest.reason ?? 'Warning'}: ${latest.message}${hint}`;
  } catch {
    return null;
  }
}

function eventTime(event: unknown): number {
  return (
    time(event, 'lastTimestamp') ??
    time(event, 'eventTime') ??
    time(event, 'metadata', 'creationTimestamp') ??
    0
  );
}
