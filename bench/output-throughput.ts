/**
 * output_throughput — one agent writing 100-byte lines as fast as it can for a while
 * (agents/line-writer.mjs), under Forge (captured to the log, the tail and the live bus) versus
 * writing to /dev/null; and, as floors of any capture, to a pipe drained by `cat > /dev/null` (the
 * cheapest reader there is) and by a Node process that drops what it reads (the cheapest a Node
 * server can be). Rounds interleave the four; each figure is the median over rounds.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, type Benchmark } from './benchmark.ts';
import { startBenchForge, TERMINAL, type ForgeProcess } from './forge.ts';
import { median, round, until } from './measure.ts';
import { benchEnv } from './processes.ts';

export interface OutputThroughputResult {
  mb_per_s_captured: number;
  agent_slowdown_ratio: number;
  mb_per_s_devnull: number;
  mb_per_s_pipe_cat: number;
  mb_per_s_pipe_node: number;
  /** The agent's rate to a `cat` pipe ÷ its rate under Forge: Forge's own share of the slowdown. */
  slowdown_over_pipe_floor: number;
  seconds: number;
  rounds: number;
  tail_ok: boolean;
}

const WRITER = new URL('./agents/line-writer.mjs', import.meta.url).pathname;
const MB = 1e6;

interface Record {
  lines: number;
  bytes: number;
  ms: number;
  last: string;
}

export const outputThroughput: Benchmark<OutputThroughputResult> = {
  name: 'output_throughput',
  fields: ['mb_per_s_captured', 'agent_slowdown_ratio'],
  async run({ quick, scope, log }) {
    const seconds = quick ? 2 : 10;
    const rounds = quick ? 1 : 3;
    const dir = await mkdtemp(join(tmpdir(), 'forge-bench-output-'));
    scope.defer(() => rm(dir, { recursive: true, force: true }));
    const forge = await startBenchForge(scope, {
      agents: { writer: [process.execPath, WRITER, '{prompt}'] },
      maxConcurrent: 1,
    });
    const captured: number[] = [];
    const devnull: number[] = [];
    const cat: number[] = [];
    const node: number[] = [];
    const ratios: number[] = [];
    const overFloor: number[] = [];
    let tailOk = true;
    for (let r = 0; r < rounds; r++) {
      const alone = await direct('devnull', seconds, join(dir, `devnull-${r}.json`));
      const catted = await direct('cat', seconds, join(dir, `cat-${r}.json`));
      const drained = await direct('node', seconds, join(dir, `node-${r}.json`));
      const forged = await underForge(forge, seconds, join(dir, `forge-${r}.json`));
      const rate = (x: Record) => x.bytes / MB / (x.ms / 1000);
      // What reached the log per second of the agent's writing.
      captured.push(forged.logBytes / MB / (forged.record.ms / 1000));
      devnull.push(rate(alone));
      cat.push(rate(catted));
      node.push(rate(drained));
      ratios.push(rate(alone) / rate(forged.record));
      overFloor.push(rate(catted) / rate(forged.record));
      tailOk &&= forged.tailOk && forged.logBytes >= forged.record.bytes;
      log(
        `round ${r + 1}/${rounds}: /dev/null ${devnull[r]!.toFixed(1)}, cat ${cat[r]!.toFixed(1)}, node ${node[r]!.toFixed(1)}, forge ${captured[r]!.toFixed(1)} MB/s`,
      );
    }
    if (!tailOk)
      throw new Error(
        'Forge lost output: the log is shorter than what the agent wrote, or the tail does not end with its last line',
      );
    return {
      mb_per_s_captured: round(median(captured)),
      agent_slowdown_ratio: round(median(ratios)),
      mb_per_s_devnull: round(median(devnull)),
      mb_per_s_pipe_cat: round(median(cat)),
      mb_per_s_pipe_node: round(median(node)),
      slowdown_over_pipe_floor: round(median(overFloor)),
      seconds,
      rounds,
      tail_ok: tailOk,
    };
  },
  rows: (r) => [
    { figure: 'agent alone, to /dev/null', value: fmt(r.mb_per_s_devnull, 'MB/s') },
    {
      figure: 'to a pipe drained by cat / by Node (floors)',
      value: `${fmt(r.mb_per_s_pipe_cat, '')} / ${fmt(r.mb_per_s_pipe_node, 'MB/s')}`,
    },
    { figure: 'captured by Forge (log + tail + bus)', value: fmt(r.mb_per_s_captured, 'MB/s') },
    {
      figure: 'agent slowdown (/dev/null rate ÷ Forge rate)',
      value: `${fmt(r.agent_slowdown_ratio, '')}×`,
      target: '< 1.10×',
      met: r.agent_slowdown_ratio < 1.1,
    },
    {
      figure: 'agent slowdown over the cat pipe',
      value: `${fmt(r.slowdown_over_pipe_floor, '')}×`,
    },
  ],
};

async function direct(
  to: 'devnull' | 'cat' | 'node',
  seconds: number,
  recordFile: string,
): Promise<Record> {
  const nullFd = openSync('/dev/null', 'w');
  const argv = [process.execPath, WRITER, `${seconds} ${recordFile}`];
  try {
    const child =
      to === 'cat'
        ? spawn('/bin/sh', ['-c', '"$0" "$1" "$2" | cat > /dev/null', ...argv], {
            env: benchEnv(),
            stdio: ['ignore', 'ignore', 'inherit'],
          })
        : spawn(argv[0]!, argv.slice(1), {
            env: benchEnv(),
            stdio: ['ignore', to === 'node' ? 'pipe' : nullFd, 'inherit'],
          });
    child.stdout?.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`line-writer exited with ${code}`);
  } finally {
    closeSync(nullFd);
  }
  return JSON.parse(await readFile(recordFile, 'utf8')) as Record;
}

async function underForge(
  forge: ForgeProcess,
  seconds: number,
  recordFile: string,
): Promise<{ record: Record; logBytes: number; tailOk: boolean }> {
  const id = await forge.submit(`${seconds} ${recordFile}`, { agent: 'writer' });
  await until(
    async () => TERMINAL.includes((await forge.job(id)).status),
    `output job ${id} to end`,
    500,
  );
  const job = await forge.job(id);
  if (job.status !== 'SUCCEEDED')
    throw new Error(`the writer job ended ${job.status}: ${JSON.stringify(job.failure)}`);
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as Record;
  const logBytes = (await stat(join(forge.dataDir, 'jobs', id, 'attempt-1', 'output.log'))).size;
  const tail = job.attempts[0]!.output.trimEnd().split('\n');
  return { record, logBytes, tailOk: tail.at(-1) === record.last };
}
