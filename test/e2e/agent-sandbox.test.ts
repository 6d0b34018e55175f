// Forge on agent-sandbox warm pools end to end: the real `forge serve` with
// `sandbox.kind: agent-sandbox`, the fake cluster with its fake agent-sandbox controller, whose
// warm pods run the real `forge worker --warm` as local processes. Forge writes the pool token
// Secret the pods' template reads; each attempt claims a warm pod, which Forge checks and offers
// the attempt to by name.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeForgejo, type FakeForgejo } from '../support/fake-forgejo.ts';
import { startGitServer, type GitServer } from '../support/git-http-server.ts';
import { startFront } from '../support/intake-world.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it, onTestFailed, vi } from 'vitest';
import {
  startFakeAgentSandbox,
  type FakeAgentSandbox,
} from '../support/fake-kube/agent-sandbox/index.ts';
import { SECRETS } from '../support/fake-kube/resources.ts';
import {
  SCRIPTED_AGENT,
  startForge,
  stopAllForges,
  type ForgeProcess,
  type JobJson,
} from '../support/forge-server.ts';
import { writeKubeconfig, writeWorkerForge } from '../support/kube-world.ts';
import { freePort } from '../support/loopback.ts';

const NS = 'forge-workers';
const IMAGE = 'ghcr.io/forge-dev/forge-worker:test';

let dir: string;
let fake: FakeAgentSandbox;
let git: GitServer;
let forgejo: FakeForgejo;
let front: Server;
let origin = '';
beforeAll(async () => {
  git = await startGitServer({ username: 'forge' });
  await git.createRepo('me/app', { files: { 'README.md': '# app\n' } });
  forgejo = await startFakeForgejo({ kind: 'forgejo', token: git.token, repos: ['me/app'] });
  front = await startFront(git.url('x').replace(/\/x\.git$/, ''), forgejo.url);
  origin = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  // Not under /tmp: the fake kubelet maps the pod's /tmp mount onto paths that start with it.
  dir = await mkdtemp('/var/tmp/forge-e2e-agent-sandbox-');
  await writeWorkerForge(dir);
  fake = await startFakeAgentSandbox({
    images: { [IMAGE]: { env: { PATH: `${dir}:/usr/bin:/bin` } } },
    terminationGracePeriodSeconds: 1,
  });
});
afterAll(async () => {
  await stopAllForges();
  await fake.close();
  await new Promise<void>((r) => front.close(() => r()));
  await forgejo.close();
  await git.close();
  await rm(dir, { recursive: true, force: true });
});

/** A pod's output so far; empty before it ran. */
const outputOf = (name: string): string => {
  try {
    return fake.podOutput(name);
  } catch {
    return '';
  }
};

