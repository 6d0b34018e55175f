/**
 * isolation — start cost of an attempt's process with isolation `none` versus `srt`
 * (sandbox-runtime: bubblewrap plus its network proxy), through the local sandbox adapter Forge
 * uses: from `start()` to the agent's own start stamp, and to its exit. Samples alternate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalSandbox } from '../src/adapters/sandbox/local-sandbox.ts';
import { findSrtTools, missingToolsReason } from '../src/adapters/sandbox/srt.ts';
import type { Sandbox } from '../src/ports/sandbox.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, now, round } from './measure.ts';
import { benchSandboxSpec } from './sandbox-spec.ts';

export interface IsolationResult {
  spawn_none_ms_p50: number;
  spawn_srt_ms_p50: number;
  exit_none_ms_p50: number;
  exit_srt_ms_p50: number;
  runs: number;
}

const AGENT = ['/bin/bash', '-c', 'echo "$EPOCHREALTIME"'];

export const isolation: Benchmark<IsolationResult> = {
  name: 'isolation',
  fields: ['spawn_none_ms_p50', 'spawn_srt_ms_p50'],
  async run({ quick, scope }) {
    const tools = findSrtTools();
    if (!tools.ok)
      throw new Error(`isolation srt cannot run: ${missingToolsReason(tools.missing)}`);
    const runs = quick ? 5 : 20;
    const root = await mkdtemp(join(tmpdir(), 'forge-bench-isolation-'));
    scope.defer(() => rm(root, { recursive: true, force: true }));
    const none = createLocalSandbox({ isolation: 'none' });
    const srt = createLocalSandbox({ isolation: 'srt' });
    const samples = { none: [] as Sample[], srt: [] as Sample[] };
    let n = 0;
    for (let i = -1; i < runs; i++) {
      for (const [kind, sandbox] of [
        ['none', none],
        ['srt', srt],
      ] as const) {
        const sample = await startOnce(sandbox, join(root, String(n++)));
        if (i >= 0) samples[kind].push(sample); // the first run of each loads code: left out
      }
    }
    const p50 = (xs: Sample[], key: keyof Sample) => round(median(xs.map((x) => x[key])));
    return {
      spawn_none_ms_p50: p50(samples.none, 'startMs'),
      spawn_srt_ms_p50: p50(samples.srt, 'startMs'),
      exit_none_ms_p50: p50(samples.none, 'exitMs'),
      exit_srt_ms_p50: p50(samples.srt, 'exitMs'),
      runs,
    };
  },
  rows: (r) => [
    { figure: 'start → agent running, none p50', value: fmt(r.spawn_none_ms_p50) },
    { figure: 'start → agent running, srt p50', value: fmt(r.spawn_srt_ms_p50) },
    {
      figure: 'start → exited, none / srt p50',
      value: `${fmt(r.exit_none_ms_p50, '')} / ${fmt(r.exit_srt_ms_p50)}`,
    },
  ],
};

interface Sample {
  startMs: number;
  exitMs: number;
}

async function startOnce(sandbox: Sandbox, dir: string): Promise<Sample> {
  const spec = await benchSandboxSpec(dir, AGENT, 'isolation');
  const t0 = now();
  const run = await sandbox.start(spec, AbortSignal.timeout(60_000));
  let output = '';
  for await (const chunk of run.output) output += chunk.toString();
  const exit = await run.exited;
  const exitMs = now() - t0;
  const stamp = Number(output.trim().split('\n').at(-1)) * 1000;
  if (exit.exitCode !== 0 || !Number.isFinite(stamp))
    throw new Error(`${sandbox.label} run failed (${JSON.stringify(exit)}): ${output.slice(-500)}`);
  return { startMs: stamp - t0, exitMs };
}
