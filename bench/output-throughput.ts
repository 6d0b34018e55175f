/**
 * output_throughput — one agent writing 100-byte lines as fast as it can for a while
 * (agents/line-writer.mjs), under Forge (captured to the log, the tail and the live bus) versus
 * writing to /dev/null; and, for comparison, to a pipe drained by `cat > /dev/null` and by a Node
 * process that drops what it reads (Node's socket pair). Forge runs twice: with its data dir on
 * /tmp (this machine's disk, whose writeback throttles a fast writer now and then) and on tmpfs
 * (/dev/shm: the capture's own cost, without the disk). The same again with the C twin of the
 * writer (agents/line-writer.c, built here with cc), which has no runtime of its own in the way.
 * Rounds interleave them all; each figure is the median over rounds.
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
import { findSpawnHelper } from '../src/adapters/sandbox/spawn-helper/helper-binary.ts';
import { SpawnHelper } from '../src/adapters/sandbox/spawn-helper/spawn-helper.ts';
import { benchEnv } from './processes.ts';

export interface OutputThroughputResult {
  mb_per_s_captured: number;
  agent_slowdown_ratio: number;
  /** The same with Forge's data dir on tmpfs. */
  agent_slowdown_ratio_tmpfs: number;
  /** The C writer: alone to /dev/null, and its slowdown under Forge (data on /tmp, on tmpfs). */
  c_mb_per_s_devnull: number;
  /** The C writer into a pipe drained by cat: what any pipe costs a writer this fast. */
  c_slowdown_ratio_cat: number;
  c_slowdown_ratio: number;
  c_slowdown_ratio_tmpfs: number;
  mb_per_s_devnull: number;
  mb_per_s_pipe_cat: number;
  mb_per_s_pipe_node: number;
  /** Through forge-spawn's 1 MiB pipe to a Node reader that drops every chunk: the floor of
   *  Forge's capture, its own handling left out. */
  mb_per_s_helper_floor: number;
  /** The agent's rate to a `cat` pipe ÷ its rate under Forge: Forge's own share of the slowdown. */
  slowdown_over_pipe_floor: number;
  seconds: number;
  rounds: number;
  tail_ok: boolean;
}

const WRITER = new URL('./agents/line-writer.mjs', import.meta.url).pathname;
const C_WRITER_SOURCE = new URL('./agents/line-writer.c', import.meta.url).pathname;
const MB = 1e6;

interface Record {
  lines: number;
  bytes: number;
  ms: number;
  last: string;
}

