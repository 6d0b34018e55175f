// Forge on Kubernetes end to end: the real `forge serve` with `sandbox.kind: kubernetes`, talking
// through a kubeconfig file to the fake cluster (test/support/fake-kube), whose kubelet runs the
// worker image's `forge` — the real bin/forge.js — as a local process. The worker dials home to
// sandbox.worker_url, runs the scripted agent and reports; Forge then removes the Job.
import { kubeServerConfig, writeKubeconfig, writeWorkerForge } from '../support/kube-world.ts';
import { freePort } from '../support/loopback.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { AddressInfo } from 'node:net';
import { startFakeForgejo } from '../support/fake-forgejo.ts';
import {
  jobManifest,
  tokenSecretManifest,
} from '../../src/adapters/sandbox/kubernetes/job-manifest.ts';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { SECRETS } from '../support/fake-kube/resources.ts';
import { startGitServer } from '../support/git-http-server.ts';
import { startFront } from '../support/intake-world.ts';
import { SCRIPTED_AGENT, startForge, stopAllForges } from '../support/forge-server.ts';

const NS = 'forge-workers';
const IMAGE = 'ghcr.io/forge-dev/forge-worker:test';

let dir: string;
let fake: FakeKube;
beforeAll(async () => {
  // Not under /tmp: the fake kubelet maps the pod's /tmp mount onto paths that start with it.
  dir = await mkdtemp('/var/tmp/forge-e2e-kube-');
  await writeWorkerForge(dir);
});
afterEach(async () => {
  await stopAllForges();
  expect(fake.invalid).toEqual([]);
  await fake.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function forgeOnKube(
  sandbox: Record<string, unknown> = {},
  more: Record<string, unknown> = {},
) {
  fake = await startFakeKube({
    images: { [IMAGE]: { env: { PATH: `${dir}:/usr/bin:/bin` } } },
    terminationGracePeriodSeconds: 1,
  });
  const kubeconfig = await writeKubeconfig(dir, fake.url);
  const port = await freePort();
  const forge = await startForge({
    config: {
      ...kubeServerConfig(port, kubeconfig, IMAGE, NS, { start_timeout: '20s', ...sandbox }),
      agents: {
        script: { kind: 'command', command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
      },
      ...more,
    },
  });
  onTestFailed(() => {
    console.error(forge.stderr);
    for (const pod of fake.pods())
      console.error(pod.metadata.name, fake.podOutput(pod.metadata.name));
  });
  return forge;
}

describe('sandbox kind kubernetes', () => {
  it('runs the attempt in a worker pod that dials home, then removes its Job, pods and Secret', async () => {
    const forge = await forgeOnKube();
    const id = await forge.submit('print hello from a pod; stderr and its stderr');
    const job = await forge.waitFor(id, undefined, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts[0]!.output).toContain('hello from a pod');
    expect(job.attempts[0]!.sandbox).toBe('kubernetes');
    await fake.waitFor(() => fake.jobs(NS).length === 0 && fake.pods(NS).length === 0, 20_000);
    const created = fake.requests.filter((r) => r.method === 'POST').map((r) => r.path);
    expect(created).toEqual([
      `/apis/batch/v1/namespaces/${NS}/jobs`,
      `/api/v1/namespaces/${NS}/secrets`,
    ]);
  });

  it('fails a job whose worker image cannot be pulled, saying which image', async () => {
    const forge = await forgeOnKube({ image: 'ghcr.io/forge-dev/forge-worker:no-such-tag' });
    const id = await forge.submit('print never');
    const job = await forge.waitFor(id, undefined, 60_000);
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('sandbox');
    expect(job.failure?.message).toMatch(
      /worker image "ghcr\.io\/forge-dev\/forge-worker:no-such-tag" cannot be pulled/,
    );
    await fake.waitFor(() => fake.jobs(NS).length === 0, 20_000);
  });

  it("gives the agent a model key from the namespace's Secret, which Forge never holds", async () => {
    const forge = await forgeOnKube({
      secrets: { ANTHROPIC_API_KEY: { secret: 'forge-model-keys', key: 'anthropic' } },
    });
    const key = 'sk-ant-only-in-the-cluster-5c1e';
    const made = await fetch(`${fake.url}/api/v1/namespaces/${NS}/secrets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'forge-model-keys', namespace: NS },
        data: { anthropic: Buffer.from(key).toString('base64') },
      }),
    });
    expect(made.status).toBe(201);
    const id = await forge.submit('env ANTHROPIC_API_KEY');
    const job = await forge.waitFor(id, undefined, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts[0]!.output).toContain(`ANTHROPIC_API_KEY=${key}`);
    const fromForge = fake.requests.filter(
      (r) => r.path.endsWith('/jobs') && JSON.stringify(r.body ?? '').includes('forge-model-keys'),
    );
    expect(fromForge).toHaveLength(1);
    expect(JSON.stringify(fromForge[0]!.body)).not.toContain(Buffer.from(key).toString('base64'));
  });

  it('cancelling a running job stops its pod and removes the Job', async () => {
    const forge = await forgeOnKube();
    const id = await forge.submit('print started; sleep 60000');
    await forge.waitFor(id, (j) => j.attempts[0]?.output.includes('started') ?? false, 60_000);
    expect(fake.pods(NS)).toHaveLength(1);
    expect((await forge.api('POST', `/jobs/${id}/cancel`)).status).toBe(200);
    const job = await forge.waitFor(id, undefined, 30_000);
    expect(job.status).toBe('CANCELLED');
    expect(job.attempts[0]!.output).toContain('started');
    await fake.waitFor(() => fake.jobs(NS).length === 0 && fake.pods(NS).length === 0, 20_000);
  });

  it('a job with a repository: live output over SSE, the PR opened from the bundle, no forge token in the pod', async () => {
    const git = await startGitServer({ username: 'forge' });
    const forgejo = await startFakeForgejo({
      kind: 'forgejo',
      token: git.token,
      repos: ['me/app'],
    });
    const front = await startFront(git.url('x').replace(/\/x\.git$/, ''), forgejo.url);
    try {
      await git.createRepo('me/app', { files: { 'README.md': '# app\n' } });
      const origin = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
      const forge = await forgeOnKube(
        {},
        {
          forges: { home: { kind: 'forgejo', url: origin, token: git.token } },
          repos: { app: { url: `${origin}/me/app.git`, forge: 'home', base_branch: 'main' } },
        },
      );
      const id = await forge.submit(
        'print starting; lines 3 300; write NOTES.md from a pod; print done',
        { repo: 'app' },
      );
      const stream = await (await fetch(`${forge.url}/jobs/${id}/events`)).text();
      const lines = [...stream.matchAll(/event: output\ndata: (.+)/g)].map(
        (m) => (JSON.parse(m[1]!) as { line: string }).line,
      );
      expect(lines).toContain('starting');
      expect(lines.filter((l) => l.startsWith('line '))).toHaveLength(3);
      expect(stream).toContain('"status":"SUCCEEDED"');
      const job = await forge.waitFor(id, undefined, 60_000);
      const result = job.result as { branch: string; commit: string; pr_number: number };
      expect(await git.git('me/app', ['show', `${result.commit}:NOTES.md`])).toBe('from a pod');
      expect(forgejo.pulls('me/app')).toMatchObject([{ head: result.branch, base: 'main' }]);
      // The forge token reached neither the Job, its Secret, nor the agent in the pod.
      const sent = JSON.stringify(fake.requests.map((r) => r.body ?? null));
      expect(sent).not.toContain(git.token);
      expect(sent).not.toContain(Buffer.from(git.token).toString('base64'));
      const pod = fake.pods(NS)[0] ?? null;
      if (pod) expect(fake.podOutput(pod.metadata.name)).not.toContain(git.token);
      expect(job.attempts[0]!.output).not.toContain(git.token);
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
      await forgejo.close();
      await git.close();
    }
  });

  it("sizes the pod from the job's profile over the sandbox's own resources", async () => {
    const forge = await forgeOnKube(
      {},
      { profiles: { big: { pod: { resources: { limits: { memory: '2Gi' } } } } } },
    );
    const id = await forge.submit('print sized', { profile: 'big' });
    expect((await forge.waitFor(id, undefined, 60_000)).status).toBe('SUCCEEDED');
    const posted = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/jobs'));
    const job = posted!.body as {
      spec: { template: { spec: { containers: { resources: unknown }[] } } };
    };
    expect(job.spec.template.spec.containers[0]!.resources).toEqual({
      requests: { cpu: '100m', memory: '64Mi' },
      limits: { memory: '2Gi' },
    });
  });

  it('removes Jobs and Secrets a dead server left for attempts no longer open', async () => {
    const forge = await forgeOnKube();
    // What a server that died between creating an attempt's Job and cleaning up leaves behind,
    // for a job this store has never had open.
    const left = { jobId: '01JD8X3Y4Z5A6B7C8D9E0F1G2H', attempt: 1 };
    const assignment = { labels: left, url: forge.url, token: 'left.over', maxDurationMs: 60_000 };
    const config = {
      namespace: NS,
      image: IMAGE,
      image_pull_secrets: [],
      node_selector: {},
      tolerations: [],
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '1Gi' } },
      workspace_size: '1Gi',
      secrets: {},
    };
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${fake.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as { metadata: { name: string; uid: string } };
    };
    const job = await post(`/apis/batch/v1/namespaces/${NS}/jobs`, jobManifest(config, assignment));
    await post(
      `/api/v1/namespaces/${NS}/secrets`,
      tokenSecretManifest(config, assignment, job.metadata),
    );
    await fake.waitFor(
      () => fake.jobs(NS).length === 0 && fake.store.list(SECRETS, NS).length === 0,
      30_000,
    );
  });

  it('an agent in a pod that goes quiet is stopped for inactivity, and its pod removed', async () => {
    const forge = await forgeOnKube();
    const id = await forge.submit('print working; sleep 60000', {
      inactivity_timeout: '2s',
      max_retries: 0,
    });
    const job = await forge.waitFor(id, undefined, 60_000);
    expect(job).toMatchObject({ status: 'FAILED', failure: { category: 'inactivity' } });
    expect(job.attempts[0]!.output).toContain('working');
    await fake.waitFor(() => fake.jobs(NS).length === 0 && fake.pods(NS).length === 0, 20_000);
  });

  it('an agent in a pod that runs past max_duration is stopped, and the Job carries a deadline', async () => {
    const forge = await forgeOnKube();
    const id = await forge.submit('lines 1000 100', { max_duration: '3s', max_retries: 0 });
    await fake.waitFor(() => fake.jobs(NS)[0], 30_000);
    // The platform's own hard kill, a margin after Forge's.
    expect(fake.jobs(NS)[0]!.spec?.activeDeadlineSeconds).toBeGreaterThanOrEqual(3);
    const job = await forge.waitFor(id, undefined, 60_000);
    expect(job).toMatchObject({ status: 'FAILED', failure: { category: 'max_duration' } });
    expect(job.attempts[0]!.output).toContain('line 0 ');
    await fake.waitFor(() => fake.jobs(NS).length === 0 && fake.pods(NS).length === 0, 20_000);
  });
});
