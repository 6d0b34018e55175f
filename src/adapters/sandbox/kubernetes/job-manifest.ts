/**
 * The Kubernetes objects of one attempt: a batch/v1 Job running `forge worker`, and a Secret
 * holding only that attempt's token. Pure: (config, assignment) in, manifests out.
 *
 * Order of creation (kube-launcher.ts): the Job is created suspended, so no pod exists yet; then
 * the Secret, owned by the Job from its first moment (ownerReferences need the Job's uid); then
 * the Job is resumed. No token ever sits in the cluster without an owner whose deletion removes
 * it, and no pod ever starts before its token Secret exists (a pod that did would fail with
 * CreateContainerConfigError). A crash between the steps leaves at worst a suspended Job with
 * no pod, which `held()` finds for collection.
 */
import { createHash } from 'node:crypto';
import type { V1EnvVar, V1Job, V1PodSpec, V1Secret } from '@kubernetes/client-node';
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import type { WorkerAssignment } from '../remote/worker-launcher.ts';

/** The sandbox keys a manifest is made from (`sandbox:` with kind kubernetes). */
export interface JobManifestConfig {
  namespace: string;
  image: string;
  service_account?: string | undefined;
  image_pull_secrets: string[];
  node_selector: Record<string, string>;
  tolerations: Array<{
    key?: string | undefined;
    operator?: string | undefined;
    value?: string | undefined;
    effect?: string | undefined;
    tolerationSeconds?: number | undefined;
  }>;
  runtime_class?: string | undefined;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  workspace_size: string;
  secrets: Record<string, { secret: string; key: string }>;
}

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const COMPONENT = 'app.kubernetes.io/component';
export const JOB_ID_LABEL = 'forge.dev/job-id';
export const ATTEMPT_LABEL = 'forge.dev/attempt';
/** Selects everything Forge made for workers: what the watches and `held()` list. */
export const WORKER_SELECTOR = `${MANAGED_BY}=forge,${COMPONENT}=forge-worker`;

export const CONTAINER = 'forge-worker';
export const TOKEN_KEY = 'token';
/** The worker runs as this uid/gid, which owns the emptyDirs through fsGroup. */
const WORKER_UID = 10001;
/** The platform's hard kill comes this long after the attempt's own max duration, so Forge's
 *  cancellation (which keeps the output and uploads the work) always acts first. */
export const DEADLINE_MARGIN_SECONDS = 60;
/** A finished Job is normally deleted by Forge at once; this is the safety net. */
export const TTL_AFTER_FINISHED_SECONDS = 3600;
const TMP_SIZE = '1Gi';

/** `forge-<job id>-<attempt>`: a DNS-1123 label (lower case, ≤ 63). ULIDs are upper case. A
 *  name that would not fit is cut and given a hash of the whole, so two never collide. */