export const outputThroughput: Benchmark<OutputThroughputResult> = {
  name: 'output_throughput',
  fields: [
    'mb_per_s_captured',
    'agent_slowdown_ratio',
    'agent_slowdown_ratio_tmpfs',
    'c_slowdown_ratio',
  ],
  async run({ quick, scope, log }) {
    const seconds = quick ? 2 : 10;
    const rounds = quick ? 1 : 3;
    const dir = await mkdtemp(join(tmpdir(), 'forge-bench-output-'));
    scope.defer(() => rm(dir, { recursive: true, force: true }));
    const cWriter = join(dir, 'line-writer');
    await run('cc', ['-O2', '-o', cWriter, C_WRITER_SOURCE]);
    const writers = {
      writer: [process.execPath, WRITER, '{prompt}'],
      'c-writer': [cWriter, '{prompt}'],
    };
    const built = findSpawnHelper();
    if (!built.ok) throw new Error(built.reason);
    const helper = new SpawnHelper(built.path);
    scope.defer(() => helper.close());
    const onDisk = await startBenchForge(scope, { agents: writers, maxConcurrent: 1 });
    const shm = await mkdtemp(join('/dev/shm', 'forge-bench-output-'));
    const onTmpfs = await startBenchForge(scope, {
      agents: writers,
      maxConcurrent: 1,
      dataDir: shm,
    });
    const series = {
      captured: [] as number[],
      devnull: [] as number[],
      cat: [] as number[],
      node: [] as number[],
      helper: [] as number[],
      ratio: [] as number[],
      ratioTmpfs: [] as number[],
      cDevnull: [] as number[],
      cCat: [] as number[],
      cRatio: [] as number[],
      cRatioTmpfs: [] as number[],
      overFloor: [] as number[],
    };
    let tailOk = true;
    const rate = (x: Record) => x.bytes / MB / (x.ms / 1000);
    for (let r = 0; r < rounds; r++) {
      const file = (name: string) => join(dir, `${name}-${r}.json`);
      const node = [process.execPath, WRITER];
      const alone = await direct(node, 'devnull', seconds, file('devnull'));
      const catted = await direct(node, 'cat', seconds, file('cat'));
      const drained = await direct(node, 'node', seconds, file('node'));
      const helped = await throughHelper(helper, node, seconds, file('helper'));
      const forged = await underForge(onDisk, 'writer', seconds, file('forge'));
      const tmpfs = await underForge(onTmpfs, 'writer', seconds, file('tmpfs'));
      const cAlone = await direct([cWriter], 'devnull', seconds, file('c-devnull'));
      const cCatted = await direct([cWriter], 'cat', seconds, file('c-cat'));
      const cForged = await underForge(onDisk, 'c-writer', seconds, file('c-forge'));
      const cTmpfs = await underForge(onTmpfs, 'c-writer', seconds, file('c-tmpfs'));
      // What reached the log per second of the agent's writing.
      series.captured.push(forged.logBytes / MB / (forged.record.ms / 1000));
      series.devnull.push(rate(alone));
      series.cat.push(rate(catted));
      series.node.push(rate(drained));
      series.helper.push(rate(helped));
      series.ratio.push(rate(alone) / rate(forged.record));
      series.ratioTmpfs.push(rate(alone) / rate(tmpfs.record));
      series.cDevnull.push(rate(cAlone));
      series.cCat.push(rate(cAlone) / rate(cCatted));
      series.cRatio.push(rate(cAlone) / rate(cForged.record));
      series.cRatioTmpfs.push(rate(cAlone) / rate(cTmpfs.record));
      series.overFloor.push(rate(catted) / rate(forged.record));
      for (const f of [forged, tmpfs, cForged, cTmpfs])
        tailOk &&= f.tailOk && f.logBytes >= f.record.bytes;
      log(
        `round ${r + 1}/${rounds}: Node writer /dev/null ${rate(alone).toFixed(1)}, cat ${rate(catted).toFixed(1)}, node ${rate(drained).toFixed(1)}, forge-spawn ${rate(helped).toFixed(1)}, forge ${rate(forged.record).toFixed(1)}, forge on tmpfs ${rate(tmpfs.record).toFixed(1)} MB/s; C writer /dev/null ${rate(cAlone).toFixed(1)}, cat ${rate(cCatted).toFixed(1)}, forge ${rate(cForged.record).toFixed(1)}, on tmpfs ${rate(cTmpfs.record).toFixed(1)} MB/s`,
      );
    }
    if (!tailOk)
      throw new Error(
        'Forge lost output: the log is shorter than what the agent wrote, or the tail does not end with its last line',
      );
    const m = (xs: number[]) => round(median(xs));
    return {
      mb_per_s_captured: m(series.captured),
      agent_slowdown_ratio: m(series.ratio),
      agent_slowdown_ratio_tmpfs: m(series.ratioTmpfs),
      c_mb_per_s_devnull: m(series.cDevnull),
      c_slowdown_ratio_cat: m(series.cCat),
      c_slowdown_ratio: m(series.cRatio),
      c_slowdown_ratio_tmpfs: m(series.cRatioTmpfs),
      mb_per_s_devnull: m(series.devnull),
      mb_per_s_pipe_cat: m(series.cat),
      mb_per_s_pipe_node: m(series.node),
      mb_per_s_helper_floor: m(series.helper),
      slowdown_over_pipe_floor: m(series.overFloor),
      seconds,
      rounds,
      tail_ok: tailOk,
    };
  },
  rows: (r) => [
    { figure: 'Node writer alone, to /dev/null', value: fmt(r.mb_per_s_devnull, 'MB/s') },
    {
      figure: "to a pipe drained by cat / by Node's socket pair",
      value: `${fmt(r.mb_per_s_pipe_cat, '')} / ${fmt(r.mb_per_s_pipe_node, 'MB/s')}`,
    },
    {
      figure: 'through forge-spawn to a reader that drops it (floor): slowdown',
      value: `${fmt(r.mb_per_s_devnull / r.mb_per_s_helper_floor, '')}×`,
    },
    { figure: 'captured by Forge (log + tail + bus)', value: fmt(r.mb_per_s_captured, 'MB/s') },
    {
      figure: 'Node writer slowdown under Forge, data on /tmp (ext4)',
      value: `${fmt(r.agent_slowdown_ratio, '')}×`,
      target: '≤ 1.15×',
      met: r.agent_slowdown_ratio <= 1.15,
    },
    {
      figure: 'Node writer slowdown under Forge, data on tmpfs',
      value: `${fmt(r.agent_slowdown_ratio_tmpfs, '')}×`,
      target: '≤ 1.15×',
      met: r.agent_slowdown_ratio_tmpfs <= 1.15,
    },
    {
      figure: 'Node writer slowdown over the cat pipe',
      value: `${fmt(r.slowdown_over_pipe_floor, '')}×`,
    },
    { figure: 'C writer alone, to /dev/null', value: fmt(r.c_mb_per_s_devnull, 'MB/s') },
    {
      figure: 'C writer slowdown into a cat pipe (floor)',
      value: `${fmt(r.c_slowdown_ratio_cat, '')}×`,
    },
    {
      figure: 'C writer slowdown under Forge, on /tmp / on tmpfs',
      value: `${fmt(r.c_slowdown_ratio, '')}× / ${fmt(r.c_slowdown_ratio_tmpfs, '')}×`,
    },
  ],
};

