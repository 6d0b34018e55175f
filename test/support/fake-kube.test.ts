import {
  ApiException,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1Container,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startFakeKube,
  type FakeKube,
  type FakeKubeOptions,
  type Job,
  type Pod,
} from './fake-kube/index.ts';
import { validateKubeObject } from './kube-schema.ts';

const NS = 'forge';
const TOKEN = 'fake-token';
const IMAGE = 'forge-test:1';
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const FORGE_BIN = fileURLToPath(new URL('../../bin/forge.js', import.meta.url));

let fake: FakeKube | undefined;
afterEach(async () => {
  if (fake) expect(fake.invalid).toEqual([]);
  // What the fake itself writes must fit the schema as well as what Forge sends.
  for (const obj of fake ? [...fake.pods(), ...fake.jobs(), ...fake.events()] : []) {
    expect(validateKubeObject(obj), `${obj.kind} ${obj.metadata.name}`).toEqual([]);
  }
  await fake?.close();
  fake = undefined;
});

async function start(opts: FakeKubeOptions = {}) {
  fake = await startFakeKube({
    images: { [IMAGE]: { env: { PATH }, bin: { forge: FORGE_BIN } } },
    token: TOKEN,
    terminationGracePeriodSeconds: 2,
    ...opts,
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
    users: [{ name: 'forge', token: TOKEN }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'forge', namespace: NS }],
    currentContext: 'fake',
  });
  return { fake, kc, batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api) };
}

function job(
  name: string,
  script: string,
  container: Partial<V1Container> = {},
  spec: Partial<NonNullable<V1Job['spec']>> = {},
): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { app: 'forge' } },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: {
        metadata: { labels: { app: 'forge', 'forge.dev/job': name } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { name: 'main', image: IMAGE, command: ['node', '-e', script], ...container },
          ],
          ...spec.template?.spec,
        },
      },
    },
  };
}

const jobOf = (f: FakeKube, name: string): Job | undefined =>
  f.jobs(NS).find((j) => j.metadata.name === name);
const podOf = (f: FakeKube, jobName: string): Pod | undefined =>
  f.pods(NS).find((p) => p.metadata.labels?.['job-name'] === jobName);
const condition = (j: Job | undefined, type: string) =>
  j?.status?.conditions?.find((c) => c.type === type && c.status === 'True');
const waiting = (p: Pod | undefined) => p?.status?.containerStatuses?.[0]?.state.waiting;
const terminated = (p: Pod | undefined) => p?.status?.containerStatuses?.[0]?.state.terminated;