export function jobName(labels: SandboxLabels): string {
  const base = `forge-${labels.jobId}-${labels.attempt}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/-$/, '');
  if (base.length <= 63) return base;
  const hash = createHash('sha256').update(`${labels.jobId}/${labels.attempt}`).digest('hex');
  return `${base.slice(0, 52).replace(/-+$/, '')}-${hash.slice(0, 10)}`;
}

export function tokenSecretName(labels: SandboxLabels): string {
  return `${jobName(labels)}-token`;
}

/** A label value: ≤ 63 of [A-Za-z0-9_.-], alphanumeric at both ends. Job ids (ULIDs) already
 *  are; anything else is cleaned so the API accepts it (and then matched by name, not label). */
function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

export function attemptLabels(labels: SandboxLabels): Record<string, string> {
  return {
    [MANAGED_BY]: 'forge',
    [COMPONENT]: 'forge-worker',
    [JOB_ID_LABEL]: labelValue(labels.jobId),
    [ATTEMPT_LABEL]: String(labels.attempt),
  };
}

/** The attempt an object's labels name, or null when it is not a Forge worker's. */
export function labelsOf(
  metadata: { labels?: Record<string, string> } | undefined,
): SandboxLabels | null {
  const labels = metadata?.labels ?? {};
  if (labels[MANAGED_BY] !== 'forge' || labels[COMPONENT] !== 'forge-worker') return null;
  const jobId = labels[JOB_ID_LABEL];
  const attempt = Number(labels[ATTEMPT_LABEL]);
  if (!jobId || !Number.isInteger(attempt) || attempt < 1) return null;
  return { jobId, attempt };
}

/** `k8s:<namespace>/<job name>`: what the attempt records as its sandbox ref. */
export function workerRef(namespace: string, labels: SandboxLabels): string {
  return `k8s:${namespace}/${jobName(labels)}`;
}

export function parseWorkerRef(ref: string): { namespace: string; name: string } | null {
  const match = /^k8s:([a-z0-9-]{1,63})\/([a-z0-9-]{1,63})$/.exec(ref);
  return match ? { namespace: match[1]!, name: match[2]! } : null;
}

/** The Secret holding the attempt's token; `owner` is the created Job (uid from the API). */
export function tokenSecretManifest(
  config: Pick<JobManifestConfig, 'namespace'>,
  assignment: Pick<WorkerAssignment, 'labels' | 'token'>,
  owner: { name: string; uid: string },
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: tokenSecretName(assignment.labels),
      namespace: config.namespace,
      labels: attemptLabels(assignment.labels),
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: owner.name, uid: owner.uid, controller: true },
      ],
    },
    type: 'Opaque',
    data: { [TOKEN_KEY]: Buffer.from(assignment.token).toString('base64') },
  };
}

/** The attempt's Job, created suspended (see the order of creation above). */
export function jobManifest(
  config: JobManifestConfig,
  assignment: WorkerAssignment,
  deadlineMarginSeconds = DEADLINE_MARGIN_SECONDS,
): V1Job {
  const labels = attemptLabels(assignment.labels);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(assignment.labels), namespace: config.namespace, labels },
    spec: {
      suspend: true,
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: Math.ceil(assignment.maxDurationMs / 1000) + deadlineMarginSeconds,
      ttlSecondsAfterFinished: TTL_AFTER_FINISHED_SECONDS,
      template: {
        metadata: { labels },
        spec: podSpec(config, assignment),
      },
    },
  };
}

/** The sandbox's pod settings with the job's profile's (`assignment.pod`) over them: each key the
 *  profile gives replaces the sandbox's, resources by resource name. */
export function placement(config: JobManifestConfig, assignment: WorkerAssignment) {
  const pod = assignment.pod ?? {};
  return {
    service_account: pod.service_account ?? config.service_account,
    runtime_class: pod.runtime_class ?? config.runtime_class,
    image_pull_secrets: pod.image_pull_secrets ?? config.image_pull_secrets,
    node_selector: pod.node_selector ?? config.node_selector,
    tolerations: pod.tolerations ?? config.tolerations,
    resources: {
      requests: { ...config.resources.requests, ...pod.resources?.requests },
      limits: { ...config.resources.limits, ...pod.resources?.limits },
    },
  };
}

function podSpec(base: JobManifestConfig, assignment: WorkerAssignment): V1PodSpec {
  const config = { ...base, ...placement(base, assignment) };
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    ...(config.service_account ? { serviceAccountName: config.service_account } : {}),
    ...(config.runtime_class ? { runtimeClassName: config.runtime_class } : {}),
    ...(config.image_pull_secrets.length
      ? { imagePullSecrets: config.image_pull_secrets.map((name) => ({ name })) }
      : {}),
    ...(Object.keys(config.node_selector).length ? { nodeSelector: config.node_selector } : {}),
    ...(config.tolerations.length ? { tolerations: config.tolerations } : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: WORKER_UID,
      runAsGroup: WORKER_UID,
      fsGroup: WORKER_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: CONTAINER,
        image: config.image,
        command: ['forge', 'worker'],
        args: ['--url', assignment.url, '--dir', '/forge'],
        env: workerEnv(config, assignment.labels),
        resources: { requests: config.resources.requests, limits: config.resources.limits },
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
        },
        volumeMounts: [
          { name: 'forge', mountPath: '/forge' },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    ],
    volumes: [
      { name: 'forge', emptyDir: { sizeLimit: config.workspace_size } },
      { name: 'tmp', emptyDir: { sizeLimit: TMP_SIZE } },
    ],
  };
}

/** Secrets by reference only: no value is ever written into the Job. */
function workerEnv(config: JobManifestConfig, labels: SandboxLabels): V1EnvVar[] {
  const fromSecret = (name: string, secret: string, key: string): V1EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });
  return [
    fromSecret('FORGE_WORKER_TOKEN', tokenSecretName(labels), TOKEN_KEY),
    ...Object.entries(config.secrets).map(([name, ref]) => fromSecret(name, ref.secret, ref.key)),
    { name: 'HOME', value: '/forge/home' },
    { name: 'TMPDIR', value: '/tmp' },
  ];
}