const create = async (plural: string, body: object) => {
  const res = await fetch(
    `${fake.url}/apis/extensions.agents.x-k8s.io/v1beta1/namespaces/${NS}/${plural}`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  expect(res.status).toBe(201);
};

let forge: ForgeProcess;

/** Forge on the fake agent-sandbox with a warm pool of two `forge worker --warm` pods. */
async function forgeOnWarmPool(): Promise<ForgeProcess> {
  const port = await freePort();
  const workerUrl = `http://127.0.0.1:${port}`;
  const server = await startForge({
    config: {
      server: { host: '127.0.0.1', port },
      sandbox: {
        kind: 'agent-sandbox',
        namespace: NS,
        warm_pool: 'workers',
        worker_url: workerUrl,
        kubeconfig: await writeKubeconfig(dir, fake.url),
        start_timeout: '60s',
      },
      agents: {
        script: { kind: 'command', command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
      },
      forges: { home: { kind: 'forgejo', url: origin, token: git.token } },
      repos: { app: { url: `${origin}/me/app.git`, forge: 'home', base_branch: 'main' } },
    },
  });
  onTestFailed(() => {
    console.error(server.stderr);
    for (const pod of fake.pods())
      console.error(pod.metadata.name, fake.podOutput(pod.metadata.name));
  });
  // Forge writes the pool token the warm pods' template reads.
  await fake.waitFor(
    () => fake.store.list(SECRETS, NS).some((s) => s.metadata.name === 'forge-warm-pool'),
    20_000,
  );
  await create('sandboxtemplates', {
    apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
    kind: 'SandboxTemplate',
    metadata: { name: 'forge-worker' },
    spec: {
      podTemplate: {
        spec: {
          containers: [
            {
              name: 'worker',
              image: IMAGE,
              command: ['forge', 'worker', '--warm', '--url', workerUrl, '--dir', '/forge'],
              env: [
                {
                  name: 'FORGE_POOL_TOKEN',
                  valueFrom: { secretKeyRef: { name: 'forge-warm-pool', key: 'token' } },
                },
                { name: 'FORGE_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              volumeMounts: [{ name: 'forge', mountPath: '/forge' }],
            },
          ],
          volumes: [{ name: 'forge', emptyDir: {} }],
        },
      },
    },
  });
  await create('sandboxwarmpools', {
    apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
    kind: 'SandboxWarmPool',
    metadata: { name: 'workers' },
    spec: { replicas: 2, sandboxTemplateRef: { name: 'forge-worker' } },
  });
  await fake.agentSandbox.waitFor(
    () =>
      fake.agentSandbox
        .warmPods(NS)
        .filter((p) => outputOf(p.metadata.name).includes('waiting for an attempt')).length === 2,
    30_000,
  );
  return server;
}

it('runs three jobs on a warm pool of two, each on its own pod, the third waiting for one', async () => {
  forge ??= await forgeOnWarmPool();
  // The first works on a repository: Forge opens its pull request from the pod's bundle.
  const ids = await Promise.all(
    [1, 2, 3].map((n) =>
      forge.submit(
        `print hello from warm job ${n}; sleep 500${n === 1 ? '; write WARM.md from a warm pod' : ''}`,
        n === 1 ? { repo: 'app' } : {},
      ),
    ),
  );
  const jobs = await Promise.all(ids.map((id) => forge.waitFor(id, undefined, 90_000)));
  for (const [i, job] of jobs.entries()) {
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts[0]!.sandbox).toBe('agent-sandbox');
    expect(job.attempts[0]!.output).toContain(`hello from warm job ${i + 1}`);
  }
  const result = jobs[0]!.result as { branch: string; commit: string };
  expect(await git.git('me/app', ['show', `${result.commit}:WARM.md`])).toBe('from a warm pod');
  expect(forgejo.pulls('me/app')).toMatchObject([{ head: result.branch, base: 'main' }]);
  expect(JSON.stringify(fake.requests.map((r) => r.body ?? null))).not.toContain(git.token);
  // Each attempt ran on a pod of its own: the worker says in its pod's log which it ran.
  const started = new Set(
    fake
      .events(NS)
      .filter((e) => e.involvedObject.kind === 'Pod' && e.reason === 'Started')
      .map((e) => e.involvedObject.name),
  );
  const podOf = (id: string) =>
    [...started].filter((name) => outputOf(name).includes(`running attempt 1 of job ${id}`));
  const pods = ids.map((id) => podOf(id));
  for (const p of pods) expect(p).toHaveLength(1);
  expect(new Set(pods.flat()).size).toBe(3);
  expect(fake.invalid).toEqual([]);
}, 150_000);

it("streams a warm pod's output live, and a cancel stops it within a second, its claim deleted", async () => {
  forge ??= await forgeOnWarmPool();
  const id = await forge.submit('print started on a warm pod; lines 3 200; sleep 60000');
  const stream = await fetch(`${forge.url}/jobs/${id}/events`);
  const reader = stream.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  let seen = '';
  while (!seen.includes('line 2 ')) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += Buffer.from(chunk.value).toString();
  }
  expect(seen).toContain('started on a warm pod');
  const asked = Date.now();
  expect((await forge.api('POST', `/jobs/${id}/cancel`)).status).toBe(200);
  const job = await forge.waitFor(id, (j) => j.attempts[0]?.finished_at !== undefined, 30_000);
  expect(Date.parse(String(job.attempts[0]!.finished_at)) - asked).toBeLessThan(1_000);
  expect(job.status).toBe('CANCELLED');
  expect(job.attempts[0]!.output).toContain('line 2 ');
  await reader.cancel();
  await fake.agentSandbox.waitFor(
    () => !fake.agentSandbox.claims(NS).some((c) => c.metadata.name.includes(id.toLowerCase())),
    20_000,
  );
}, 120_000);

it('a warm pod the controller adopts for two claims runs one attempt; the other is retried elsewhere', async () => {
  forge ??= await forgeOnWarmPool();
  fake.agentSandbox.defects.doubleAdopt = true;
  const ids = [
    await forge.submit('print first of two; sleep 300', { max_retries: 2 }),
    await forge.submit('print second of two; sleep 300', { max_retries: 2 }),
  ];
  // One of the two claims was bound to the other's pod: its attempt is refused and retried.
  const conflict = (j: JobJson) =>
    j.attempts.find((a) => a.failure?.message.includes('AdoptionConflict') ?? false);
  const conflicted = await vi.waitFor(
    async () => {
      const found = (await Promise.all(ids.map((id) => forge.job(id)))).map(conflict).find(Boolean);
      expect(found).toBeDefined();
      return found!;
    },
    { timeout: 60_000, interval: 200 },
  );
  fake.agentSandbox.defects.doubleAdopt = false;
  expect(conflicted.failure?.category).toBe('interrupted');
  const jobs = await Promise.all(ids.map((id) => forge.waitFor(id, undefined, 90_000)));
  for (const job of jobs) expect(job.status).toBe('SUCCEEDED');
  // No pod ever ran two attempts.
  const started = fake
    .events(NS)
    .filter((e) => e.involvedObject.kind === 'Pod' && e.reason === 'Started')
    .map((e) => e.involvedObject.name);
  for (const pod of new Set(started))
    expect(outputOf(pod).match(/running attempt/g)?.length ?? 0).toBeLessThanOrEqual(1);
}, 150_000);