async function apiError(
  p: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) {
      const body =
        typeof err.body === 'string'
          ? (JSON.parse(err.body) as Record<string, unknown>)
          : (err.body as Record<string, unknown>);
      return { code: err.code, body };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('fake Kubernetes: Jobs run as local processes', () => {
  it('runs a Job to completion with the pod, labels, statuses and logs of a real cluster', async () => {
    const { fake, batch, core } = await start();
    const created = await batch.createNamespacedJob({
      namespace: NS,
      body: job('hello', "console.log('hello from the pod'); console.error('to stderr')"),
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).toBe(
      created.metadata?.uid,
    );

    const done = await fake.waitFor(
      () => condition(jobOf(fake, 'hello'), 'Complete') && jobOf(fake, 'hello'),
    );
    expect(done.status).toMatchObject({ succeeded: 1, ready: 0 });
    expect(done.status?.completionTime).toBeDefined();
    const pod = podOf(fake, 'hello')!;
    expect(pod.metadata.name).toMatch(/^hello-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pod.metadata.labels).toMatchObject({
      'job-name': 'hello',
      'batch.kubernetes.io/job-name': 'hello',
      'controller-uid': created.metadata?.uid,
      'batch.kubernetes.io/controller-uid': created.metadata?.uid,
      'forge.dev/job': 'hello',
    });
    expect(pod.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Job',
        name: 'hello',
        uid: created.metadata?.uid,
        controller: true,
      }),
    ]);
    expect(pod.status?.phase).toBe('Succeeded');
    expect(terminated(pod)).toMatchObject({ exitCode: 0, reason: 'Completed' });

    const log = await core.readNamespacedPodLog({ name: pod.metadata.name, namespace: NS });
    expect(log).toBe('hello from the pod\nto stderr\n');
    // What the fake itself writes must fit the schema too.
    const read = await core.readNamespacedPod({ name: pod.metadata.name, namespace: NS });
    expect(
      validateKubeObject(JSON.parse(JSON.stringify({ ...pod, apiVersion: 'v1', kind: 'Pod' }))),
    ).toEqual([]);
    expect(read.status?.phase).toBe('Succeeded');
    expect(validateKubeObject(done)).toEqual([]);
    const list = await batch.listNamespacedJob({
      namespace: NS,
      labelSelector: 'app in (forge,other),app!=x',
      limit: 1,
    });
    expect(list.items.map((j) => j.metadata?.name)).toEqual(['hello']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
  });

  it("finds the image's executables on PATH: the repo's bin/forge.js runs as forge", async () => {
    const { fake, batch } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('cli', '', { command: ['forge', '--help'] }),
    });
    await fake.waitFor(() => condition(jobOf(fake, 'cli'), 'Complete'));
    expect(fake.podOutput(podOf(fake, 'cli')!.metadata.name)).toMatch(/^Usage: forge/);
  });

  it('streams a running pod log with follow=true until the container ends', async () => {
    const { fake, core } = await start();
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'talker' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: IMAGE,
              command: [
                'node',
                '-e',
                "console.log('one'); setTimeout(() => console.log('two'), 300)",
              ],
            },
          ],
        },
      },
    });
    await fake.waitFor(() => fake.podOutput('talker').includes('one'));
    const res = await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods/talker/log?follow=true`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await res.text()).toBe('one\ntwo\n');
  });

  it('passes env from a Secret, mounts emptyDir and secret volumes, and leaves HOME unset', async () => {
    const { fake, batch, core } = await start();
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'creds' }, stringData: { token: 's3cret', file: 'from-volume' } },
    });
    const script = [
      "const fs = require('fs');",
      "fs.writeFileSync('/workspace/out.txt', 'written');",
      'console.log(JSON.stringify({ token: process.env.TOKEN, plain: process.env.PLAIN, ws: process.env.WS === process.cwd(),',
      "  file: fs.readFileSync('/etc/forge/file', 'utf8'), back: fs.readFileSync(process.env.WS + '/out.txt', 'utf8'), home: process.env.HOME ?? null }));",
    ].join('\n');
    const body = job('envy', script, {
      env: [
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
        { name: 'PLAIN', value: 'plain' },
        { name: 'WS', value: '/workspace' },
      ],
      workingDir: '/workspace',
      volumeMounts: [
        { name: 'ws', mountPath: '/workspace' },
        { name: 'creds', mountPath: '/etc/forge', readOnly: true },
      ],
    });
    body.spec!.template.spec!.volumes = [
      { name: 'ws', emptyDir: {} },
      { name: 'creds', secret: { secretName: 'creds' } },
    ];
    await batch.createNamespacedJob({ namespace: NS, body });
    await fake.waitFor(() => condition(jobOf(fake, 'envy'), 'Complete'));
    const out = JSON.parse(fake.podOutput(podOf(fake, 'envy')!.metadata.name)) as Record<
      string,
      unknown
    >;
    expect(out).toEqual({
      token: 's3cret',
      plain: 'plain',
      ws: true,
      file: 'from-volume',
      back: 'written',
      home: null,
    });
    const secret = await core.readNamespacedSecret({ name: 'creds', namespace: NS });
    expect(secret.data?.token).toBe(Buffer.from('s3cret').toString('base64'));
  });

  it('holds a pod in CreateContainerConfigError while its Secret is missing, and starts it once the Secret exists', async () => {
    const { fake, batch, core } = await start();
    const env = [{ name: 'T', valueFrom: { secretKeyRef: { name: 'later', key: 'k' } } }];
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('needs-secret', 'console.log(process.env.T)', { env }),
    });
    const w = await fake.waitFor(
      () =>
        waiting(podOf(fake, 'needs-secret'))?.reason !== 'ContainerCreating' &&
        waiting(podOf(fake, 'needs-secret')),
    );
    expect(w).toEqual({
      reason: 'CreateContainerConfigError',
      message: 'secret "later" not found',
    });
    expect(podOf(fake, 'needs-secret')?.status?.phase).toBe('Pending');
    const logs = await apiError(
      core.readNamespacedPodLog({
        name: podOf(fake, 'needs-secret')!.metadata.name,
        namespace: NS,
      }),
    );
    expect(logs.code).toBe(400);

    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'later' }, stringData: { other: 'x' } },
    });
    await fake.waitFor(
      () =>
        waiting(podOf(fake, 'needs-secret'))?.message ===
        `couldn't find key k in Secret ${NS}/later`,
    );
    await core.replaceNamespacedSecret({
      name: 'later',
      namespace: NS,
      body: { metadata: { name: 'later' }, stringData: { k: 'arrived' } },
    });
    await fake.waitFor(() => condition(jobOf(fake, 'needs-secret'), 'Complete'));
    expect(fake.podOutput(podOf(fake, 'needs-secret')!.metadata.name)).toBe('arrived\n');
  });

  it('holds a pod in ContainerCreating with FailedMount while a secret volume is missing', async () => {
    const { fake, batch, core } = await start();
    const body = job('mounts', "console.log(require('fs').readFileSync('/etc/forge/k', 'utf8'))", {
      volumeMounts: [{ name: 'creds', mountPath: '/etc/forge' }],
    });
    body.spec!.template.spec!.volumes = [{ name: 'creds', secret: { secretName: 'vol' } }];
    await batch.createNamespacedJob({ namespace: NS, body });
    const mount = await fake.waitFor(() => fake.events(NS).find((e) => e.reason === 'FailedMount'));
    expect(mount.message).toBe(
      'MountVolume.SetUp failed for volume "creds" : secret "vol" not found',
    );
    expect(waiting(podOf(fake, 'mounts'))?.reason).toBe('ContainerCreating');
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'vol' }, stringData: { k: 'mounted' } },
    });
    await fake.waitFor(() => condition(jobOf(fake, 'mounts'), 'Complete'));
    expect(fake.podOutput(podOf(fake, 'mounts')!.metadata.name)).toBe('mounted\n');
  });

  it('reports ErrImagePull then ImagePullBackOff for an unknown image, InvalidImageName for a malformed one', async () => {
    const { fake, batch } = await start({ imagePullBackOffMs: 50 });
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('no-image', '', { image: 'ghcr.io/acme/missing:2' }),
    });
    const first = await fake.waitFor(
      () =>
        waiting(podOf(fake, 'no-image'))?.reason !== 'ContainerCreating' &&
        waiting(podOf(fake, 'no-image')),
    );
    expect(first.reason).toBe('ErrImagePull');
    expect(first.message).toContain('failed to resolve reference "ghcr.io/acme/missing:2"');
    const later = await fake.waitFor(
      () =>
        waiting(podOf(fake, 'no-image'))?.reason === 'ImagePullBackOff' &&
        waiting(podOf(fake, 'no-image')),
    );
    expect(later.message).toMatch(/^Back-off pulling image "ghcr.io\/acme\/missing:2"/);

    await batch.createNamespacedJob({
      namespace: NS,
      body: job('bad-name', '', { image: 'Forge Test:1' }),
    });
    const bad = await fake.waitFor(
      () =>
        waiting(podOf(fake, 'bad-name'))?.reason !== 'ContainerCreating' &&
        waiting(podOf(fake, 'bad-name')),
    );
    expect(bad).toMatchObject({
      reason: 'InvalidImageName',
      message: expect.stringContaining('invalid reference format') as unknown,
    });
    expect(podOf(fake, 'bad-name')?.status?.phase).toBe('Pending');

    const never = job('never', '', { image: 'local-only:1', imagePullPolicy: 'Never' });
    never.spec!.template.spec!.imagePullSecrets = [{ name: 'regcred' }];
    await batch.createNamespacedJob({ namespace: NS, body: never });
    const notPresent = await fake.waitFor(() => {
      const w = waiting(podOf(fake, 'never'));
      return w?.reason !== 'ContainerCreating' && w;
    });
    expect(notPresent).toEqual({
      reason: 'ErrImageNeverPull',
      message: 'Container image "local-only:1" is not present with pull policy of Never',
    });
    const pullSecret = await fake.waitFor(() =>
      fake.events(NS).find((e) => e.reason === 'FailedToRetrieveImagePullSecret'),
    );
    expect(pullSecret.message).toMatch(/^Unable to retrieve some image pull secrets \(regcred\)/);
  });

  it('leaves a pod Pending and Unschedulable when its requests do not fit or the node is cordoned', async () => {
    const { fake, batch } = await start({ nodeCapacity: { cpu: 2, memory: '1Gi' } });
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('too-big', '', { resources: { requests: { memory: '2Gi', cpu: '500m' } } }),
    });
    const scheduled = await fake.waitFor(() =>
      podOf(fake, 'too-big')?.status?.conditions?.find(
        (c) => c.type === 'PodScheduled' && c.status === 'False',
      ),
    );
    expect(scheduled).toMatchObject({
      reason: 'Unschedulable',
      message: expect.stringMatching(
        /^0\/1 nodes are available: 1 Insufficient memory\./,
      ) as unknown,
    });
    expect(podOf(fake, 'too-big')?.status?.phase).toBe('Pending');

    fake.setSchedulable(false);
    await batch.createNamespacedJob({ namespace: NS, body: job('cordoned', "console.log('ran')") });
    const cordoned = await fake.waitFor(() =>
      podOf(fake, 'cordoned')?.status?.conditions?.find((c) => c.reason === 'Unschedulable'),
    );
    expect(cordoned.message).toMatch(/1 node\(s\) were unschedulable/);
    fake.setSchedulable(true);
    await fake.waitFor(() => condition(jobOf(fake, 'cordoned'), 'Complete'));
  });
});

