/**
 * list — a store seeded with N finished jobs served by `forge serve`: latencies of
 * `GET /jobs?status=FAILED&limit=20`, `GET /jobs?offset=N/2` and `GET /jobs/{id}`, measured by
 * this client over loopback HTTP, with `GET /health` as the floor. Once on SQLite (seeded through
 * the store, seed-store.ts), once on NATS (seed-nats.ts), where the replica's start-up — loading
 * its view of every job — is timed too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, type Benchmark } from './benchmark.ts';
import { startBenchForge } from './forge.ts';
import { median, now, percentile, round } from './measure.ts';
import { startNatsServer } from '../test/support/nats-server.ts';
import { seedNats } from './seed-nats.ts';
import { seedStore } from './seed-store.ts';

export interface ListResult {
  jobs_in_store: number;
  get_jobs_ms_p50: number;
  get_jobs_ms_p99: number;
  get_job_ms_p50: number;
  get_job_ms_p99: number;
  failed_page_ms_p50: number;
  failed_page_ms_p99: number;
  deep_offset_ms_p50: number;
  deep_offset_ms_p99: number;
  health_floor_ms_p50: number;
  requests_each: number;
  seed_s: number;
  seed_cached: boolean;
  /** The same on the NATS store (one replica). */
  nats_get_jobs_ms_p50: number;
  nats_get_jobs_ms_p99: number;
  nats_get_job_ms_p99: number;
  nats_failed_page_ms_p99: number;
  nats_deep_offset_ms_p99: number;
  /** `forge serve` on NATS from spawn to its first `GET /jobs`, which waits for its view of
   *  every job. */
  nats_start_s: number;
  /** `GET /jobs` (worse of the two queries) p99 on a second replica of the same history. */
  nats_second_replica_get_jobs_ms_p99: number;
  nats_seed_s: number;
}

type Latencies = Pick<
  ListResult,
  | 'get_jobs_ms_p50'
  | 'get_jobs_ms_p99'
  | 'get_job_ms_p50'
  | 'get_job_ms_p99'
  | 'failed_page_ms_p50'
  | 'failed_page_ms_p99'
  | 'deep_offset_ms_p50'
  | 'deep_offset_ms_p99'
  | 'health_floor_ms_p50'
>;

const WARMUP = 20;

export const list: Benchmark<ListResult> = {
  name: 'list',
  fields: ['jobs_in_store', 'get_jobs_ms_p50', 'get_jobs_ms_p99', 'get_job_ms_p50'],
  async run({ quick, scope, log }) {
    const jobs = quick ? 10_000 : 100_000;
    const requests = quick ? 100 : 300;
    const dataDir = await mkdtemp(join(tmpdir(), 'forge-bench-list-'));
    scope.defer(() => rm(dataDir, { recursive: true, force: true }));
    const seed = await seedStore(dataDir, jobs, log);
    log(
      `store of ${jobs} jobs ready in ${seed.seconds.toFixed(1)} s${seed.cached ? ' (cached)' : ''}`,
    );
    const onSqlite = await scope.child(async (s) => {
      const forge = await startBenchForge(s, {
        agents: { noop: ['/bin/true'] },
        maxConcurrent: 1,
        dataDir,
      });
      return latencies(forge.url, jobs, requests);
    });
    const nats = await startNatsServer();
    scope.defer(() => nats.stop());
    const natsSeed = await seedNats(nats.url, 'list', jobs, log);
    log(`NATS store of ${jobs} jobs ready in ${natsSeed.seconds.toFixed(1)} s`);
    const onNats = await scope.child(async (s) => {
      const t0 = now();
      const forge = await startBenchForge(s, {
        agents: { noop: ['/bin/true'] },
        maxConcurrent: 1,
        store: { kind: 'nats', url: nats.url, prefix: 'list' },
      });
      // Serving starts at once; the view loads behind it: timed until the first list has it all.
      const total = (await (await fetch(`${forge.url}/jobs?limit=1`)).json()) as { total: number };
      const startS = (now() - t0) / 1000;
      if (total.total !== jobs)
        throw new Error(`the NATS replica lists ${total.total} of ${jobs} jobs`);
      const one = await latencies(forge.url, jobs, requests);
      // A second replica on the same history, listed while the first one serves too.
      const second = await startBenchForge(s, {
        agents: { noop: ['/bin/true'] },
        maxConcurrent: 1,
        store: { kind: 'nats', url: nats.url, prefix: 'list' },
      });
      const two = await latencies(second.url, jobs, requests);
      return { ...one, startS, twoP99: two.get_jobs_ms_p99 };
    });
    return {
      jobs_in_store: jobs,
      ...onSqlite,
      requests_each: requests,
      seed_s: round(seed.seconds),
      seed_cached: seed.cached,
      nats_get_jobs_ms_p50: onNats.get_jobs_ms_p50,
      nats_get_jobs_ms_p99: onNats.get_jobs_ms_p99,
      nats_get_job_ms_p99: onNats.get_job_ms_p99,
      nats_second_replica_get_jobs_ms_p99: onNats.twoP99,
      nats_failed_page_ms_p99: onNats.failed_page_ms_p99,
      nats_deep_offset_ms_p99: onNats.deep_offset_ms_p99,
      nats_start_s: round(onNats.startS),
      nats_seed_s: round(natsSeed.seconds),
    };
  },
  rows: (r) => [
    { figure: 'GET /health (HTTP floor) p50', value: fmt(r.health_floor_ms_p50) },
    {
      figure: `GET /jobs?status=FAILED&limit=20 p50 / p99`,
      value: `${fmt(r.failed_page_ms_p50, '')} / ${fmt(r.failed_page_ms_p99)}`,
      target: 'p99 < 20 ms',
      met: r.failed_page_ms_p99 < 20,
    },
    {
      figure: `GET /jobs?offset=${r.jobs_in_store / 2} p50 / p99`,
      value: `${fmt(r.deep_offset_ms_p50, '')} / ${fmt(r.deep_offset_ms_p99)}`,
      target: 'p99 < 20 ms',
      met: r.deep_offset_ms_p99 < 20,
    },
    {
      figure: 'GET /jobs/{id} p50 / p99',
      value: `${fmt(r.get_job_ms_p50, '')} / ${fmt(r.get_job_ms_p99)}`,
      target: 'p99 < 20 ms',
      met: r.get_job_ms_p99 < 20,
    },
    {
      figure: 'NATS: GET /jobs (worse of the two queries) p50 / p99',
      value: `${fmt(r.nats_get_jobs_ms_p50, '')} / ${fmt(r.nats_get_jobs_ms_p99)}`,
      target: 'p99 < 20 ms',
      met: r.nats_get_jobs_ms_p99 < 20,
    },
    {
      figure: 'NATS: GET /jobs/{id} p99',
      value: fmt(r.nats_get_job_ms_p99),
      target: 'p99 < 20 ms',
      met: r.nats_get_job_ms_p99 < 20,
    },
    {
      figure: 'NATS: GET /jobs p99 on a second replica',
      value: fmt(r.nats_second_replica_get_jobs_ms_p99),
      target: 'p99 < 20 ms',
      met: r.nats_second_replica_get_jobs_ms_p99 < 20,
    },
    { figure: `NATS: replica start with ${r.jobs_in_store} jobs`, value: fmt(r.nats_start_s, 's') },
  ],
};

