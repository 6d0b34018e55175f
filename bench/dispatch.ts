/**
 * dispatch — submit over HTTP to agent start, one job at a time, next to the floor: the same agent
 * command spawned directly from this Node process. Samples alternate floor/Forge so both see the
 * same machine.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { JobJson } from '../test/support/forge-server.ts';
import { countJobs, startBenchForge, TERMINAL, type ForgeProcess } from './forge.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, now, percentile, round } from './measure.ts';
import { benchEnv } from './processes.ts';
import { STAMP_AGENT, stampDir, type StampDir } from './stamps.ts';
import { startNatsServer } from '../test/support/nats-server.ts';

export interface DispatchResult {
  jobs: number;
  spawn_floor_ms_p50: number;
  spawn_floor_ms_p99: number;
  submit_to_start_ms_p50: number;
  submit_to_start_ms_p99: number;
  overhead_ms_p50: number;
  /** Job created → attempt opened, from the store's own timestamps (ms resolution). */
  claim_ms_p50: number;
  /** Agent start → attempt closed (the agent itself exits within ~1 ms). */
  start_to_finished_ms_p50: number;
  agent: string;
  /** The same, with the NATS store (one replica, a local nats-server). */
  nats_submit_to_start_ms_p50: number;
  nats_submit_to_start_ms_p99: number;
  /** NATS minus SQLite, submit → agent start p50. */
  nats_over_sqlite_ms_p50: number;
  /** Two replicas sharing one queue, jobs submitted to each in turn (either may run them). */
  nats_two_replicas_submit_to_start_ms_p50: number;
}

const WARMUP = 3;

export const dispatch: Benchmark<DispatchResult> = {
  name: 'dispatch',
  fields: [
    'jobs',
    'spawn_floor_ms_p50',
    'submit_to_start_ms_p50',
    'submit_to_start_ms_p99',
    'overhead_ms_p50',
  ],
  async run({ quick, scope, log }) {
    const jobs = quick ? 30 : 200;
    const stamps = await stampDir(scope);
    const forge = await startBenchForge(scope, {
      agents: { stamp: STAMP_AGENT },
      maxConcurrent: 1,
      agentEnv: { STAMP_DIR: stamps.dir },
    });
    const nats = await startNatsServer();
    scope.defer(() => nats.stop());
    const natsForge = await startBenchForge(scope, {
      agents: { stamp: STAMP_AGENT },
      maxConcurrent: 1,
      agentEnv: { STAMP_DIR: stamps.dir },
      store: { kind: 'nats', url: nats.url },
    });
    const pair: ForgeProcess[] = [];
    for (let r = 0; r < 2; r++)
      pair.push(
        await startBenchForge(scope, {
          agents: { stamp: STAMP_AGENT },
          maxConcurrent: 1,
          agentEnv: { STAMP_DIR: stamps.dir },
          store: { kind: 'nats', url: nats.url, prefix: 'pair' },
        }),
      );
    const floor: number[] = [];
    const forged: number[] = [];
    const onNats: number[] = [];
    const onPair: number[] = [];
    const claim: number[] = [];
    const finish: number[] = [];
    for (let i = -WARMUP; i < jobs; i++) {
      const f = await floorSample(stamps, `floor-${i + WARMUP}`);
      const s = await forgeSample(forge, stamps);
      const n = await forgeSample(natsForge, stamps);
      const p = await forgeSample(pair[(i + WARMUP) % 2]!, stamps);
      if (i < 0) continue;
      onNats.push(n.startMs);
      onPair.push(p.startMs);
      floor.push(f);
      forged.push(s.startMs);
      claim.push(s.claimMs);
      finish.push(s.finishMs);
      if ((i + 1) % 50 === 0) log(`${i + 1}/${jobs} jobs`);
    }
    if ((await countJobs(forge, 'SUCCEEDED')) !== jobs + WARMUP)
      throw new Error(`not every dispatch job succeeded: ${forge.stderr.slice(-2000)}`);
    return {
      jobs,
      spawn_floor_ms_p50: round(median(floor)),
      spawn_floor_ms_p99: round(percentile(floor, 99)),
      submit_to_start_ms_p50: round(median(forged)),
      submit_to_start_ms_p99: round(percentile(forged, 99)),
      overhead_ms_p50: round(median(forged) - median(floor)),
      claim_ms_p50: round(median(claim)),
      start_to_finished_ms_p50: round(median(finish)),
      agent: STAMP_AGENT.join(' '),
      nats_submit_to_start_ms_p50: round(median(onNats)),
      nats_submit_to_start_ms_p99: round(percentile(onNats, 99)),
      nats_over_sqlite_ms_p50: round(median(onNats) - median(forged)),
      nats_two_replicas_submit_to_start_ms_p50: round(median(onPair)),
    };
  },
  rows: (r) => [
    {
      figure: 'spawn floor p50 / p99',
      value: `${fmt(r.spawn_floor_ms_p50, '')} / ${fmt(r.spawn_floor_ms_p99)}`,
    },
    {
      figure: 'submit → agent start p50 / p99',
      value: `${fmt(r.submit_to_start_ms_p50, '')} / ${fmt(r.submit_to_start_ms_p99)}`,
    },
    {
      figure: 'overhead over floor p50',
      value: fmt(r.overhead_ms_p50),
      target: '≤ 5 ms',
      met: r.overhead_ms_p50 <= 5,
    },
    { figure: 'agent start → attempt closed p50', value: fmt(r.start_to_finished_ms_p50) },
    {
      figure: 'NATS store: submit → agent start p50 / p99',
      value: `${fmt(r.nats_submit_to_start_ms_p50, '')} / ${fmt(r.nats_submit_to_start_ms_p99)}`,
    },
    {
      figure: 'NATS over SQLite p50',
      value: fmt(r.nats_over_sqlite_ms_p50),
      target: '< 2 ms',
      met: r.nats_over_sqlite_ms_p50 < 2,
    },
    {
      figure: 'NATS, two replicas: submit → agent start p50',
      value: fmt(r.nats_two_replicas_submit_to_start_ms_p50),
    },
  ],
};

async function floorSample(stamps: StampDir, name: string): Promise<number> {
  const t0 = now();
  const child = spawn(STAMP_AGENT[0]!, STAMP_AGENT.slice(1), {
    env: benchEnv({ STAMP_DIR: stamps.dir, FORGE_JOB_ID: name }),
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  child.stdout.resume();
  const closed = once(child, 'close');
  const stamp = await stamps.next(name);
  await closed;
  return stamp - t0;
}

async function forgeSample(
  forge: ForgeProcess,
  stamps: StampDir,
): Promise<{ startMs: number; claimMs: number; finishMs: number }> {
  const t0 = now();
  const res = await forge.api<{ id: string }>('POST', '/jobs', {
    task: 'dispatch',
    agent: 'stamp',
  });
  if (res.status !== 202)
    throw new Error(`POST /jobs answered ${res.status}: ${JSON.stringify(res.body)}`);
  const stamp = await stamps.next(res.body.id);
  // One at a time: the next submission waits until this job is over (polling after the start
  // cannot disturb what was measured).
  const job = await finished(forge, res.body.id);
  const attempt = job.attempts[0]!;
  return {
    startMs: stamp - t0,
    claimMs: Date.parse(String(attempt.started_at)) - Date.parse(String(job.created_at)),
    finishMs: Date.parse(String(attempt.finished_at)) - stamp,
  };
}

async function finished(forge: ForgeProcess, id: string): Promise<JobJson> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await forge.job(id);
    if (TERMINAL.includes(job.status)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${id} did not finish in 30 s: ${JSON.stringify(job).slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