describe('fake Kubernetes: ending pods', () => {
  it('fails a Job with DeadlineExceeded after activeDeadlineSeconds and kills its pod', async () => {
    const { fake, batch } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job(
        'slow',
        "console.log('started'); setInterval(() => {}, 1000)",
        {},
        { activeDeadlineSeconds: 1 },
      ),
    });
    const failed = await fake.waitFor(() => condition(jobOf(fake, 'slow'), 'Failed'));
    expect(failed).toMatchObject({
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    });
    await fake.waitFor(() => !podOf(fake, 'slow'));
    expect(jobOf(fake, 'slow')?.status?.active).toBeUndefined();
  });

  it('kills the process on Job delete (SIGTERM, grace, removal); the default propagation orphans the pod', async () => {
    const { fake, batch } = await start();
    const script =
      "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000)";
    await batch.createNamespacedJob({ namespace: NS, body: job('bg', script) });
    await batch.createNamespacedJob({ namespace: NS, body: job('orphan', script) });
    await fake.waitFor(() =>
      ['bg', 'orphan'].every((j) =>
        fake.podOutput(podOf(fake, j)?.metadata.name ?? 'none').includes('up'),
      ),
    );
    const bgPod = podOf(fake, 'bg')!.metadata.name;

    await batch.deleteNamespacedJob({ name: 'bg', namespace: NS, propagationPolicy: 'Background' });
    await fake.waitFor(() => !fake.pods(NS).some((p) => p.metadata.name === bgPod));
    expect(fake.podOutput(bgPod)).toBe('up\ngot SIGTERM\n');

    await batch.deleteNamespacedJob({ name: 'orphan', namespace: NS });
    const orphan = podOf(fake, 'orphan')!;
    expect(orphan.metadata.ownerReferences).toBeUndefined();
    expect(orphan.status?.phase).toBe('Running');
  });

  it('keeps a Job deleted in the foreground until its pod is gone, SIGKILLing a process that ignores SIGTERM', async () => {
    const { fake, batch } = await start({ terminationGracePeriodSeconds: 1 });
    await batch.createNamespacedJob({
      namespace: NS,
      body: job(
        'stubborn',
        "process.on('SIGTERM', () => console.log('ignoring')); console.log('up'); setInterval(() => {}, 1000)",
      ),
    });
    await fake.waitFor(() =>
      fake.podOutput(podOf(fake, 'stubborn')?.metadata.name ?? 'none').includes('up'),
    );
    const podName = podOf(fake, 'stubborn')!.metadata.name;
    await batch.deleteNamespacedJob({
      name: 'stubborn',
      namespace: NS,
      propagationPolicy: 'Foreground',
    });
    expect(jobOf(fake, 'stubborn')?.metadata.finalizers).toEqual(['foregroundDeletion']);
    const dying = await fake.waitFor(() =>
      fake.pods(NS).find((p) => p.metadata.name === podName && p.metadata.deletionTimestamp),
    );
    expect(dying.metadata.deletionGracePeriodSeconds).toBe(1);
    await fake.waitFor(() => !jobOf(fake, 'stubborn'));
    expect(fake.podOutput(podName)).toBe('up\nignoring\n');
  });

  it('reports OOMKilled (exit 137) and fails the Job with BackoffLimitExceeded', async () => {
    const { fake, batch } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('hungry', "console.log('up'); setInterval(() => {}, 1000)"),
    });
    await fake.waitFor(() =>
      fake.podOutput(podOf(fake, 'hungry')?.metadata.name ?? 'none').includes('up'),
    );
    fake.oomKill(podOf(fake, 'hungry')!.metadata.name);
    const failed = await fake.waitFor(() => condition(jobOf(fake, 'hungry'), 'Failed'));
    expect(failed.reason).toBe('BackoffLimitExceeded');
    expect(terminated(podOf(fake, 'hungry'))).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(podOf(fake, 'hungry')?.status?.phase).toBe('Failed');
    expect(jobOf(fake, 'hungry')?.status?.failed).toBe(1);
  });

  it('replaces a failed pod until backoffLimit is spent', async () => {
    const { fake, batch } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('flaky', "console.log('trying'); process.exit(2)", {}, { backoffLimit: 1 }),
    });
    const failed = await fake.waitFor(
      () => condition(jobOf(fake, 'flaky'), 'Failed') && jobOf(fake, 'flaky'),
    );
    expect(failed.status).toMatchObject({ failed: 2 });
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe(
      'BackoffLimitExceeded',
    );
    const pods = fake.pods(NS).filter((p) => p.metadata.labels?.['job-name'] === 'flaky');
    expect(pods.map((p) => terminated(p))).toEqual([
      expect.objectContaining({ exitCode: 2, reason: 'Error' }),
      expect.objectContaining({ exitCode: 2, reason: 'Error' }),
    ]);
  });

  it('evicts a pod as the kubelet does under node pressure', async () => {
    const { fake, batch } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('evictee', "console.log('up'); setInterval(() => {}, 1000)"),
    });
    await fake.waitFor(() =>
      fake.podOutput(podOf(fake, 'evictee')?.metadata.name ?? 'none').includes('up'),
    );
    fake.evict(podOf(fake, 'evictee')!.metadata.name);
    const pod = await fake.waitFor(
      () => podOf(fake, 'evictee')?.status?.phase === 'Failed' && podOf(fake, 'evictee'),
    );
    expect(pod.status).toMatchObject({
      reason: 'Evicted',
      message: expect.stringMatching(/^The node was low on resource: ephemeral-storage/) as unknown,
    });
    expect(pod.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', status: 'True' }),
    );
    await fake.waitFor(() => condition(jobOf(fake, 'evictee'), 'Failed'));
  });

  it('deletes a finished Job after ttlSecondsAfterFinished, with its pods', async () => {
    const { fake, batch } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('short-lived', "console.log('bye')", {}, { ttlSecondsAfterFinished: 0 }),
    });
    const podName = (await fake.waitFor(() => podOf(fake, 'short-lived'))).metadata.name;
    await fake.waitFor(() => !jobOf(fake, 'short-lived') && !podOf(fake, 'short-lived'));
    expect(fake.podOutput(podName)).toBe('bye\n');
  });
});

