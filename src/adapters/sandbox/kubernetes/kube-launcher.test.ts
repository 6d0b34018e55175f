// The Kubernetes launcher against the fake cluster (test/support/fake-kube): the real
// @kubernetes/client-node over HTTP, an apiserver that refuses what a real one would (strict
// schema validation), a Job controller, and a kubelet that runs containers as local processes.
// The image's `forge` is a script standing in for `forge worker`: it prints the address it was
// given and a digest of its token, then does what the address's path asks (sleep, exit 3).
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  startFakeKube,
  type FakeKube,
  type FakeKubeOptions,
} from '../../../../test/support/fake-kube/index.ts';
import { SECRETS } from '../../../../test/support/fake-kube/resources.ts';
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import type { ForgeError } from '../../../domain/errors.ts';
import { jobName, tokenSecretName, type JobManifestConfig } from './job-manifest.ts';
import { fromKubeConfig } from './kube-client.ts';
import {
  createKubeLauncher,
  type KubeLauncher,
  type KubeLauncherOptions,
} from './kube-launcher.ts';

const NS = 'forge-workers';
const IMAGE = 'forge-worker:test';
const WORKER = `#!/bin/sh
# forge worker --url <url> --dir <dir>
echo "forge worker: dialing $3"
printf 'token digest: '; printf '%s' "$FORGE_WORKER_TOKEN" | sha256sum | cut -c1-16
case "$3" in
  */exit-3) echo "cannot reach $3: connection refused" >&2; exit 3 ;;
  */done) exit 0 ;;
  *) exec sleep 600 ;;
esac
`;

let binDir: string;
beforeAll(async () => {
  // Not under /tmp: the fake kubelet maps the pod's /tmp mount onto paths that start with it,
  // PATH included.
  binDir = await mkdtemp('/var/tmp/forge-kube-bin-');
  await writeFile(join(binDir, 'forge'), WORKER);
  await chmod(join(binDir, 'forge'), 0o755);
});
afterAll(async () => {
  await rm(binDir, { recursive: true, force: true });
});

const config: JobManifestConfig = {
  namespace: NS,
  image: IMAGE,
  image_pull_secrets: [],
  node_selector: {},
  tolerations: [],
  resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
  workspace_size: '1Gi',
  secrets: {},
};

let fake: FakeKube;
let launchers: KubeLauncher[] = [];
afterEach(async () => {
  for (const launcher of launchers) await launcher.close();
  launchers = [];
  expect(fake.invalid).toEqual([]);
  await fake.close();
});

async function cluster(
  over: Partial<JobManifestConfig> = {},
  opts: Partial<KubeLauncherOptions> = {},
  cluster: FakeKubeOptions = {},
) {
  fake = await startFakeKube({
    images: { [IMAGE]: { env: { PATH: `${binDir}:/usr/bin:/bin` } } },
    terminationGracePeriodSeconds: 1,
    ...cluster,
  });
  return launcher(over, opts);
}

function launcher(over: Partial<JobManifestConfig> = {}, opts: Partial<KubeLauncherOptions> = {}) {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
    users: [{ name: 'forge' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'forge' }],
    currentContext: 'fake',
  });
  const made = createKubeLauncher({
    config: { ...config, ...over },
    clients: fromKubeConfig(kc),
    settleMs: 300,
    watchBackoffMs: 50,
    ...opts,
  });
  launchers.push(made);
  return made;
}

let nextJob = 0;
function labels(): SandboxLabels {
  nextJob += 1;
  return { jobId: `01JD8X3Y4Z5A6B7C8D9E0F${String(nextJob).padStart(4, '0')}`, attempt: 1 };
}
const token = (l: SandboxLabels) => `token-for-${l.jobId}-${l.attempt}-secret`;

function launch(made: KubeLauncher, l: SandboxLabels, path = '/sleep', maxDurationMs = 3_600_000) {
  return made.launch({
    labels: l,
    url: `http://10.0.0.5:7700${path}`,
    token: token(l),
    maxDurationMs,
  });
}

function podOf(l: SandboxLabels) {
  return fake.pods(NS).find((p) => p.metadata.labels?.['forge.dev/job-id'] === l.jobId);
}

async function running(l: SandboxLabels): Promise<string> {
  return fake.waitFor(() => {
    const pod = podOf(l);
    return pod?.status?.phase === 'Running' &&
      /token digest: [0-9a-f]{16}/.test(fake.podOutput(pod.metadata.name))
      ? pod.metadata.name
      : null;
  });
}

