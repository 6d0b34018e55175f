/**
 * memory — `forge serve`'s RSS idle (after a warm-up job, so code loaded on first use is not
 * counted per job), then with N agents running at once, each printing a line every 100 ms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fmt, type Benchmark } from './benchmark.ts';
import { countJobs, startBenchForge, TERMINAL, type ForgeProcess } from './forge.ts';
import { median, pool, round, until } from './measure.ts';
import { rssKb } from './processes.ts';

export interface MemoryResult {
  running_jobs: number;
  rss_mb_idle: number;
  rss_mb_loaded: number;
  rss_kb_per_running_job: number;
  rss_mb_fresh: number;
  rss_mb_after: number;
}

const TICKER = ['/bin/sh', '-c', 'while :; do echo tick; sleep 0.1; done'];

export const memory: Benchmark<MemoryResult> = {
  name: 'memory',
  fields: ['running_jobs', 'rss_mb_idle', 'rss_mb_loaded', 'rss_kb_per_running_job'],
  async run({ quick, scope, log }) {
    const running = quick ? 10 : 50;
    const forge = await startBenchForge(scope, {
      agents: { ticker: TICKER, noop: ['/bin/true'] },
      maxConcurrent: running,
    });
    const pid = forge.proc.pid!;
    await sleep(1000);
    const fresh = await sampleRss(pid, 5);
    for (let i = 0; i < 3; i++)
      await forge.waitFor(await forge.submit('warm-up', { agent: 'noop' }));
    await sleep(1000);
    const idle = await sampleRss(pid, 5);
    const ids: string[] = [];
    await pool(running, 8, async () => ids.push(await forge.submit('tick', { agent: 'ticker' })));
    await until(
      async () => (await countJobs(forge, 'RUNNING')) === running,
      `${running} jobs to be running`,
      200,
    );
    await sleep(quick ? 1000 : 3000);
    const loaded = await sampleRss(pid, quick ? 5 : 10);
    log(`idle ${(idle / 1024).toFixed(1)} MB, ${running} running ${(loaded / 1024).toFixed(1)} MB`);
    await stopAll(forge, ids);
    await sleep(1000);
    const after = await sampleRss(pid, 5);
    return {
      running_jobs: running,
      rss_mb_idle: round(idle / 1024),
      rss_mb_loaded: round(loaded / 1024),
      rss_kb_per_running_job: round((loaded - idle) / running),
      rss_mb_fresh: round(fresh / 1024),
      rss_mb_after: round(after / 1024),
    };
  },
  rows: (r) => [
    {
      figure: 'server RSS fresh / idle',
      value: `${fmt(r.rss_mb_fresh, '')} / ${fmt(r.rss_mb_idle, 'MB')}`,
    },
    {
      figure: `server RSS with ${r.running_jobs} running agents`,
      value: fmt(r.rss_mb_loaded, 'MB'),
    },
    {
      figure: 'RSS per running job',
      value: fmt(r.rss_kb_per_running_job, 'KB'),
      target: '< 1024 KB',
      met: r.rss_kb_per_running_job < 1024,
    },
  ],
};

/** Median of `count` VmRSS samples 300 ms apart, in KiB. */
async function sampleRss(pid: number, count: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const kb = await rssKb(pid);
    if (kb === null) throw new Error(`forge serve (pid ${pid}) is gone`);
    samples.push(kb);
    await sleep(300);
  }
  return median(samples);
}

async function stopAll(forge: ForgeProcess, ids: string[]): Promise<void> {
  await pool(ids.length, 8, (i) => forge.api('POST', `/jobs/${ids[i]!}/cancel`));
  await until(
    async () => (await countJobs(forge, TERMINAL)) === ids.length + 3,
    'the cancelled jobs to end',
    200,
  );
}