describe('fake Kubernetes: API answers', () => {
  it('answers 409 AlreadyExists, 404 NotFound and 409 Conflict as Status objects', async () => {
    const { batch } = await start();
    await batch.createNamespacedJob({ namespace: NS, body: job('twice', '') });
    const again = await apiError(
      batch.createNamespacedJob({ namespace: NS, body: job('twice', '') }),
    );
    expect(again).toMatchObject({
      code: 409,
      body: {
        kind: 'Status',
        reason: 'AlreadyExists',
        message: 'jobs.batch "twice" already exists',
      },
    });
    const missing = await apiError(batch.readNamespacedJob({ name: 'nope', namespace: NS }));
    expect(missing).toMatchObject({
      code: 404,
      body: { reason: 'NotFound', message: 'jobs.batch "nope" not found' },
    });

    const current = await batch.readNamespacedJob({ name: 'twice', namespace: NS });
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const conflict = await apiError(
      batch.replaceNamespacedJob({ name: 'twice', namespace: NS, body: stale }),
    );
    expect(conflict).toMatchObject({ code: 409, body: { reason: 'Conflict' } });

    const patched = await batch.patchNamespacedJob(
      { name: 'twice', namespace: NS, body: { metadata: { labels: { extra: 'yes', app: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata?.labels).toEqual({ extra: 'yes' });
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(
      Number(current.metadata?.resourceVersion),
    );
  });

  it('refuses invalid objects with 422 Invalid, naming each field, and records them', async () => {
    const { fake, batch } = await start();
    const body = job('typo', '');
    (body.spec!.template.spec!.containers[0] as unknown as Record<string, unknown>).comand = ['x'];
    const res = await fetch(`${fake.url}/apis/batch/v1/namespaces/${NS}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(422);
    const status = (await res.json()) as {
      reason: string;
      message: string;
      details: { causes: Array<{ field: string }> };
    };
    expect(status.reason).toBe('Invalid');
    expect(status.message).toContain(
      'spec.template.spec.containers[0].comand: unknown field "comand"',
    );

    const wrongType = job('typed', '', {}, { backoffLimit: 'three' as unknown as number });
    expect(
      (await apiError(batch.createNamespacedJob({ namespace: NS, body: wrongType }))).code,
    ).toBe(422);
    const restart = job('restarts', '');
    restart.spec!.template.spec!.restartPolicy = 'Always';
    const restartErr = await apiError(batch.createNamespacedJob({ namespace: NS, body: restart }));
    expect(restartErr.body.message).toContain(
      'spec.template.spec.restartPolicy: Unsupported value: "Always"',
    );

    await batch.createNamespacedJob({ namespace: NS, body: job('fixed', '') });
    const immutable = await apiError(
      batch.patchNamespacedJob(
        {
          name: 'fixed',
          namespace: NS,
          body: {
            spec: { template: { spec: { containers: [{ name: 'main', image: 'other:1' }] } } },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(immutable.body.message).toContain('spec.template: Invalid value: field is immutable');
    expect(fake.invalid.map((i) => i.method)).toEqual(['POST', 'POST', 'POST', 'PATCH']);
    fake.invalid.length = 0; // asserted above; the afterEach check is for the other tests
  });

  it('refuses a wrong token with 401 and serves failNext once', async () => {
    const { fake, batch } = await start();
    const res = await fetch(`${fake.url}/apis/batch/v1/namespaces/${NS}/jobs`, {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(res.status).toBe(401);
    fake.failNext('GET', /\/jobs$/, 503);
    expect((await apiError(batch.listNamespacedJob({ namespace: NS }))).code).toBe(503);
    expect((await batch.listNamespacedJob({ namespace: NS })).items).toEqual([]);
  });

  it('answers a watch from a compacted resourceVersion with a 410 Expired ERROR event', async () => {
    const { fake, kc, core } = await start({ watchWindow: 2 });
    for (const name of ['a', 'b', 'c', 'd'])
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name } } });
    const first = await core.listNamespacedSecret({ namespace: NS, limit: 3 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['a', 'b', 'c']);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const rest = await core.listNamespacedSecret({
      namespace: NS,
      limit: 3,
      _continue: first.metadata?._continue,
    });
    expect(rest.items.map((s) => s.metadata?.name)).toEqual(['d']);
    expect(rest.metadata?._continue).toBeUndefined();
    const events: Array<{ type: string; object: { code?: number; reason?: string } }> = [];
    await new Promise<void>((resolve, reject) => {
      void new Watch(kc).watch(
        `/api/v1/namespaces/${NS}/secrets`,
        { resourceVersion: '1' },
        (type, object: { code?: number }) => events.push({ type, object }),
        (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(),
      );
    });
    expect(events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({ code: 410, reason: 'Expired' }) as unknown,
      },
    ]);
    expect(fake.requests.at(-1)?.query).toMatchObject({ watch: 'true', resourceVersion: '1' });
  });
});

describe('fake Kubernetes: cluster surroundings', () => {
  it('runs no pod while a Job is suspended and starts one when a JSON patch resumes it', async () => {
    const { fake, batch, core } = await start();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('held', "console.log('resumed')", {}, { suspend: true }),
    });
    const suspended = await fake.waitFor(() => condition(jobOf(fake, 'held'), 'Suspended'));
    expect(suspended).toMatchObject({ reason: 'JobSuspended' });
    expect(podOf(fake, 'held')).toBeUndefined();
    expect(jobOf(fake, 'held')?.status?.startTime).toBeUndefined();

    await batch.patchNamespacedJob({
      name: 'held',
      namespace: NS,
      body: [{ op: 'add', path: '/spec/suspend', value: false }],
    });
    const done = await fake.waitFor(
      () => condition(jobOf(fake, 'held'), 'Complete') && jobOf(fake, 'held'),
    );
    expect(done.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Suspended', status: 'False', reason: 'JobResumed' }),
    );
    expect(fake.podOutput(podOf(fake, 'held')!.metadata.name)).toBe('resumed\n');
    const events = await core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.name=held',
    });
    expect(events.items.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Suspended', 'Resumed', 'SuccessfulCreate', 'Completed']),
    );
  });

  it('refuses pods naming a missing RuntimeClass or ServiceAccount, and keeps untolerated pods off a tainted node', async () => {
    const { fake, batch, core } = await start({
      runtimeClasses: ['gvisor'],
      serviceAccounts: ['forge-worker'],
      nodeTaints: [{ key: 'dedicated', value: 'agents', effect: 'NoSchedule' }],
    });
    const tolerations = [
      { key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' },
    ];
    const withSpec = (name: string, extra: Record<string, unknown>) => {
      const body = job(name, "console.log('ok')");
      Object.assign(body.spec!.template.spec!, extra);
      return body;
    };
    const failedCreate = (name: string) =>
      fake.waitFor(() =>
        fake.events(NS).find((e) => e.involvedObject.name === name && e.reason === 'FailedCreate'),
      );
    await batch.createNamespacedJob({
      namespace: NS,
      body: withSpec('kata', { runtimeClassName: 'kata', tolerations }),
    });
    expect((await failedCreate('kata')).message).toBe(
      'Error creating: pods "kata-" is forbidden: pod rejected: RuntimeClass "kata" not found',
    );
    await batch.createNamespacedJob({
      namespace: NS,
      body: withSpec('who', { serviceAccountName: 'nobody', tolerations }),
    });
    expect((await failedCreate('who')).message).toMatch(
      /error looking up service account forge\/nobody: serviceaccount "nobody" not found$/,
    );
    expect(podOf(fake, 'kata') ?? podOf(fake, 'who')).toBeUndefined();
    const direct = await apiError(
      core.createNamespacedPod({
        namespace: NS,
        body: {
          metadata: { name: 'p' },
          spec: { runtimeClassName: 'kata', containers: [{ name: 'main', image: IMAGE }] },
        },
      }),
    );
    expect(direct).toMatchObject({ code: 403, body: { reason: 'Forbidden' } });

    await batch.createNamespacedJob({ namespace: NS, body: withSpec('intolerant', {}) });
    const taint = await fake.waitFor(() =>
      podOf(fake, 'intolerant')?.status?.conditions?.find((c) => c.reason === 'Unschedulable'),
    );
    expect(taint.message).toMatch(
      /^0\/1 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: agents\}\./,
    );
    await batch.createNamespacedJob({
      namespace: NS,
      body: withSpec('fits', {
        runtimeClassName: 'gvisor',
        serviceAccountName: 'forge-worker',
        tolerations,
      }),
    });
    await fake.waitFor(() => condition(jobOf(fake, 'fits'), 'Complete'));
  });

  it('serves namespaces: only the configured ones exist when namespaces is set', async () => {
    const { batch, core } = await start({ namespaces: [NS] });
    expect((await core.readNamespace({ name: NS })).status?.phase).toBe('Active');
    const missing = await apiError(core.readNamespace({ name: 'elsewhere' }));
    expect(missing).toMatchObject({
      code: 404,
      body: { message: 'namespaces "elsewhere" not found' },
    });
    const create = await apiError(
      batch.createNamespacedJob({ namespace: 'elsewhere', body: job('x', '') }),
    );
    expect(create).toMatchObject({
      code: 404,
      body: { message: 'namespaces "elsewhere" not found' },
    });
  });

  it('refuses forbidden verbs with 403 and says so in access reviews', async () => {
    const { kc, core } = await start({ forbid: [{ verb: 'delete', group: '', resource: 'pods' }] });
    const denied = await apiError(core.deleteNamespacedPod({ name: 'any', namespace: NS }));
    expect(denied.code).toBe(403);
    expect(denied.body.message).toBe(
      'pods "any" is forbidden: User "system:serviceaccount:forge:forge" cannot delete resource "pods" in API group "" in the namespace "forge"',
    );
    const auth = kc.makeApiClient(AuthorizationV1Api);
    const ask = (verb: string) =>
      auth.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: NS, verb, group: '', resource: 'pods' } },
        },
      });
    expect((await ask('delete')).status?.allowed).toBe(false);
    expect((await ask('list')).status?.allowed).toBe(true);
  });
});

describe('fake Kubernetes: watches and custom resources', () => {
  it('sends BOOKMARKs when allowed and ends a watch after timeoutSeconds', async () => {
    const { kc, core } = await start({ bookmarkIntervalMs: 20 });
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'seen' } } });
    const events: Array<{ type: string; rv?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      void new Watch(kc).watch(
        `/api/v1/namespaces/${NS}/secrets`,
        { allowWatchBookmarks: true, timeoutSeconds: 1 },
        (type, object: { metadata?: { resourceVersion?: string } }) =>
          events.push({ type, rv: object.metadata?.resourceVersion }),
        (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(),
      );
    });
    expect(events[0]?.type).toBe('ADDED');
    expect(events.filter((e) => e.type === 'BOOKMARK').length).toBeGreaterThan(0);
    expect(events.find((e) => e.type === 'BOOKMARK')?.rv).toBe(events[0]?.rv);
  });

  it('deletes a running pod gracefully: deletionTimestamp first, then gone once the process exits', async () => {
    const { fake, core } = await start();
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'lone' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: IMAGE,
              command: [
                'node',
                '-e',
                "process.on('SIGTERM', () => process.exit(3)); console.log('up'); setInterval(() => {}, 1000)",
              ],
            },
          ],
        },
      },
    });
    await fake.waitFor(() => fake.podOutput('lone').includes('up'));
    const answer = await core.deleteNamespacedPod({ name: 'lone', namespace: NS });
    expect(answer.metadata?.deletionTimestamp).toBeDefined();
    const last = await fake.waitFor(() =>
      terminated(fake.pods(NS).find((p) => p.metadata.name === 'lone')),
    );
    expect(last).toMatchObject({ exitCode: 3, reason: 'Error' });
    await fake.waitFor(() => fake.pods(NS).length === 0);

    // gracePeriodSeconds=0 is a force delete: gone at once, the process SIGKILLed.
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'forced' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: IMAGE,
              command: [
                'node',
                '-e',
                "process.on('SIGTERM', () => {}); console.log(process.pid); setInterval(() => {}, 1000)",
              ],
            },
          ],
        },
      },
    });
    const pid = Number(await fake.waitFor(() => fake.podOutput('forced').trim()));
    await core.deleteNamespacedPod({ name: 'forced', namespace: NS, gracePeriodSeconds: 0 });
    expect(fake.pods(NS)).toEqual([]);
    const dead = () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    await fake.waitFor(dead);
  });

  it('serves resource types added through opts.resources (custom resources) with the same verbs', async () => {
    const sandboxes = {
      group: 'agents.x-k8s.io',
      version: 'v1alpha1',
      plural: 'sandboxes',
      kind: 'Sandbox',
      namespaced: true,
      hasSpec: true,
      defaultPropagation: 'Background' as const,
      validate: (o: { spec?: unknown }) => (o.spec === undefined ? ['spec: Required value'] : []),
    };
    const { fake, kc } = await start({ resources: [sandboxes] });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const params = {
      group: sandboxes.group,
      version: sandboxes.version,
      namespace: NS,
      plural: 'sandboxes',
    };
    const made = (await custom.createNamespacedCustomObject({
      ...params,
      body: {
        apiVersion: 'agents.x-k8s.io/v1alpha1',
        kind: 'Sandbox',
        metadata: { name: 'sb' },
        spec: { podTemplate: {} },
      },
    })) as { metadata: { generation: number } };
    expect(made.metadata.generation).toBe(1);
    const list = (await custom.listNamespacedCustomObject(params)) as {
      kind: string;
      items: unknown[];
    };
    expect(list).toMatchObject({
      kind: 'SandboxList',
      items: [
        expect.objectContaining({ metadata: expect.objectContaining({ name: 'sb' }) as unknown }),
      ],
    });
    const bad = await apiError(
      custom.createNamespacedCustomObject({
        ...params,
        body: {
          apiVersion: 'agents.x-k8s.io/v1alpha1',
          kind: 'Sandbox',
          metadata: { name: 'nospec' },
        },
      }),
    );
    expect(bad).toMatchObject({
      code: 422,
      body: { message: 'Sandbox.agents.x-k8s.io "nospec" is invalid: spec: Required value' },
    });
    fake.invalid.length = 0; // asserted above

    // Discovery maps the kind to its resource for generic clients.
    const generic = KubernetesObjectApi.makeApiClient(kc);
    const read = await generic.read({
      apiVersion: 'agents.x-k8s.io/v1alpha1',
      kind: 'Sandbox',
      metadata: { name: 'sb', namespace: NS },
    });
    expect(read.metadata?.name).toBe('sb');
  });
});

describe('fake Kubernetes: informers', () => {
  it('feeds a pod informer ADDED/MODIFIED/DELETED and keeps it going after the watches are cut', async () => {
    const { fake, kc, batch, core } = await start();
    const selector = 'app=forge';
    const informer = makeInformer<V1Pod>(
      kc,
      `/api/v1/namespaces/${NS}/pods`,
      () => core.listNamespacedPod({ namespace: NS, labelSelector: selector }),
      selector,
    );
    const seen: string[] = [];
    const waiters: Array<() => void> = [];
    const record = (entry: string) => {
      seen.push(entry);
      waiters.forEach((w) => w());
    };
    const arrived = (entry: string) =>
      new Promise<void>((resolve) => {
        const check = () => seen.includes(entry) && resolve();
        waiters.push(check);
        check();
      });
    informer.on('add', (p) => record(`add ${p.metadata?.labels?.['job-name']}`));
    informer.on('update', (p) =>
      record(`update ${p.metadata?.labels?.['job-name']} ${p.status?.phase}`),
    );
    informer.on('delete', (p) => record(`delete ${p.metadata?.labels?.['job-name']}`));
    informer.on('error', (err) => record(`error ${String(err)}`));
    await informer.start();
    try {
      await batch.createNamespacedJob({ namespace: NS, body: job('watched', "console.log('x')") });
      await arrived('update watched Succeeded');
      expect(seen[0]).toBe('add watched');

      expect(fake.cutWatches()).toBe(1);
      await batch.createNamespacedJob({
        namespace: NS,
        body: job('after-cut', "console.log('y')"),
      });
      await arrived('update after-cut Succeeded');
      await batch.deleteNamespacedJob({
        name: 'watched',
        namespace: NS,
        propagationPolicy: 'Background',
      });
      await arrived('delete watched');
      expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
      const watches = fake.requests.filter((r) => r.query.watch === 'true');
      expect(watches.map((w) => w.query.labelSelector)).toEqual(['app=forge', 'app=forge']);
      expect(Number(watches[1]?.query.resourceVersion)).toBeGreaterThan(0);

      // After an apiserver restart the informer's version is too old: 410, a fresh list, a new watch.
      const lists = () =>
        fake.requests.filter((r) => r.path.endsWith('/pods') && !r.query.watch).length;
      fake.expireWatches();
      await batch.createNamespacedJob({
        namespace: NS,
        body: job('after-410', "console.log('z')"),
      });
      await arrived('update after-410 Succeeded');
      expect(lists()).toBe(2);
      expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
    } finally {
      await informer.stop();
    }
  });
});
