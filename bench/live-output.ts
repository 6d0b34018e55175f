/**
 * live_output — the scripted agent prints timestamped lines at a steady rate; a client on
 * `GET /jobs/{id}/events` receives them; print-to-receive latency per line. The floor is the same
 * agent read straight from its stdout pipe by this process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCRIPTED_AGENT } from '../test/support/forge-server.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { startBenchForge } from './forge.ts';
import { median, now, percentile, round } from './measure.ts';
import { benchEnv } from './processes.ts';

export interface LiveOutputResult {
  lines: number;
  print_to_sse_ms_p50: number;
  print_to_sse_ms_p99: number;
  pipe_floor_ms_p50: number;
  pipe_floor_ms_p99: number;
  interval_ms: number;
}

const INTERVAL_MS = 10;
const LINE = /^line (\d+) at ([\d.]+)$/;

export const liveOutput: Benchmark<LiveOutputResult> = {
  name: 'live_output',
  fields: ['lines', 'print_to_sse_ms_p50', 'print_to_sse_ms_p99'],
  async run({ quick, scope }) {
    const lines = quick ? 200 : 1000;
    // A head start, so the client is listening live (not replaying the log) from the first line.
    const script = `sleep 300; lines ${lines} ${INTERVAL_MS}`;
    const forge = await startBenchForge(scope, {
      agents: { script: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
      maxConcurrent: 1,
    });
    const id = await forge.submit(script);
    const sse = await sseLatencies(`${forge.url}/jobs/${id}/events`);
    const dir = await mkdtemp(join(tmpdir(), 'forge-bench-live-'));
    scope.defer(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'prompt.txt'), script);
    const pipe = await pipeLatencies(join(dir, 'prompt.txt'));
    for (const [what, got] of [
      ['SSE', sse],
      ['pipe', pipe],
    ] as const) {
      if (got.length !== lines)
        throw new Error(`the ${what} client received ${got.length} of ${lines} lines`);
    }
    return {
      lines,
      print_to_sse_ms_p50: round(median(sse)),
      print_to_sse_ms_p99: round(percentile(sse, 99)),
      pipe_floor_ms_p50: round(median(pipe)),
      pipe_floor_ms_p99: round(percentile(pipe, 99)),
      interval_ms: INTERVAL_MS,
    };
  },
  rows: (r) => [
    {
      figure: 'pipe floor p50 / p99',
      value: `${fmt(r.pipe_floor_ms_p50, '')} / ${fmt(r.pipe_floor_ms_p99)}`,
    },
    {
      figure: `print → SSE client p50 (${r.lines} lines)`,
      value: fmt(r.print_to_sse_ms_p50),
      target: '< 20 ms',
      met: r.print_to_sse_ms_p50 < 20,
    },
    { figure: 'print → SSE client p99', value: fmt(r.print_to_sse_ms_p99) },
  ],
};

/** Follows the job's event stream to its end; one latency per `line N at T` output event. */
async function sseLatencies(url: string): Promise<number[]> {
  const res = await fetch(url);
  if (res.status !== 200 || !res.body) throw new Error(`GET ${url} answered ${res.status}`);
  const latencies: number[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body) {
    const at = now();
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    const events = buffered.split('\n\n');
    buffered = events.pop() ?? '';
    for (const event of events) {
      if (!event.startsWith('event: output')) continue;
      const data = /^data: (.*)$/m.exec(event)?.[1];
      const match = data ? LINE.exec((JSON.parse(data) as { line: string }).line) : null;
      if (match) latencies.push(at - Number(match[2]));
    }
  }
  return latencies;
}

/** The same agent read straight from its stdout pipe. */
async function pipeLatencies(promptFile: string): Promise<number[]> {
  const child = spawn(process.execPath, [SCRIPTED_AGENT, promptFile], {
    env: benchEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const latencies: number[] = [];
  let buffered = '';
  for await (const chunk of child.stdout) {
    const at = now();
    buffered += (chunk as Buffer).toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const match = LINE.exec(line);
      if (match) latencies.push(at - Number(match[2]));
    }
  }
  return latencies;
}
