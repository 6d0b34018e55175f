/**
 * output_capture — the in-process cost of capturing an agent's output: AttemptOutput splitting,
 * redacting and writing to a log file, the tail and the bus, fed from memory so that only Forge's own
 * work is timed. Cases: 100-byte lines arriving in pipe-sized chunks or one per chunk, with no
 * secrets and with 40; a line without end (cut every 64 KiB) with 40 secrets; and bytes that are
 * not UTF-8 without a newline (the hostile case). Each figure is the median MB/s over rounds.
 *
 * `node bench/output-capture.ts [--quick]` runs it alone.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { attemptLogPath, createFileLogs } from '../src/adapters/logs/file-logs.ts';
import { AttemptOutput } from '../src/core/attempt-output.ts';
import { EventBus } from '../src/core/events.ts';
import { createRedactor } from '../src/core/redactor.ts';
import type { AttemptLogs } from '../src/ports/logs.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { median, round } from './measure.ts';
import { Scope } from './scope.ts';

export interface OutputCaptureResult {
  mb_per_s_lines: number;
  mb_per_s_lines_40_secrets: number;
  mb_per_s_line_per_chunk_40_secrets: number;
  mb_per_s_endless_line_40_secrets: number;
  mb_per_s_not_utf8: number;
  mb: number;
  rounds: number;
}

const MB = 1e6;
const CHUNK = 64 * 1024;
const SECRETS = Array.from({ length: 40 }, (_, i) => `sk-${i}-${'q'.repeat(20)}${i * 7919}`);

interface Case {
  secrets: string[];
  chunks: Buffer[];
}

/** `mb` MB of 100-byte numbered lines, with one secret in every thousandth line. */
function lines(mb: number, chunkSize: number): Buffer[] {
  const all: string[] = [];
  for (let i = 0; i < (mb * MB) / 100; i++) {
    const body = i % 1000 === 0 ? `token ${SECRETS[i % 40]!}` : 'x'.repeat(60);
    all.push(`${String(i).padStart(10, '0')} ${body}`.padEnd(99, '.'));
  }
  return slices(Buffer.from(`${all.join('\n')}\n`), chunkSize);
}

function slices(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

let attempts = 0;

function rate(dir: string, logs: AttemptLogs, c: Case): number {
  const key = { job_id: 'bench', attempt: ++attempts };
  const bus = new EventBus(pino({ level: 'silent' }));
  let published = 0;
  bus.subscribe(() => void published++);
  const output = new AttemptOutput({
    log: logs.open(key),
    bus,
    jobId: 'bench',
    attempt: 1,
    redactor: createRedactor(c.secrets),
  });
  const start = performance.now();
  let bytes = 0;
  for (const chunk of c.chunks) {
    output.push(chunk);
    bytes += chunk.length;
  }
  output.close();
  const ms = performance.now() - start;
  if (published === 0) throw new Error('AttemptOutput published nothing');
  rmSync(attemptLogPath(dir, key)); // up to a few hundred MB per run otherwise
  return bytes / MB / (ms / 1000);
}

export const outputCapture: Benchmark<OutputCaptureResult> = {
  name: 'output_capture',
  fields: ['mb_per_s_lines', 'mb_per_s_lines_40_secrets', 'mb_per_s_not_utf8'],
  async run({ quick, scope, log }) {
    const mb = quick ? 8 : 32;
    const rounds = quick ? 3 : 5;
    const dir = await mkdtemp(join(tmpdir(), 'forge-bench-capture-'));
    scope.defer(() => rm(dir, { recursive: true, force: true }));
    const logs = createFileLogs(dir);
    const inChunks = lines(mb, CHUNK);
    const endless = slices(Buffer.alloc(mb * MB, 'y'), CHUNK);
    endless[endless.length >> 1] = Buffer.from(`yy${SECRETS[3]!}yy`);
    const cases: Record<string, Case> = {
      lines: { secrets: [], chunks: inChunks },
      lines_40_secrets: { secrets: SECRETS, chunks: inChunks },
      line_per_chunk_40_secrets: { secrets: SECRETS, chunks: lines(mb / 4, 100) },
      endless_line_40_secrets: { secrets: SECRETS, chunks: endless },
      not_utf8: { secrets: [], chunks: slices(Buffer.alloc(mb * MB, 0x80), CHUNK) },
    };
    // One untimed pass first, so that no case is timed while the JIT is still compiling.
    for (const c of Object.values(cases)) rate(dir, logs, c);
    const figures: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, c] of Object.entries(cases))
        (figures[name] ??= []).push(rate(dir, logs, c));
      log(`round ${r + 1}/${rounds} done`);
    }
    const mbps = (name: string) => round(median(figures[name]!));
    return {
      mb_per_s_lines: mbps('lines'),
      mb_per_s_lines_40_secrets: mbps('lines_40_secrets'),
      mb_per_s_line_per_chunk_40_secrets: mbps('line_per_chunk_40_secrets'),
      mb_per_s_endless_line_40_secrets: mbps('endless_line_40_secrets'),
      mb_per_s_not_utf8: mbps('not_utf8'),
      mb,
      rounds,
    };
  },
  rows: (r) => [
    { figure: '100-byte lines, 64 KiB chunks', value: fmt(r.mb_per_s_lines, 'MB/s') },
    { figure: '… with 40 secrets', value: fmt(r.mb_per_s_lines_40_secrets, 'MB/s') },
    {
      figure: '… one line per chunk, 40 secrets',
      value: fmt(r.mb_per_s_line_per_chunk_40_secrets, 'MB/s'),
    },
    {
      figure: 'one endless line (cut every 64 KiB), 40 secrets',
      value: fmt(r.mb_per_s_endless_line_40_secrets, 'MB/s'),
    },
    { figure: 'bytes that are not UTF-8, no newline', value: fmt(r.mb_per_s_not_utf8, 'MB/s') },
  ],
};

if (import.meta.main) {
  const scope = new Scope();
  try {
    const result = await outputCapture.run({
      quick: process.argv.includes('--quick'),
      scope,
      log: (message) => console.error(message),
    });
    for (const row of outputCapture.rows(result)) console.log(`${row.figure}: ${row.value}`);
  } finally {
    await scope.close();
  }
}
