import { describe, expect, it } from 'vitest';
import { validateKubeObject } from '../../../../test/support/kube-schema.ts';
import {
  attemptLabels,
  jobManifest,
  jobName,
  labelsOf,
  parseWorkerRef,
  tokenSecretManifest,
  tokenSecretName,
  workerRef,
  type JobManifestConfig,
} from './job-manifest.ts';

const config: JobManifestConfig = {
  namespace: 'forge-workers',
  image: 'ghcr.io/forge-dev/forge-worker:0.1.0',
  service_account: 'forge-worker',
  image_pull_secrets: ['regcred'],
  node_selector: { pool: 'agents' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' }],
  runtime_class: 'gvisor',
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  workspace_size: '10Gi',
  secrets: { ANTHROPIC_API_KEY: { secret: 'forge-model-keys', key: 'anthropic' } },
};
const labels = { jobId: '01JD8X3Y4Z5A6B7C8D9E0F1G2H', attempt: 2 };
const token = 'ZmFrZS10b2tlbg.0123456789abcdef';
const assignment = { labels, url: 'http://10.0.0.5:7700', token, maxDurationMs: 2 * 3_600_000 };

describe('jobName', () => {
  it('is the lower-cased job id and attempt, a DNS-1123 label', () => {
    expect(jobName(labels)).toBe('forge-01jd8x3y4z5a6b7c8d9e0f1g2h-2');
  });

  it('stays a DNS-1123 label of at most 63 characters for any id, without collisions', () => {
    const long = { jobId: 'X'.repeat(80), attempt: 12 };
    const other = { jobId: 'X'.repeat(81), attempt: 12 };
    for (const l of [long, other, { jobId: 'a_b.C/d', attempt: 1 }]) {
      expect(jobName(l)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(jobName(l).length).toBeLessThanOrEqual(63);
    }
    expect(jobName(long)).not.toBe(jobName(other));
  });
});

describe('jobManifest', () => {
  const job = jobManifest(config, assignment);
  const spec = job.spec!;
  const pod = spec.template.spec!;
  const container = pod.containers[0]!;

  it('is a valid batch/v1 Job by the published schema, strictly', () => {
    expect(validateKubeObject(job)).toEqual([]);
  });

  it('names and labels the Job, and its pods, for the attempt', () => {
    expect(job.metadata).toMatchObject({ name: jobName(labels), namespace: 'forge-workers' });
    const expected = {
      'app.kubernetes.io/managed-by': 'forge',
      'app.kubernetes.io/component': 'forge-worker',
      'forge.dev/job-id': labels.jobId,
      'forge.dev/attempt': '2',
    };
    expect(job.metadata!.labels).toEqual(expected);
    expect(spec.template.metadata!.labels).toEqual(expected);
    expect(labelsOf(spec.template.metadata)).toEqual(labels);
  });

  it('runs once, never restarts, and is killed a minute after the max duration', () => {
    expect(spec).toMatchObject({
      suspend: true,
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: 7200 + 60,
      ttlSecondsAfterFinished: 3600,
    });
    expect(pod.restartPolicy).toBe('Never');
  });

  it('gives the pod no API token, no service links, and a non-root seccomp-confined user', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
  });

  it('runs forge worker against worker_url with its workspace on a sized emptyDir', () => {
    expect(container).toMatchObject({
      name: 'forge-worker',
      image: config.image,
      command: ['forge', 'worker'],
      args: ['--url', 'http://10.0.0.5:7700', '--dir', '/forge'],
      resources: config.resources,
      volumeMounts: [
        { name: 'forge', mountPath: '/forge' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });
    expect(pod.volumes).toEqual([
      { name: 'forge', emptyDir: { sizeLimit: '10Gi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
    ]);
  });

  it('passes secrets by reference only: the token never appears in the Job', () => {
    expect(JSON.stringify(job)).not.toContain(token);
    expect(container.env).toEqual([
      {
        name: 'FORGE_WORKER_TOKEN',
        valueFrom: { secretKeyRef: { name: tokenSecretName(labels), key: 'token' } },
      },
      {
        name: 'ANTHROPIC_API_KEY',
        valueFrom: { secretKeyRef: { name: 'forge-model-keys', key: 'anthropic' } },
      },
      { name: 'HOME', value: '/forge/home' },
      { name: 'TMPDIR', value: '/tmp' },
    ]);
  });

  it('places the pod as configured', () => {
    expect(pod).toMatchObject({
      serviceAccountName: 'forge-worker',
      runtimeClassName: 'gvisor',
      imagePullSecrets: [{ name: 'regcred' }],
      nodeSelector: { pool: 'agents' },
      tolerations: config.tolerations,
    });
  });

  it("takes the job's profile's placement over the sandbox's, resources by resource name", () => {
    const job = jobManifest(config, {
      ...assignment,
      pod: {
        node_selector: { pool: 'gpu' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        runtime_class: 'kata',
        resources: { limits: { memory: '16Gi', 'nvidia.com/gpu': '1' } },
      },
    });
    expect(validateKubeObject(job)).toEqual([]);
    const spec = job.spec!.template.spec!;
    expect(spec).toMatchObject({
      serviceAccountName: 'forge-worker', // not overridden: the sandbox's
      imagePullSecrets: [{ name: 'regcred' }],
      runtimeClassName: 'kata',
      nodeSelector: { pool: 'gpu' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    });
    expect(spec.containers[0]!.resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '2', memory: '16Gi', 'nvidia.com/gpu': '1' },
    });
  });

  it('leaves out the placement keys that are not configured', () => {
    const bare = jobManifest(
      {
        ...config,
        service_account: undefined,
        runtime_class: undefined,
        image_pull_secrets: [],
        node_selector: {},
        tolerations: [],
      },
      assignment,
    ).spec!.template.spec!;
    for (const key of [
      'serviceAccountName',
      'runtimeClassName',
      'imagePullSecrets',
      'nodeSelector',
      'tolerations',
    ])
      expect(bare).not.toHaveProperty(key);
  });
});

describe('tokenSecretManifest', () => {
  it('holds only the token, is labelled for the attempt, and is owned by the Job', () => {
    const secret = tokenSecretManifest(config, assignment, { name: jobName(labels), uid: 'u-1' });
    expect(validateKubeObject(secret)).toEqual([]);
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: tokenSecretName(labels),
        namespace: 'forge-workers',
        labels: attemptLabels(labels),
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: jobName(labels),
            uid: 'u-1',
            controller: true,
          },
        ],
      },
      data: { token: Buffer.from(token).toString('base64') },
    });
  });
});

describe('worker refs and labels', () => {
  it('round-trips a ref', () => {
    expect(parseWorkerRef(workerRef('forge-workers', labels))).toEqual({
      namespace: 'forge-workers',
      name: jobName(labels),
    });
    expect(parseWorkerRef('pid:123')).toBeNull();
  });

  it('reads an attempt only from objects Forge labelled as workers', () => {
    expect(labelsOf({ labels: attemptLabels(labels) })).toEqual(labels);
    expect(
      labelsOf({ labels: { ...attemptLabels(labels), 'app.kubernetes.io/managed-by': 'helm' } }),
    ).toBeNull();
    expect(labelsOf({ labels: { ...attemptLabels(labels), 'forge.dev/attempt': 'x' } })).toBeNull();
    expect(labelsOf(undefined)).toBeNull();
  });
});
