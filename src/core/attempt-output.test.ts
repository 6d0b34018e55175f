import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptLogPath, createFileLogs } from '../adapters/logs/file-logs.ts';
import { AttemptOutput } from './attempt-output.ts';
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
    expect(events.map((e) => [e.line, e.offset])).toEqual([
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
    expect(events.map((e) => e.line)).toEqual(['token=[redacted]']);
  });

  it('redacts a secret that a long line would have cut in two', () => {
    const { output, events, log } = capture();
    // The secret starts 4 bytes before the 64 KiB cut.
    output.push(Buffer.from(`${'x'.repeat(64 * 1024 - 4)}${SECRET} done\n`));
    output.close();
    const display = events.map((e) => e.line).join('');
    expect(display).not.toContain(SECRET.slice(0, 4));
    expect(display).toContain('[redacted] done');
    expect(log().replaceAll('\n', '')).toBe(display);
  });

  it("redacts Forge's own notes, which may quote the agent's output", () => {
    const { output, events, log } = capture();
    output.note(`push failed: remote said ${SECRET}`);
    output.close();
    expect(log()).toBe('[forge] push failed: remote said [redacted]\n');
    expect(events.map((e) => e.line)).toEqual(['[forge] push failed: remote said [redacted]']);
  });

  it('writes a note of several lines as several log lines', () => {
    const { output, events, log } = capture();
    output.note('first\nsecond');
    output.close();
    expect(log()).toBe('[forge] first\n[forge] second\n');
    expect(events.map((e) => e.offset)).toEqual([14, 29]);
  });

  it('redacts every secret it is given, without a length filter of its own', () => {
    const { output, log } = capture(['pw1234']);
    output.push(Buffer.from('login pw1234\n'));
    output.close();
    expect(log()).toBe('login [redacted]\n');
  });
});
