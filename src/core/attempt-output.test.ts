import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptLogPath, createFileLogs } from '../adapters/logs/file-logs.ts';
import { AttemptOutput, MAX_LINE_BYTES } from './attempt-output.ts';
import { LineSplitter } from './line-splitter.ts';
import { EventBus, type ForgeEvent } from './events.ts';
import { createRedactor } from './redactor.ts';

const SECRET = 'ghp_0123456789abcdefABCDEF';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An AttemptOutput writing to a temp log, with what it published on the bus. */
function capture(secrets: string[] = [SECRET]) {
  const dir = mkdtempSync(join(tmpdir(), 'forge-attempt-output-'));
  dirs.push(dir);
  const bus = new EventBus(pino({ level: 'silent' }));
  const events: Extract<ForgeEvent, { type: 'attempt.output' }>[] = [];
  bus.subscribe((event) => {
    if (event.type === 'attempt.output') events.push(event);
  });
  const logs = createFileLogs(dir);
  const key = { job_id: 'job-1', attempt: 1 };
  const output = new AttemptOutput({
    log: logs.open(key),
    bus,
    jobId: 'job-1',
    attempt: 1,
    redactor: createRedactor(secrets),
  });
  return { output, events, log: () => readFileSync(attemptLogPath(dir, key), 'utf8') };
}

describe('AttemptOutput', () => {
  it('writes each line to the log, the tail and the bus with its end offset in the log', () => {
    const { output, events, log } = capture();
    output.push(Buffer.from('héllo\r\nwor'));
    output.push(Buffer.from('ld\n'));
    output.note('stopped');
    output.close();
    expect(log()).toBe('héllo\nworld\n[forge] stopped\n');
    expect(output.tail.text()).toBe(log());
    // One event per chunk that completed lines (and per note), each with the offset after it.
    expect(events.map((e) => [e.text, e.offset])).toEqual([
      ['héllo', 7],
      ['world', 13],
      ['[forge] stopped', 29],
    ]);
  });

  it('redacts secrets in the log, the tail and the live stream', () => {
    const { output, events, log } = capture();
    output.push(Buffer.from(`token=${SECRET}\n`));
    output.close();
    expect(log()).toBe('token=[redacted]\n');
    expect(output.tail.text()).toBe(log());
    expect(events.map((e) => e.text)).toEqual(['token=[redacted]']);
  });

  it('redacts a secret that a long line would have cut in two', () => {
    const { output, events, log } = capture();
    // The secret starts 4 bytes before the 64 KiB cut.
    output.push(Buffer.from(`${'x'.repeat(64 * 1024 - 4)}${SECRET} done\n`));
    output.close();
    const display = events.map((e) => e.text.replaceAll('\n', '')).join('');
    expect(display).not.toContain(SECRET.slice(0, 4));
    expect(display).toContain('[redacted] done');
    expect(log().replaceAll('\n', '')).toBe(display);
  });

  it("redacts Forge's own notes, which may quote the agent's output", () => {
    const { output, events, log } = capture();
    output.note(`push failed: remote said ${SECRET}`);
    output.close();
    expect(log()).toBe('[forge] push failed: remote said [redacted]\n');
    expect(events.map((e) => e.text)).toEqual(['[forge] push failed: remote said [redacted]']);
  });

  it('writes a note of several lines as several log lines', () => {
    const { output, events, log } = capture();
    output.note('first\nsecond');
    output.close();
    expect(log()).toBe('[forge] first\n[forge] second\n');
    expect(events.map((e) => [e.text, e.offset])).toEqual([['[forge] first\n[forge] second', 29]]);
  });

  it('redacts every secret it is given, without a length filter of its own', () => {
    const { output, log } = capture(['pw1234']);
    output.push(Buffer.from('login pw1234\n'));
    output.close();
    expect(log()).toBe('login [redacted]\n');
  });

  it('writes, chunk by chunk, the same bytes as redacting and writing line by line', () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      fc.constantFrom('\n', '\r\n', '\r', SECRET, 'ghp_', 'é', 'line\n').map((t) => Buffer.from(t)),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (pieces, sizes, multiline) => {
          const secrets = multiline ? [SECRET, 'two\nlines'] : [SECRET];
          const input = Buffer.concat(pieces);
          const { output, log } = capture(secrets);
          for (let at = 0, i = 0; at < input.length; i++) {
            const size = sizes[i % sizes.length]!;
            output.push(input.subarray(at, at + size));
            at += size;
          }
          output.close();
          // The line-by-line path: every line split from the whole stream, redacted alone.
          const redactor = createRedactor(secrets);
          const splitter = new LineSplitter(MAX_LINE_BYTES, redactor);
          const lines = [...splitter.push(input), ...splitter.end()];
          const expected = lines.map((line) => `${redactor.redact(line)}\n`).join('');
          expect(log()).toBe(expected);
          expect(output.tail.text()).toBe(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});
