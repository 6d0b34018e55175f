/**
 * throughput — N no-op jobs submitted as fast as the API takes them (16 requests in flight),
 * concurrency 8, until all are terminal; the same N jobs through BullMQ (its worker in its own
 * process spawning the same no-op command). Rounds alternate Forge/BullMQ, each on a fresh
 * server or queue; the ratio is taken per round, then the median. Forge runs once more with its
 * data dir on tmpfs: each job makes its attempt's directories and files, and on some disks (this
 * project's VMs: ~0.4 ms per mkdir, against 7 µs on tmpfs) that alone is most of its CPU.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { countJobs, startBenchForge, type ForgeProcess } from './forge.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, now, pool, round, until } from './measure.ts';
import { benchEnv, cpuMs } from './processes.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { startRedis } from './redis.ts';
import type { Scope } from './scope.ts';

export interface ThroughputResult {
  jobs: number;
  concurrency: number;
  forge_jobs_per_s: number;
  bullmq_jobs_per_s: number;
  ratio_forge_over_bullmq: number;
  /** CPU the server used per job: `forge serve`; BullMQ's worker process plus redis-server. */
  forge_cpu_ms_per_job: number;
  bullmq_cpu_ms_per_job: number;
  forge_submit_per_s: number;
  bullmq_submit_per_s: number;
  rounds: number;
  agent: string;
  /** The same Forge rounds on the NATS store: one replica, and two replicas sharing the queue
   *  (jobs submitted to both in turn, the cap of 8 held across them). */
  nats_jobs_per_s: number;
  nats_two_replicas_jobs_per_s: number;
  nats_cpu_ms_per_job: number;
  /** Forge with its data dir on tmpfs (/dev/shm). */
  tmpfs_jobs_per_s: number;
  tmpfs_cpu_ms_per_job: number;
  ratio_tmpfs_over_bullmq: number;
}

const NOOP = ['/bin/true'];
const CONCURRENCY = 8;
const IN_FLIGHT = 16;
const WORKER = new URL('./bullmq-worker.ts', import.meta.url).pathname;

interface Round {
  jobsPerS: number;
  submitPerS: number;
  cpuMsPerJob: number;
}

export const throughput: Benchmark<ThroughputResult> = {
  name: 'throughput',
  fields: [
    'jobs',
    'concurrency',
    'forge_jobs_per_s',
    'bullmq_jobs_per_s',
    'ratio_forge_over_bullmq',
  ],
  async run({ quick, scope, log }) {
    const jobs = quick ? 200 : 2000;
    const rounds = quick ? 1 : 3;
    const redis = await startRedis(scope);
    const forge: Round[] = [];
    const bull: Round[] = [];
    const nats: Round[] = [];
    const nats2: Round[] = [];
    const tmpfs: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      forge.push(await scope.child((s) => forgeRound(s, jobs, null)));
      tmpfs.push(await scope.child((s) => forgeRound(s, jobs, null, '/dev/shm')));
      bull.push(await scope.child((s) => bullmqRound(s, redis, `bench-${r}`, jobs)));
      nats.push(await scope.child((s) => forgeRound(s, jobs, 1)));
      nats2.push(await scope.child((s) => forgeRound(s, jobs, 2)));
      log(
        `round ${r + 1}/${rounds}: forge ${forge[r]!.jobsPerS.toFixed(1)}/s, on tmpfs ${tmpfs[r]!.jobsPerS.toFixed(1)}/s, bullmq ${bull[r]!.jobsPerS.toFixed(1)}/s, ` +
          `nats ${nats[r]!.jobsPerS.toFixed(1)}/s, nats×2 ${nats2[r]!.jobsPerS.toFixed(1)}/s`,
      );
    }
    return {
      jobs,
      concurrency: CONCURRENCY,
      forge_jobs_per_s: round(median(forge.map((x) => x.jobsPerS))),
      bullmq_jobs_per_s: round(median(bull.map((x) => x.jobsPerS))),
      ratio_forge_over_bullmq: round(median(forge.map((f, i) => f.jobsPerS / bull[i]!.jobsPerS))),
      forge_cpu_ms_per_job: round(median(forge.map((x) => x.cpuMsPerJob))),
      bullmq_cpu_ms_per_job: round(median(bull.map((x) => x.cpuMsPerJob))),
      forge_submit_per_s: round(median(forge.map((x) => x.submitPerS))),
      bullmq_submit_per_s: round(median(bull.map((x) => x.submitPerS))),
      rounds,
      agent: NOOP.join(' '),
      nats_jobs_per_s: round(median(nats.map((x) => x.jobsPerS))),
      nats_two_replicas_jobs_per_s: round(median(nats2.map((x) => x.jobsPerS))),
      nats_cpu_ms_per_job: round(median(nats.map((x) => x.cpuMsPerJob))),
      tmpfs_jobs_per_s: round(median(tmpfs.map((x) => x.jobsPerS))),
      tmpfs_cpu_ms_per_job: round(median(tmpfs.map((x) => x.cpuMsPerJob))),
      ratio_tmpfs_over_bullmq: round(median(tmpfs.map((f, i) => f.jobsPerS / bull[i]!.jobsPerS))),
    };
  },
  rows: (r) => [
    {
      figure: `Forge, ${r.jobs} no-op jobs, concurrency ${r.concurrency}`,
      value: fmt(r.forge_jobs_per_s, 'jobs/s'),
    },
    { figure: 'BullMQ, same jobs', value: fmt(r.bullmq_jobs_per_s, 'jobs/s') },
    {
      figure: 'server CPU per job, Forge / BullMQ (worker + redis)',
      value: `${fmt(r.forge_cpu_ms_per_job, '')} / ${fmt(r.bullmq_cpu_ms_per_job)}`,
    },
    {
      figure: 'Forge on NATS: one replica / two replicas',
      value: `${fmt(r.nats_jobs_per_s, '')} / ${fmt(r.nats_two_replicas_jobs_per_s, 'jobs/s')}`,
    },
    { figure: 'server CPU per job on NATS (one replica)', value: fmt(r.nats_cpu_ms_per_job) },
    {
      figure: 'ratio Forge / BullMQ',
      value: fmt(r.ratio_forge_over_bullmq, ''),
      target: '≥ 1',
      met: r.ratio_forge_over_bullmq >= 1,
    },
    {
      figure: 'Forge, data dir on tmpfs: jobs/s, CPU per job',
      value: `${fmt(r.tmpfs_jobs_per_s, 'jobs/s')}, ${fmt(r.tmpfs_cpu_ms_per_job)}`,
    },
    {
      figure: 'ratio Forge on tmpfs / BullMQ',
      value: fmt(r.ratio_tmpfs_over_bullmq, ''),
      target: '≥ 1',
      met: r.ratio_tmpfs_over_bullmq >= 1,
    },
  ],
};

