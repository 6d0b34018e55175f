/**
 * spawn_rate — how fast agents' processes can be created, eight at a time: by forge-spawn (the
 * local sandbox's process helper), and by Node's own spawn, from this process and from it holding
 * 200 MB more outside the V8 heap (a server's buffers, caches and native state, which Node's fork
 * copies and waits for). Each child is
 * `/bin/true` with its output read to the end; rounds alternate the three. "Node" here is this
 * benchmark's own process, its RSS recorded beside the figure.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { findSpawnHelper } from '../src/adapters/sandbox/spawn-helper/helper-binary.ts';
import { SpawnHelper } from '../src/adapters/sandbox/spawn-helper/spawn-helper.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, round } from './measure.ts';

export interface SpawnRateResult {
  helper_per_s: number;
  node_bare_per_s: number;
  node_large_per_s: number;
  node_rss_mb: number;
  node_large_rss_mb: number;
  spawns: number;
}

const CONCURRENCY = 8;

export const spawnRate: Benchmark<SpawnRateResult> = {
  name: 'spawn_rate',
  fields: ['helper_per_s', 'node_bare_per_s', 'node_large_per_s'],
  async run({ quick, scope, log }) {
    const spawns = quick ? 300 : 600;
    const rounds = quick ? 1 : 3;
    const built = findSpawnHelper();
    if (!built.ok) throw new Error(built.reason);
    const helper = new SpawnHelper(built.path);
    scope.defer(() => helper.close());
    const viaHelper = async () => {
      const p = await helper.spawn({
        argv: ['/bin/true'],
        env: {},
        cwd: '/',
        cgroup: null,
        stdin: { kind: 'null' },
      });
      for await (const chunk of p.stdout) void chunk;
      await p.exit;
    };
    const viaNode = async () => {
      const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
      child.stdout.resume();
      await once(child, 'close');
    };
    const series = { helper: [] as number[], bare: [] as number[], large: [] as number[] };
    const rss = { bare: 0, large: 0 };
    const mb = () => process.memoryUsage().rss / 2 ** 20;
    for (let r = 0; r < rounds; r++) {
      series.helper.push(await rate(viaHelper, spawns));
      rss.bare = mb();
      series.bare.push(await rate(viaNode, spawns));
      const ballast = Array.from({ length: 200 }, () => Buffer.alloc(1 << 20, 1));
      rss.large = mb();
      series.large.push(await rate(viaNode, spawns));
      ballast.length = 0;
      log(
        `round ${r + 1}/${rounds}: forge-spawn ${series.helper[r]!.toFixed(0)}/s, Node ${series.bare[r]!.toFixed(0)}/s, Node holding 200 MB more ${series.large[r]!.toFixed(0)}/s`,
      );
    }
    return {
      helper_per_s: round(median(series.helper)),
      node_bare_per_s: round(median(series.bare)),
      node_large_per_s: round(median(series.large)),
      node_rss_mb: Math.round(rss.bare),
      node_large_rss_mb: Math.round(rss.large),
      spawns,
    };
  },
  rows: (r) => [
    { figure: 'forge-spawn, /bin/true, 8 at a time', value: fmt(r.helper_per_s, '/s') },
    {
      figure: `Node's spawn from this process (RSS ${r.node_rss_mb} MB)`,
      value: fmt(r.node_bare_per_s, '/s'),
    },
    {
      figure: `Node's spawn from it holding 200 MB more (RSS ${r.node_large_rss_mb} MB)`,
      value: fmt(r.node_large_per_s, '/s'),
    },
  ],
};

async function rate(one: () => Promise<void>, spawns: number): Promise<number> {
  let left = spawns;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await one();
    }),
  );
  return spawns / ((performance.now() - started) / 1000);
}