/** The list queries' latencies against a server holding `jobs` jobs. */
async function latencies(url: string, jobs: number, requests: number): Promise<Latencies> {
  const ids = await sampleIds(url, jobs);
  const paths = {
    failed: '/jobs?status=FAILED&limit=20',
    deep: `/jobs?offset=${jobs / 2}`,
    job: () => `/jobs/${ids[Math.floor(Math.random() * ids.length)]!}`,
    health: '/health',
  };
  const times: Record<keyof typeof paths, number[]> = {
    failed: [],
    deep: [],
    job: [],
    health: [],
  };
  for (let i = -WARMUP; i < requests; i++) {
    for (const key of Object.keys(paths) as (keyof typeof paths)[]) {
      const path = paths[key];
      const ms = await timeGet(url, typeof path === 'string' ? path : path());
      if (i >= 0) times[key].push(ms);
    }
  }
  const p = (key: keyof typeof paths, q: number) => round(percentile(times[key], q));
  return {
    // The slower of the two list queries, so the target is checked against the worst case.
    get_jobs_ms_p50: Math.max(p('failed', 50), p('deep', 50)),
    get_jobs_ms_p99: Math.max(p('failed', 99), p('deep', 99)),
    get_job_ms_p50: p('job', 50),
    get_job_ms_p99: p('job', 99),
    failed_page_ms_p50: p('failed', 50),
    failed_page_ms_p99: p('failed', 99),
    deep_offset_ms_p50: p('deep', 50),
    deep_offset_ms_p99: p('deep', 99),
    health_floor_ms_p50: round(median(times.health)),
  };
}

async function timeGet(base: string, path: string): Promise<number> {
  const t0 = now();
  const res = await fetch(`${base}${path}`);
  await res.text();
  const ms = now() - t0;
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  return ms;
}

/** Ids spread over the whole history, read through the API. */
async function sampleIds(base: string, jobs: number): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 0; page < 10; page++) {
    const offset = Math.floor((page / 10) * (jobs - 100));
    const res = await fetch(`${base}/jobs?limit=100&offset=${offset}`);
    const body = (await res.json()) as { jobs: { id: string }[] };
    ids.push(...body.jobs.map((j) => j.id));
  }
  if (ids.length === 0) throw new Error('the seeded store lists no jobs');
  return ids;
}