describe('the Kubernetes launcher', () => {
  it('starts the worker as a Job whose pod reads its token from an owned Secret', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    expect(worker.ref).toBe(`k8s:${NS}/${jobName(l)}`);
    const pod = await running(l);
    const job = fake.jobs(NS).find((j) => j.metadata.name === jobName(l))!;
    expect(job.spec?.suspend).toBe(false);
    const secret = fake.store.list(SECRETS, NS);
    expect(secret).toHaveLength(1);
    expect(secret[0]!.metadata).toMatchObject({
      name: tokenSecretName(l),
      ownerReferences: [{ kind: 'Job', name: jobName(l), uid: job.metadata.uid, controller: true }],
    });
    // The pod got the token, and no request but the Secret's carried it.
    const digest = createHash('sha256').update(token(l)).digest('hex').slice(0, 16);
    expect(fake.podOutput(pod)).toContain(`token digest: ${digest}`);
    const carried = fake.requests.filter((r) =>
      JSON.stringify(r.body ?? '').includes(Buffer.from(token(l)).toString('base64')),
    );
    expect(carried.map((r) => r.path)).toEqual([`/api/v1/namespaces/${NS}/secrets`]);
    expect(JSON.stringify(fake.requests)).not.toContain(token(l));
    // Running but silent: describe() quotes the worker's last lines, which name the address.
    expect(await worker.describe()).toMatch(
      new RegExp(
        `pod ${pod} Running on node fake-node; the worker's last lines: forge worker: dialing http://10\\.0\\.0\\.5:7700/sleep`,
      ),
    );
  });

  it('reports an image that cannot be pulled, naming it', async () => {
    const made = await cluster({ image: 'forge-worker:no-such-tag' });
    const worker = await launch(made, labels());
    const failure = await worker.failed;
    expect(failure.category).toBe('sandbox');
    expect(failure.message).toMatch(
      /the worker image "forge-worker:no-such-tag" cannot be pulled \((ErrImagePull|ImagePullBackOff)/,
    );
    expect(failure.message).toMatch(/check the name and tag in sandbox\.image/);
  });

  it('reports a missing Secret by name, with how to create it', async () => {
    const made = await cluster({
      secrets: { ANTHROPIC_API_KEY: { secret: 'forge-model-keys', key: 'anthropic' } },
    });
    const worker = await launch(made, labels());
    const failure = await worker.failed;
    expect(failure).toEqual({
      category: 'sandbox',
      message: `the Secret "forge-model-keys" does not exist in namespace ${NS}; create it (kubectl -n ${NS} create secret generic forge-model-keys --from-literal=<key>=<value>) or fix sandbox.secrets`,
    });
  });

  it("leaves an unschedulable pod to the start timeout, describing it with the scheduler's words", async () => {
    const made = await cluster({
      resources: { requests: { memory: '64Gi' }, limits: { memory: '64Gi' } },
    });
    const worker = await launch(made, labels());
    let settled = false;
    void worker.failed.then(() => (settled = true));
    await vi.waitFor(async () =>
      expect(await worker.describe()).toMatch(
        /Pending: 0\/1 nodes are available: .*Insufficient memory.*; lower sandbox\.resources\.requests/,
      ),
    );
    expect(settled).toBe(false);
  });

  it('reports an OOM kill as sandbox, saying to raise the memory limit', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    fake.oomKill(await running(l));
    const failure = await worker.failed;
    expect(failure.category).toBe('sandbox');
    expect(failure.message).toMatch(
      /ran out of memory \(OOMKilled at its limit of 256Mi\); raise sandbox\.resources\.limits\.memory/,
    );
  });

  it('reports an eviction as interrupted', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    fake.evict(await running(l), 'The node was low on resource: memory.');
    const failure = await worker.failed;
    expect(failure.category).toBe('interrupted');
    expect(failure.message).toMatch(
      /evicted from node fake-node: The node was low on resource: memory\./,
    );
  });

  it("reports the Job's deadline as max_duration", async () => {
    const made = await cluster({}, { deadlineMarginSeconds: 1 });
    const worker = await launch(made, labels(), '/sleep', 500);
    const failure = await worker.failed;
    expect(failure.category).toBe('max_duration');
    expect(failure.message).toMatch(/ran past its activeDeadlineSeconds \(2s\)/);
  });

  it('reports a worker that exited with an error, with its last lines', async () => {
    const made = await cluster();
    const worker = await launch(made, labels(), '/exit-3');
    const failure = await worker.failed;
    expect(failure.category).toBe('interrupted');
    expect(failure.message).toMatch(/stopped \(Error, exit code 3\)/);
    expect(failure.message).toMatch(
      /its last lines: .*cannot reach http:\/\/10\.0\.0\.5:7700\/exit-3: connection refused/,
    );
  });

  it('reports a Job deleted by someone else as interrupted', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    await running(l);
    const other = launcher(); // another Forge's cleanup, or a person with kubectl
    await other.stop(worker.ref, l);
    expect(await worker.failed).toMatchObject({ category: 'interrupted' });
  });

  it('stop deletes the Job, its pods and its Secret, and held() no longer lists them', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    await running(l);
    expect(await made.held()).toEqual([{ ref: worker.ref, labels: l }]);
    worker.dispose();
    await made.stop(worker.ref, l);
    await fake.waitFor(() => fake.jobs(NS).length === 0 && fake.pods(NS).length === 0);
    expect(fake.store.list(SECRETS, NS)).toEqual([]);
    expect(await made.held()).toEqual([]);
    await made.stop(worker.ref, l); // again: nothing left, no error
  });

  it('adopts the Job of a launch repeated after a crash, and follows it from another launcher', async () => {
    const made = await cluster();
    const l = labels();
    const first = await launch(made, l);
    const again = await launch(made, l);
    expect(again.ref).toBe(first.ref);
    expect(fake.jobs(NS)).toHaveLength(1);
    const pod = await running(l);
    const restarted = launcher();
    const followed = await restarted.follow(first.ref, l);
    expect(followed).not.toBeNull();
    expect(await restarted.follow(first.ref, { ...l, attempt: 2 })).toBeNull();
    expect(
      await restarted.follow('k8s:forge-workers/forge-nothing-1', { jobId: 'NOTHING', attempt: 1 }),
    ).toBeNull();
    fake.oomKill(pod);
    expect((await followed!.failed).message).toMatch(/OOMKilled/);
  });

  it('keeps watching when the API server cuts its watches, missing nothing meanwhile', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    const pod = await running(l);
    const watches = () => fake.requests.filter((r) => r.query.watch === 'true').length;
    const before = watches();
    expect(fake.cutWatches('destroy')).toBe(2);
    fake.evict(pod); // while no watch is open
    expect((await worker.failed).category).toBe('interrupted');
    await vi.waitFor(() => expect(watches()).toBeGreaterThanOrEqual(before + 2));
  });

  it('relists after its watch history expired (410), missing nothing meanwhile', async () => {
    const made = await cluster();
    const l = labels();
    const worker = await launch(made, l);
    const pod = await running(l);
    const lists = () =>
      fake.requests.filter((r) => r.method === 'GET' && r.query.watch !== 'true').length;
    const before = lists();
    fake.expireWatches();
    fake.oomKill(pod);
    expect((await worker.failed).message).toMatch(/OOMKilled/);
    await vi.waitFor(() => expect(lists()).toBeGreaterThan(before));
  });

  it("describes a Job that can make no pod with the Job controller's complaint", async () => {
    const made = await cluster({ service_account: 'no-such-account' });
    const worker = await launch(made, labels());
    await vi.waitFor(async () =>
      expect(await worker.describe()).toMatch(
        /has no pod yet; Job forge-[a-z0-9-]+: FailedCreate: Error creating: .*no-such-account/,
      ),
    );
  });

  it('refuses to launch without the permissions it needs, saying which, and leaves nothing', async () => {
    const made = await cluster(
      {},
      {},
      { forbid: [{ verb: 'create', group: '', resource: 'secrets' }] },
    );
    const refused = await launch(made, labels()).then(
      () => null,
      (err: unknown) => err as ForgeError,
    );
    expect(refused?.code).toBe('unavailable');
    expect(refused?.message).toMatch(/could not start Job .*is forbidden.*lacks a permission/);
    await fake.waitFor(() => fake.jobs(NS).length === 0);
  });

  it('doctor: the API, the namespace, and every permission a launch needs', async () => {
    const made = await cluster();
    const checks = await made.doctor();
    expect(checks.map((c) => [c.name, c.level])).toEqual([
      ['kubernetes API', 'ok'],
      ['kubernetes namespace', 'ok'],
      ['kubernetes permissions', 'ok'],
    ]);
    expect(checks[0]!.detail).toMatch(
      /reachable at http:\/\/127\.0\.0\.1:\d+ \(Kubernetes v1\.33\.0-fake\)/,
    );
  });

  it('doctor: a missing namespace and missing permissions, with what to do', async () => {
    const made = await cluster(
      {},
      {},
      {
        namespaces: ['elsewhere'],
        forbid: [
          { verb: 'patch', group: 'batch', resource: 'jobs' },
          { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
        ],
      },
    );
    const checks = await made.doctor();
    expect(checks[1]).toEqual({
      name: 'kubernetes namespace',
      ok: false,
      level: 'error',
      detail: `namespace ${NS} does not exist; create it (kubectl create namespace ${NS}) or set sandbox.namespace`,
    });
    expect(checks[2]).toMatchObject({ ok: false, level: 'error' });
    expect(checks[2]!.detail).toBe(
      `Forge's Kubernetes account may not patch jobs.batch, get pods/log in namespace ${NS}; grant them with a Role and RoleBinding (the chart's Role does)`,
    );
  });
});