/** One Forge round: on SQLite (`replicas` null), or on a fresh nats-server with that many
 *  replicas (their CPU summed; nats-server's own is not counted); its data dir in the temp dir,
 *  or `under` another directory. */
async function forgeRound(
  scope: Scope,
  jobs: number,
  replicas: number | null,
  under?: string,
): Promise<Round> {
  let store: Record<string, unknown> | undefined;
  if (replicas !== null) {
    const nats = await startNatsServer();
    scope.defer(() => nats.stop());
    store = { kind: 'nats', url: nats.url };
  }
  const servers: ForgeProcess[] = [];
  for (let i = 0; i < (replicas ?? 1); i++) {
    servers.push(
      await startBenchForge(scope, {
        agents: { noop: NOOP },
        maxConcurrent: CONCURRENCY,
        ...(store ? { store } : {}),
        ...(under ? { dataDir: mkdtempSync(join(under, 'forge-bench-throughput-')) } : {}),
      }),
    );
  }
  const forge = servers[0]!;
  const cpu = async () => {
    let sum = 0;
    for (const s of servers) sum += await cpuMs(s.proc.pid!);
    return sum;
  };
  const cpu0 = await cpu();
  const t0 = now();
  let turn = 0;
  await pool(jobs, IN_FLIGHT, () =>
    servers[turn++ % servers.length]!.submit('no-op', { agent: 'noop' }),
  );
  const submitted = now();
  await until(
    async () => (await countJobs(forge, 'PENDING,RUNNING')) === 0,
    'Forge to finish every job',
  );
  const t1 = now();
  const ok = await countJobs(forge, 'SUCCEEDED');
  if (ok !== jobs) throw new Error(`only ${ok} of ${jobs} Forge jobs succeeded`);
  const cpuMsPerJob = ((await cpu()) - cpu0) / jobs;
  return {
    jobsPerS: jobs / ((t1 - t0) / 1000),
    submitPerS: jobs / ((submitted - t0) / 1000),
    cpuMsPerJob,
  };
}

async function bullmqRound(
  scope: Scope,
  redis: { port: number; pid: number },
  name: string,
  jobs: number,
): Promise<Round> {
  const worker = await startWorker(scope, redis.port, name);
  const queue = new Queue(name, { connection: { host: '127.0.0.1', port: redis.port } });
  scope.defer(() => queue.close());
  const serverCpu = async () => (await cpuMs(worker)) + (await cpuMs(redis.pid));
  const cpu0 = await serverCpu();
  const t0 = now();
  await pool(jobs, IN_FLIGHT, () => queue.add('no-op', {}));
  const submitted = now();
  let counts: Record<string, number> = {};
  await until(async () => {
    counts = await queue.getJobCounts('completed', 'failed');
    return (counts.completed ?? 0) + (counts.failed ?? 0) === jobs;
  }, 'BullMQ to finish every job');
  const t1 = now();
  if (counts.failed) throw new Error(`${counts.failed} of ${jobs} BullMQ jobs failed`);
  const cpuMsPerJob = ((await serverCpu()) - cpu0) / jobs;
  return {
    jobsPerS: jobs / ((t1 - t0) / 1000),
    submitPerS: jobs / ((submitted - t0) / 1000),
    cpuMsPerJob,
  };
}

/** Starts the worker process; returns its pid once it takes jobs. */
async function startWorker(scope: Scope, port: number, queue: string): Promise<number> {
  const proc = spawn(
    process.execPath,
    [WORKER, String(port), queue, String(CONCURRENCY), JSON.stringify(NOOP)],
    {
      env: benchEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  scope.defer(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.kill('SIGTERM');
    await exited;
    clearTimeout(kill);
  });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the BullMQ worker did not start in 15 s:\n${said}`)),
      15_000,
    );
    proc.stdout.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the BullMQ worker exited with ${code}:\n${said}`));
    });
  });
  return proc.pid!;
}
