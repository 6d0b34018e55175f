/**
 * cancel — how long after an abort an attempt's whole process tree is gone, through the local
 * sandbox Forge uses: an agent whose processes ignore SIGTERM (so only the escalation to SIGKILL
 * stops them), for isolation `none` (with per-attempt cgroups where the host allows them) and
 * `srt`. Forge promises a second; the sandbox contract only checks that nothing is left.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalSandbox } from '../src/adapters/sandbox/local-sandbox.ts';
import type { Sandbox } from '../src/ports/sandbox.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, now, round } from './measure.ts';
import { benchSandboxSpec } from './sandbox-spec.ts';

export interface CancelResult {
  gone_none_ms_p50: number;
  gone_none_ms_max: number;
  gone_srt_ms_p50: number;
  gone_srt_ms_max: number;
  runs: number;
}

const AGENT = ['/bin/sh', '-c', 'trap "" TERM; sleep 60 & echo started; wait'];

export const cancel: Benchmark<CancelResult> = {
  name: 'cancel',
  fields: ['gone_none_ms_p50', 'gone_srt_ms_p50'],
  async run({ quick, scope }) {
    const runs = quick ? 3 : 10;
    const root = await mkdtemp(join(tmpdir(), 'forge-bench-cancel-'));
    scope.defer(() => rm(root, { recursive: true, force: true }));
    const samples = { none: [] as number[], srt: [] as number[] };
    let n = 0;
    for (let i = 0; i < runs; i++) {
      for (const kind of ['none', 'srt'] as const) {
        const sandbox = createLocalSandbox({ isolation: kind });
        samples[kind].push(await cancelOnce(sandbox, join(root, String(n++))));
      }
    }
    return {
      gone_none_ms_p50: round(median(samples.none)),
      gone_none_ms_max: round(Math.max(...samples.none)),
      gone_srt_ms_p50: round(median(samples.srt)),
      gone_srt_ms_max: round(Math.max(...samples.srt)),
      runs,
    };
  },
  rows: (r) => [
    {
      figure: 'abort → whole tree gone, none p50 / max',
      value: `${fmt(r.gone_none_ms_p50, '')} / ${fmt(r.gone_none_ms_max)}`,
      target: '< 1000 ms',
      met: r.gone_none_ms_max < 1000,
    },
    {
      figure: 'abort → whole tree gone, srt p50 / max',
      value: `${fmt(r.gone_srt_ms_p50, '')} / ${fmt(r.gone_srt_ms_max)}`,
      target: '< 1000 ms',
      met: r.gone_srt_ms_max < 1000,
    },
  ],
};

async function cancelOnce(sandbox: Sandbox, dir: string): Promise<number> {
  const spec = await benchSandboxSpec(dir, AGENT, 'cancel');
  const { labels } = spec;
  const controller = new AbortController();
  const run = await sandbox.start(spec, controller.signal);
  const reading = (async () => {
    let output = '';
    for await (const chunk of run.output) {
      output += chunk.toString();
      if (output.includes('started')) return;
    }
    throw new Error(`the agent ended before it started: ${output.slice(-500)}`);
  })();
  await reading;
  const t0 = now();
  controller.abort();
  while (await sandbox.alive(labels)) await sleep(2);
  const gone = now() - t0;
  await run.exited;
  return gone;
}
