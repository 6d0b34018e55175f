/**
 * kubernetes — what running an attempt in a worker pod adds, on the fake cluster
 * (test/support/fake-kube, whose kubelet runs the pod's `forge worker` as a local process). One
 * job at a time, submit over HTTP to agent start, alternating with the same job on the local
 * sandbox. The fake's own latency — from the Job reaching its API to the pod's process starting —
 * stands for a real cluster's scheduling and image pull and is subtracted; what is left is Forge:
 * bundling the workspace, creating the Job and its Secret, `forge worker` starting, fetching its
 * spec and calling home, and starting the agent.
 */
import { kubeServerConfig, writeKubeconfig, writeWorkerForge } from '../test/support/kube-world.ts';
import { freePort } from '../test/support/loopback.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeKube } from '../test/support/fake-kube/index.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { startBenchForge, type ForgeProcess } from './forge.ts';
import { median, now, percentile, round } from './measure.ts';
import { STAMP_AGENT, stampDir, type StampDir } from './stamps.ts';
import type { Scope } from './scope.ts';

export interface KubernetesResult {
  jobs: number;
  local_submit_to_start_ms_p50: number;
  kube_submit_to_start_ms_p50: number;
  kube_submit_to_start_ms_p99: number;
  /** The fake cluster's own part: Job received → the pod's process started. */
  fake_cluster_ms_p50: number;
  /** Submit → agent start on the fake cluster, its own part taken out. */
  kube_forge_ms_p50: number;
  /** That, minus the local sandbox's submit → agent start: what remote execution adds. */
  kube_over_local_ms_p50: number;
}

const IMAGE = 'forge-worker:bench';
const NS = 'forge-bench';

export const kubernetes: Benchmark<KubernetesResult> = {
  name: 'kubernetes',
  fields: ['jobs', 'kube_submit_to_start_ms_p50', 'fake_cluster_ms_p50', 'kube_forge_ms_p50'],
  async run({ quick, scope, log }) {
    const jobs = quick ? 8 : 40;
    // Not under /tmp: the fake kubelet maps the pod's /tmp mount onto paths that start with it.
    const dir = await mkdtemp('/var/tmp/forge-bench-kube-');
    scope.defer(() => rm(dir, { recursive: true, force: true }));
    const stamps = await stampDir(scope, dir);
    const podStarts = join(dir, 'pod-starts');
    // The worker image's `forge`: notes when the pod's process started, then runs the real one.
    await writeWorkerForge(dir, podStarts);
    const fake = await startFakeKube({
      images: { [IMAGE]: { env: { PATH: `${dir}:/usr/bin:/bin` } } },
    });
    scope.defer(() => fake.close());
    const kubeForge = await kubeServer(scope, dir, fake.url, stamps);
    const localForge = await startBenchForge(scope, {
      agents: { stamp: STAMP_AGENT },
      maxConcurrent: 1,
      agentEnv: { STAMP_DIR: stamps.dir },
    });
    const local: number[] = [];
    const kube: number[] = [];
    const cluster: number[] = [];
    for (let i = -2; i < jobs; i++) {
      const l = await sample(localForge, stamps);
      const sent = fake.requests.length;
      const k = await sample(kubeForge, stamps);
      const posted = fake.requests
        .slice(sent)
        .find((r) => r.method === 'POST' && r.path.endsWith('/jobs'));
      const started = (await readFile(podStarts, 'utf8')).trim().split('\n').at(-1)!;
      if (i < 0) continue; // warm-up
      if (!posted) throw new Error('the Job was never posted to the fake cluster');
      local.push(l);
      kube.push(k);
      cluster.push(Number(started.replace(',', '.')) * 1000 - posted.at);
      if ((i + 1) % 10 === 0) log(`${i + 1}/${jobs} jobs`);
    }
    const forgeOnKube = kube.map((k, i) => k - cluster[i]!);
    return {
      jobs,
      local_submit_to_start_ms_p50: round(median(local)),
      kube_submit_to_start_ms_p50: round(median(kube)),
      kube_submit_to_start_ms_p99: round(percentile(kube, 99)),
      fake_cluster_ms_p50: round(median(cluster)),
      kube_forge_ms_p50: round(median(forgeOnKube)),
      kube_over_local_ms_p50: round(median(forgeOnKube) - median(local)),
    };
  },
  rows: (r) => [
    {
      figure: 'local sandbox: submit → agent start p50',
      value: fmt(r.local_submit_to_start_ms_p50),
    },
    {
      figure: 'fake cluster: submit → agent start p50 / p99',
      value: `${fmt(r.kube_submit_to_start_ms_p50, '')} / ${fmt(r.kube_submit_to_start_ms_p99)}`,
    },
    {
      figure: "the fake cluster's own part (Job → pod process) p50",
      value: fmt(r.fake_cluster_ms_p50),
    },
    { figure: 'Forge on Kubernetes, the fake taken out, p50', value: fmt(r.kube_forge_ms_p50) },
    {
      figure: 'what a worker pod adds over the local sandbox p50',
      value: fmt(r.kube_over_local_ms_p50),
    },
  ],
};

async function kubeServer(
  scope: Scope,
  dir: string,
  server: string,
  stamps: StampDir,
): Promise<ForgeProcess> {
  const kubeconfig = await writeKubeconfig(dir, server);
  const port = await freePort();
  return startBenchForge(scope, {
    agents: { stamp: STAMP_AGENT },
    maxConcurrent: 1,
    agentEnv: { STAMP_DIR: stamps.dir },
    ...kubeServerConfig(port, kubeconfig, IMAGE, NS),
  });
}

/** Submit → agent start of one job, then waits for it to end. */
async function sample(forge: ForgeProcess, stamps: StampDir): Promise<number> {
  const t0 = now();
  const res = await forge.api<{ id: string }>('POST', '/jobs', { task: 'kube', agent: 'stamp' });
  if (res.status !== 202)
    throw new Error(`POST /jobs answered ${res.status}: ${JSON.stringify(res.body)}`);
  const stamp = await stamps.next(res.body.id);
  await forge.waitFor(res.body.id, undefined, 30_000);
  return stamp - t0;
}
