/** The apiserver's defaulting for the kinds Forge creates, so responses look like a real cluster's. */
import type { Container, Job, Pod, PodSpec } from './pod-types.ts';
import type { KubeObject } from './resources.ts';

export function defaultPod(obj: KubeObject): void {
  const pod = obj as Pod;
  defaultPodSpec(pod.spec, 'Always');
  pod.status = { phase: 'Pending', qosClass: qosClass(pod.spec) };
}

export function defaultPodSpec(spec: PodSpec, restartPolicy: string): void {
  spec.restartPolicy ??= restartPolicy;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.serviceAccountName ??= 'default';
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) defaultContainer(c);
}

function defaultContainer(c: Container): void {
  const image = c.image ?? '';
  c.imagePullPolicy ??=
    image.endsWith(':latest') || !/:[^/]+$/.test(image) ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  // Requests default to limits, as the apiserver does.
  if (c.resources.limits) c.resources.requests = { ...c.resources.limits, ...c.resources.requests };
}

function qosClass(spec: PodSpec): string {
  const all = spec.containers.map((c) => c.resources ?? {});
  if (all.every((r) => !r.requests && !r.limits)) return 'BestEffort';
  const guaranteed = all.every(
    (r) =>
      r.limits?.cpu !== undefined &&
      r.limits.memory !== undefined &&
      r.requests?.cpu === r.limits.cpu &&
      r.requests?.memory === r.limits.memory,
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Job defaults, including the selector and template labels that tie the Job to its pods. */
export function defaultJob(obj: KubeObject): void {
  const job = obj as Job;
  const uid = job.metadata.uid ?? '';
  const spec = job.spec;
  spec.backoffLimit ??= 6;
  spec.completions ??= 1;
  spec.parallelism ??= 1;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const meta = (spec.template.metadata ??= {});
  meta.labels = {
    ...meta.labels,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': job.metadata.name,
    'controller-uid': uid,
    'job-name': job.metadata.name,
  };
  defaultPodSpec(spec.template.spec, 'Never');
  job.status = {};
}

/** stringData is write-only: merged into data (base64) on every write; type defaults to Opaque. */
export function secretStringData(obj: KubeObject): void {
  obj.type ??= 'Opaque';
  const stringData = obj.stringData as Record<string, string> | undefined;
  if (stringData) {
    const data = (obj.data ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v).toString('base64');
    obj.data = data;
    delete obj.stringData;
  }
}
