/**
 * `npm run bench [-- --quick] [-- --only=dispatch,list]`: runs the benchmarks against the real
 * `forge serve`, prints a table and writes bench/results/latest.json. Exits non-zero when any
 * benchmark failed, after writing what the others measured.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { stopAllForges } from '../test/support/forge-server.ts';
import type { Benchmark, Row } from './benchmark.ts';
import { cancel } from './cancel.ts';
import { dashboardLatency } from './dashboard-latency.ts';
import { dispatch } from './dispatch.ts';
import { isolation } from './isolation.ts';
import { kubernetes } from './kubernetes.ts';
import { list } from './list.ts';
import { liveOutput } from './live-output.ts';
import { memory } from './memory.ts';
import { outputThroughput } from './output-throughput.ts';
import { spawnRate } from './spawn-rate.ts';
import { throughput } from './throughput.ts';
import { workspace } from './workspace.ts';
import { clockStepMs, round } from './measure.ts';
import { killMarked } from './processes.ts';
import { Scope } from './scope.ts';

// The workspace benchmark writes hundreds of thousands of files; it runs late so the disk's
// writeback after it cannot slow the others. spawn_rate runs last: it grows this process by
// 200 MB, which would slow every process the benchmarks after it spawn from here (the workspace
// benchmark's git server, for one).
const BENCHMARKS = [
  dispatch,
  throughput,
  liveOutput,
  dashboardLatency,
  list,
  memory,
  outputThroughput,
  isolation,
  cancel,
  kubernetes,
  workspace,
  spawnRate,
] as unknown as Benchmark<object>[];

const RESULTS = join(import.meta.dirname, 'results', 'latest.json');

interface Outcome {
  name: string;
  result: Record<string, unknown>;
  rows: Row[];
  error: string | null;
  seconds: number;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHMARKS.map((b) => b.name).join(', ')}`,
    );
    return 2;
  }
  const started = Date.now();
  const clockAtStart = clockStepMs();
  const outcomes: Outcome[] = [];
  for (const bench of BENCHMARKS.filter((b) => !only || only.includes(b.name))) {
    outcomes.push(await runOne(bench, quick));
  }
  await stopAllForges();
  const leaked = await killMarked();
  if (leaked > 0)
    console.error(
      `warning: ${leaked} process(es) of this run were still alive at the end and were killed`,
    );
  const report = {
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    when: new Date(started).toISOString(),
    quick,
    duration_s: round((Date.now() - started) / 1000),
    clock_step_ms: round(clockStepMs() - clockAtStart),
    failed: outcomes.filter((o) => o.error !== null).map((o) => o.name),
    ...Object.fromEntries(outcomes.map((o) => [o.name, { ...o.result, duration_s: o.seconds }])),
  };
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  printTable(outcomes);
  console.log(
    `\n${report.node}, ${report.cpus} cpus (${report.cpu_model}); ${quick ? 'quick run, ' : ''}${report.duration_s} s; wrote ${RESULTS}`,
  );
  // Date.now() is whole milliseconds, so up to 1 ms of difference is rounding.
  if (Math.abs(report.clock_step_ms) > 1.5)
    console.log(
      `warning: the wall clock stepped by ${report.clock_step_ms} ms during the run; latencies across processes are suspect`,
    );
  for (const o of outcomes) if (o.error) console.log(`FAILED ${o.name}: ${o.error}`);
  return report.failed.length > 0 ? 1 : 0;
}

let current: Scope | null = null;

async function runOne(bench: Benchmark<object>, quick: boolean): Promise<Outcome> {
  const scope = (current = new Scope());
  const log = (message: string) => console.error(`[${bench.name}] ${message}`);
  const t0 = Date.now();
  log('starting');
  let outcome: Omit<Outcome, 'seconds'>;
  try {
    const result = (await bench.run({ quick, scope, log })) as Record<string, unknown>;
    const missing = bench.fields.filter((f) => typeof result[f] !== 'number');
    if (missing.length > 0) throw new Error(`result lacks ${missing.join(', ')}`);
    outcome = { name: bench.name, result, rows: bench.rows(result), error: null };
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    const result = {
      ...Object.fromEntries(bench.fields.map((f) => [f, null])),
      error: error.split('\n')[0],
    };
    outcome = {
      name: bench.name,
      result,
      rows: [{ figure: 'FAILED (see below)', value: error.split('\n')[0]!.slice(0, 60) }],
      error,
    };
  }
  const cleanupErrors = await scope.close();
  current = null;
  // Write back what this benchmark left dirty (workspaces, logs), so the next one starts on a
  // quiet disk instead of paying for it.
  try {
    execFileSync('/bin/sync');
  } catch (err) {
    log(
      `sync failed (${(err as Error).message}); the next benchmark may pay for this one's writes`,
    );
  }
  for (const err of cleanupErrors) log(`cleanup failed: ${err.message}`);
  if (outcome.error) log(`failed: ${outcome.error}`);
  const seconds = round((Date.now() - t0) / 1000);
  log(`done in ${seconds} s`);
  return { ...outcome, seconds };
}

function printTable(outcomes: Outcome[]): void {
  const lines = [['benchmark', 'figure', 'value', 'target', '']];
  for (const o of outcomes) {
    o.rows.forEach((row, i) => {
      const met = row.met === undefined ? '' : row.met ? 'met' : 'MISSED';
      lines.push([i === 0 ? o.name : '', row.figure, row.value, row.target ?? '', met]);
    });
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  console.log('');
  for (const [i, line] of lines.entries()) {
    console.log(
      line
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

// Ctrl-C or a CI timeout: stop what the current benchmark started before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping what the benchmarks started`);
    void (current?.close() ?? Promise.resolve())
      .then(() => stopAllForges())
      .then(() => killMarked())
      .finally(() => process.exit(130));
  });
}

process.exit(await main());