async function direct(
  writer: string[],
  to: 'devnull' | 'cat' | 'node',
  seconds: number,
  recordFile: string,
): Promise<Record> {
  const nullFd = openSync('/dev/null', 'w');
  const argv = [...writer, `${seconds} ${recordFile}`];
  try {
    const child =
      to === 'cat'
        ? spawn('/bin/sh', ['-c', '"$@" | cat > /dev/null', 'sh', ...argv], {
            env: benchEnv(),
            stdio: ['ignore', 'ignore', 'inherit'],
          })
        : spawn(argv[0]!, argv.slice(1), {
            env: benchEnv(),
            stdio: ['ignore', to === 'node' ? 'pipe' : nullFd, 'inherit'],
          });
    child.stdout?.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`${writer.at(-1)} exited with ${code}`);
  } finally {
    closeSync(nullFd);
  }
  return JSON.parse(await readFile(recordFile, 'utf8')) as Record;
}

/** The writer started by forge-spawn, its output read and dropped: what capture costs before
 *  Forge does anything with it. */
async function throughHelper(
  helper: SpawnHelper,
  writer: string[],
  seconds: number,
  recordFile: string,
): Promise<Record> {
  const p = await helper.spawn({
    argv: [...writer, `${seconds} ${recordFile}`],
    env: benchEnv(),
    cwd: tmpdir(),
    cgroup: null,
    stdin: { kind: 'null' },
  });
  for await (const chunk of p.stdout) void chunk;
  const exit = await p.exit;
  if (exit.exitCode !== 0) throw new Error(`${writer.at(-1)} exited with ${JSON.stringify(exit)}`);
  return JSON.parse(await readFile(recordFile, 'utf8')) as Record;
}

async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
}

async function underForge(
  forge: ForgeProcess,
  agent: string,
  seconds: number,
  recordFile: string,
): Promise<{ record: Record; logBytes: number; tailOk: boolean }> {
  const id = await forge.submit(`${seconds} ${recordFile}`, { agent });
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
  // Gigabytes of logs left dirty in the page cache would be written back while the benchmarks
  // after this one run, and slow their disk: removed now, they never reach the disk.
  await rm(join(forge.dataDir, 'jobs', id), { recursive: true, force: true });
  const tail = job.attempts[0]!.output.trimEnd().split('\n');
  return { record, logBytes, tailOk: tail.at(-1) === record.last };
}
